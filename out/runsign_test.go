package out

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hiddeco/sshsig"
)

// signedSite is a site that received a signed kit's .run and its signature, and keeps
// its allowed signers file elsewhere.
type signedSite struct {
	dir, run, sig string
	res           *Result
	key           testKey
	signer        *SigningKey
}

func newSignedSite(t *testing.T) signedSite {
	t.Helper()
	key := newTestKey(t, t.TempDir(), "id_ed25519", "ed25519", "")
	signer := loadKey(t, key.path, "")
	res := signedKit(t, signer)
	s := signedSite{dir: t.TempDir(), res: res, key: key, signer: signer}
	s.run = filepath.Join(s.dir, "demo-recovery-kit.run")
	s.sig = filepath.Join(s.dir, "demo-recovery-kit.SHA256SUMS.sig")
	copyFile(t, res.Run.Path, s.run, 0o755)
	copyFile(t, res.Signature.Path, s.sig, 0o644)
	return s
}

// runAsSite runs "bash ./demo-recovery-kit.run ARGS" in the site's directory with
// PATH=bin.
func (s signedSite) runAsSite(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	env := []string{"PATH=" + bin, "TMPDIR=" + t.TempDir(), "LC_ALL=C"}
	return runCmd(t, s.dir, env, filepath.Join(bin, "bash"), append([]string{"./demo-recovery-kit.run"}, args...)...)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// writeSig replaces the site's signature with a signature of data for namespace ns.
func (s signedSite) writeSig(t *testing.T, data []byte, ns string) {
	t.Helper()
	sig, err := sshsig.Sign(bytes.NewReader(data), s.signer.signer, sshsig.HashSHA512, ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.sig, sshsig.Armor(sig), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tamper replaces the site's .run with one whose payload is the kit with recover.sh
// changed but SHA256SUMS (and so the signature) kept, under a header that matches the
// new payload: only the check of the files against SHA256SUMS can catch it.
func (s signedSite) tamper(t *testing.T) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo-recovery-kit")
	if out, code := runCmd(t, ".", nil, "cp", "-r", s.res.Dir, dir); code != 0 {
		t.Fatal(out)
	}
	os.Remove(filepath.Join(dir, SigFile))
	if err := os.WriteFile(filepath.Join(dir, "recover.sh"), []byte("#!/usr/bin/env bash\necho something else\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "tampered.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	hf := newHashingFile(f)
	if err := writeTarGz(hf, dir, "demo-recovery-kit", DefaultEpoch); err != nil {
		t.Fatal(err)
	}
	tgz, err := hf.finish(modeFile)
	if err != nil {
		t.Fatal(err)
	}
	run, err := writeRun(s.run, "demo-recovery-kit", tgz)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(run.Path, s.run); err != nil {
		t.Fatal(err)
	}
}

// TestRunFileSigned: bash KIT.run --verify/--extract --allowed-signers checks the
// signature with ssh-keygen before trusting any file, and names each failure.
func TestRunFileSigned(t *testing.T) {
	sshKeygen(t)
	other := newTestKey(t, t.TempDir(), "other", "ed25519", "")
	type setup func(t *testing.T, s signedSite) (allowed string)
	allowedFor := func(options string) setup {
		return func(t *testing.T, s signedSite) string {
			return writeAllowed(t, s.key.allowedLine("ops@example.com,alice@example.com", options))
		}
	}
	good := allowedFor("")
	cases := []struct {
		name    string
		args    []string // after the action; ALLOWED is replaced by the allowed signers file
		setup   setup
		prepare func(t *testing.T, s signedSite)
		noSSH   bool
		code    int
		want    []string
		lacks   []string
	}{
		{name: "verify", args: []string{"--verify", "--allowed-signers", "ALLOWED"}, setup: good, code: 0,
			want: []string{"payload ok:", "signature ok: signed by ops@example.com with ED25519 key SHA256:", "files ok: 11 files match SHA256SUMS", "verified: demo-recovery-kit"}},
		{name: "verify with the signature elsewhere", args: []string{"--verify", "--allowed-signers", "ALLOWED", "--signature", "elsewhere.sig"}, setup: good,
			prepare: func(t *testing.T, s signedSite) { os.Rename(s.sig, filepath.Join(s.dir, "elsewhere.sig")) },
			code:    0, want: []string{"signature ok: signed by ops@example.com"}},
		{name: "verify without allowed signers", args: []string{"--verify"}, code: 0,
			want: []string{"signature: not checked: add --allowed-signers FILE to check who signed this kit", "verified: demo-recovery-kit"}, lacks: []string{"signature ok"}},
		{name: "unsigned, without allowed signers", args: []string{"--verify"}, code: 0,
			prepare: func(t *testing.T, s signedSite) { os.Remove(s.sig) },
			want:    []string{"signature: none: this kit is not signed (no demo-recovery-kit.SHA256SUMS.sig beside this file)", "verified: demo-recovery-kit"}},
		{name: "unsigned", args: []string{"--extract", "--allowed-signers", "ALLOWED"}, setup: good, code: 1,
			prepare: func(t *testing.T, s signedSite) { os.Remove(s.sig) },
			want:    []string{"error: not signed: ./demo-recovery-kit.SHA256SUMS.sig does not exist: nothing shows who built this kit", "nothing was extracted"}},
		{name: "bad signature", args: []string{"--extract", "--allowed-signers", "ALLOWED"}, setup: good, code: 1,
			prepare: func(t *testing.T, s signedSite) { s.writeSig(t, []byte("another SHA256SUMS\n"), SigNamespace) },
			want:    []string{"error: bad signature: ./demo-recovery-kit.SHA256SUMS.sig does not match the kit's SHA256SUMS: the kit or its signature was changed"}},
		{name: "wrong namespace", args: []string{"--verify", "--allowed-signers", "ALLOWED"}, setup: good, code: 1,
			prepare: func(t *testing.T, s signedSite) {
				sums, _ := os.ReadFile(filepath.Join(s.res.Dir, SumsFile))
				s.writeSig(t, sums, "git")
			},
			want: []string{"error: wrong namespace: ./demo-recovery-kit.SHA256SUMS.sig is an SSH signature for another purpose, not a restorekit kit's"}},
		{name: "unknown signer", args: []string{"--extract", "--allowed-signers", "ALLOWED"}, code: 1,
			setup: func(t *testing.T, s signedSite) string {
				return writeAllowed(t, other.allowedLine("ops@example.com", ""))
			},
			want: []string{"error: unknown signer: the kit was signed with ED25519 key SHA256:", "does not list; nothing was extracted"}},
		{name: "signer not allowed for restorekit", args: []string{"--extract", "--allowed-signers", "ALLOWED"}, setup: allowedFor(`namespaces="git"`), code: 1,
			want: []string{"error: signer not allowed: ", "lists ED25519 key SHA256:", "but not for restorekit signatures now", `not permitted for use in signature namespace "restorekit"`}},
		{name: "changed file", args: []string{"--extract", "--allowed-signers", "ALLOWED"}, setup: good, code: 1,
			prepare: func(t *testing.T, s signedSite) { s.tamper(t) },
			want:    []string{"payload ok:", "signature ok: signed by ops@example.com", "recover.sh: FAILED", "files do not match SHA256SUMS (listed above): the kit is damaged"}},
		{name: "no ssh-keygen", args: []string{"--verify", "--allowed-signers", "ALLOWED"}, setup: good, noSSH: true, code: 3,
			want: []string{"ssh-keygen not found on PATH (--allowed-signers needs OpenSSH's ssh-keygen"}},
		{name: "missing allowed signers file", args: []string{"--verify", "--allowed-signers", "no-such-file"}, code: 2,
			want: []string{"--allowed-signers no-such-file: no such readable file"}},
		{name: "signature without allowed signers", args: []string{"--verify", "--signature", "x.sig"}, code: 2,
			want: []string{"--signature needs --allowed-signers FILE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSignedSite(t)
			if tc.prepare != nil {
				tc.prepare(t, s)
			}
			before := entries(t, s.dir)
			allowed := ""
			if tc.setup != nil {
				allowed = tc.setup(t, s)
			}
			args := append([]string(nil), tc.args...)
			for i := range args {
				if args[i] == "ALLOWED" {
					args[i] = allowed
				}
			}
			bin := minimalPath(t, "ssh-keygen", "cp")
			if tc.noSSH {
				bin = minimalPath(t, "cp")
			}
			out, code := s.runAsSite(t, bin, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, l := range tc.lacks {
				if strings.Contains(out, l) {
					t.Errorf("output has %q:\n%s", l, out)
				}
			}
			if code != 0 {
				if got := entries(t, s.dir); strings.Join(got, " ") != strings.Join(before, " ") {
					t.Errorf("site holds %v after a failure, want %v (nothing extracted)", got, before)
				}
			}
		})
	}

	t.Run("extract puts the checked signature into the kit", func(t *testing.T) {
		s := newSignedSite(t)
		allowed := good(t, s)
		out, code := s.runAsSite(t, minimalPath(t, "ssh-keygen", "cp"), "--extract", "kit", "--allowed-signers", allowed)
		if code != 0 || !strings.Contains(out, "signature ok: signed by ops@example.com") || !strings.Contains(out, "extracted: kit") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		dir := filepath.Join(s.dir, "kit")
		if got, want := tree(t, dir), tree(t, s.res.Dir); got != want {
			t.Errorf("extracted tree:\n%s\nwant the built kit's:\n%s", got, want)
		}
		// The site's two commands, by hand, in the extracted kit.
		if out, code := sshKeygenVerify(t, dir, allowed, "alice@example.com", SigFile); code != 0 {
			t.Errorf("ssh-keygen -Y verify in the extracted kit: %s", out)
		}
		if out, code := runCmd(t, dir, nil, "sha256sum", "-c", "--quiet", SumsFile); code != 0 {
			t.Errorf("sha256sum -c: %s", out)
		}
	})
}
