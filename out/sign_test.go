package out

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// sshKeygen is the path of OpenSSH's ssh-keygen, or the test is skipped: the site's
// only tool is what these tests check kits against.
func sshKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (apt-get install openssh-client): signatures cannot be checked against OpenSSH")
	}
	return p
}

// testKey is a key pair written as OpenSSH writes it: KEY (private) and KEY.pub.
type testKey struct {
	path string // the private key file; path+".pub" is the public one
	priv []byte // the private key file's bytes
	pub  ssh.PublicKey
}

// newTestKey generates a key of the given type ("ed25519", "ecdsa", "ecdsa384",
// "rsa") into dir, with a passphrase unless it is empty.
func newTestKey(t *testing.T, dir, name, typ, passphrase string) testKey {
	t.Helper()
	var k crypto.Signer
	var err error
	switch typ {
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	default:
		t.Fatalf("key type %s", typ)
	}
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k, name)
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k, name, []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	key := testKey{path: filepath.Join(dir, name), priv: pem.EncodeToMemory(block), pub: pub}
	if err := os.WriteFile(key.path, key.priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key.path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return key
}

// allowedLine is an allowed signers line for the key.
func (k testKey) allowedLine(principals, options string) string {
	line := principals + " "
	if options != "" {
		line += options + " "
	}
	return line + string(ssh.MarshalAuthorizedKey(k.pub))
}

func writeAllowed(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadKey(t *testing.T, path, agentSocket string) *SigningKey {
	t.Helper()
	k, err := LoadSigningKey(path, agentSocket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// signedKit packages the demo kit signed with key.
func signedKit(t *testing.T, key *SigningKey) *Result {
	t.Helper()
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
	res, err := Package(kit, t.TempDir(), PackageOptions{IncludeBackup: true, SignWith: key})
	if err != nil {
		t.Fatal(err)
	}
	if res.Signature == nil {
		t.Fatal("Package signed nothing")
	}
	return res
}

// sshKeygenVerify runs the site's check in the kit directory dir.
func sshKeygenVerify(t *testing.T, dir, allowed, identity, sig string) (string, int) {
	t.Helper()
	cmd := exec.Command(sshKeygen(t), "-Y", "verify", "-f", allowed, "-I", identity, "-n", SigNamespace, "-s", sig)
	cmd.Dir = dir
	sums, err := os.Open(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	cmd.Stdin = sums
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestSignedKitVerifiesWithSSHKeygen: a kit signed in Go passes ssh-keygen -Y verify
// and sha256sum -c, for every key type, with the signature in the kit and beside it.
func TestSignedKitVerifiesWithSSHKeygen(t *testing.T) {
	sshKeygen(t)
	for _, typ := range []string{"ed25519", "ecdsa", "ecdsa384", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			key := newTestKey(t, t.TempDir(), "id_"+typ, typ, "")
			res := signedKit(t, loadKey(t, key.path, ""))
			allowed := writeAllowed(t, key.allowedLine("ops@example.com,alice@example.com", ""))
			for _, sig := range []string{SigFile, res.Signature.Path} {
				out, code := sshKeygenVerify(t, res.Dir, allowed, "alice@example.com", sig)
				want := fmt.Sprintf("Good %q signature for alice@example.com with %s", SigNamespace, KeyID(key.pub))
				if code != 0 || !strings.Contains(out, want) {
					t.Errorf("ssh-keygen -Y verify -s %s: exit %d, want 0 and %q:\n%s", sig, code, want, out)
				}
			}
			if out, code := runCmd(t, res.Dir, nil, "sha256sum", "-c", "--quiet", SumsFile); code != 0 {
				t.Errorf("sha256sum -c: %s", out)
			}
			inside, _ := os.ReadFile(filepath.Join(res.Dir, SigFile))
			beside, _ := os.ReadFile(res.Signature.Path)
			if !bytes.Equal(inside, beside) || !bytes.HasPrefix(inside, []byte("-----BEGIN SSH SIGNATURE-----\n")) {
				t.Errorf("the signature in the kit and beside the archives differ or are not armored SSHSIG:\n%s\n%s", inside, beside)
			}
		})
	}
}

// TestSSHKeygenSignatureVerifiesInGo: ssh-keygen -Y sign's signature of a kit's
// SHA256SUMS is accepted by verify, which names the principal and the fingerprint.
func TestSSHKeygenSignatureVerifiesInGo(t *testing.T) {
	keygen := sshKeygen(t)
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			key := newTestKey(t, t.TempDir(), "id_"+typ, typ, "")
			kit := demoKit()
			res, err := Package(kit, t.TempDir(), PackageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if out, code := runCmd(t, res.Dir, nil, keygen, "-Y", "sign", "-f", key.path, "-n", SigNamespace, SumsFile); code != 0 {
				t.Fatalf("ssh-keygen -Y sign: %s", out)
			}
			as, err := ReadAllowedSigners(writeAllowed(t, key.allowedLine("ops@example.com", `namespaces="restorekit"`)))
			if err != nil {
				t.Fatal(err)
			}
			o, err := OpenKit(res.Dir)
			if err != nil {
				t.Fatal(err)
			}
			by, shown, err := o.CheckSignature("", as, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if shown != filepath.Join(res.Dir, SigFile) {
				t.Errorf("signature used: %s", shown)
			}
			if strings.Join(by.Principals, ",") != "ops@example.com" || by.Fingerprint != ssh.FingerprintSHA256(key.pub) || by.Key != KeyID(key.pub) {
				t.Errorf("signed by %+v, want ops@example.com with %s", by, KeyID(key.pub))
			}
		})
	}
}

// TestSignatureFailures: each way a signature can be wrong is named, and ssh-keygen
// refuses the same signature.
func TestSignatureFailures(t *testing.T) {
	dir := t.TempDir()
	key := newTestKey(t, dir, "signer", "ed25519", "")
	other := newTestKey(t, dir, "other", "ed25519", "")
	signer := loadKey(t, key.path, "")
	sums := []byte(strings.Repeat("0", 64) + "  recover.sh\n")
	good, err := SignSums(sums, signer)
	if err != nil {
		t.Fatal(err)
	}
	signedFor := func(ns string) []byte {
		s, err := sshsig.Sign(bytes.NewReader(sums), signer.signer, sshsig.HashSHA512, ns)
		if err != nil {
			t.Fatal(err)
		}
		return sshsig.Armor(s)
	}
	ok := key.allowedLine("ops@example.com", "")
	future := time.Now().Add(48*time.Hour).UTC().Format("20060102") + "Z"
	for _, tc := range []struct {
		name    string
		sums    []byte
		sig     []byte
		allowed []string
		kind    string
		detail  string
	}{
		{name: "changed SHA256SUMS", sums: []byte(strings.Repeat("1", 64) + "  recover.sh\n"), sig: good, allowed: []string{ok},
			kind: SigBad, detail: "it does not match SHA256SUMS"},
		{name: "signature from another SHA256SUMS", sums: sums, sig: func() []byte {
			s, _ := SignSums([]byte("other\n"), signer)
			return s
		}(), allowed: []string{ok}, kind: SigBad, detail: "the kit's SHA256SUMS or its signature was changed"},
		{name: "git signature", sums: sums, sig: signedFor("git"), allowed: []string{ok},
			kind: SigWrongNamespace, detail: `made for namespace "git"; a kit's signature is for "restorekit"`},
		{name: "unknown signer", sums: sums, sig: good, allowed: []string{other.allowedLine("ops@example.com", "")},
			kind: SigUnknownSigner, detail: "made with " + KeyID(key.pub) + ", which"},
		{name: "key allowed for git only", sums: sums, sig: good, allowed: []string{key.allowedLine("ops@example.com", `namespaces="git,file*"`)},
			kind: SigNotAllowed, detail: `line 1 allows it only for namespaces "git,file*"`},
		{name: "key not valid yet", sums: sums, sig: good, allowed: []string{key.allowedLine("ops@example.com", `valid-after="`+future+`"`)},
			kind: SigNotAllowed, detail: "line 1 allows it only from"},
		{name: "key expired", sums: sums, sig: good, allowed: []string{key.allowedLine("ops@example.com", `valid-before="20200101"`)},
			kind: SigNotAllowed, detail: "line 1 allowed it only until"},
		{name: "key is a CA only", sums: sums, sig: good, allowed: []string{key.allowedLine("*@example.com", "cert-authority")},
			kind: SigUnknownSigner, detail: "does not list"},
		{name: "not a signature", sums: sums, sig: []byte("hello\n"), allowed: []string{ok}, kind: SigUnreadable, detail: "not an SSH signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allowedPath := writeAllowed(t, tc.allowed...)
			as, err := ReadAllowedSigners(allowedPath)
			if err != nil {
				t.Fatal(err)
			}
			_, err = VerifySignature(tc.sums, tc.sig, as, time.Now())
			se, isSigErr := err.(*SignatureError)
			if !isSigErr || se.Kind != tc.kind || !strings.Contains(se.Detail, tc.detail) {
				t.Fatalf("VerifySignature: %v; want %s: ...%s...", err, tc.kind, tc.detail)
			}
			if !strings.HasPrefix(err.Error(), tc.kind+": ") {
				t.Errorf("message %q does not start with its kind", err)
			}
			// OpenSSH agrees.
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, SumsFile), tc.sums, 0o644)
			os.WriteFile(filepath.Join(dir, SigFile), tc.sig, 0o644)
			if out, code := sshKeygenVerify(t, dir, allowedPath, "ops@example.com", SigFile); code == 0 {
				t.Errorf("ssh-keygen -Y verify accepts what restorekit refuses:\n%s", out)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		as, err := ParseAllowedSigners("allowed_signers", []byte(ok))
		if err != nil {
			t.Fatal(err)
		}
		by, err := VerifySignature(sums, good, as, time.Now())
		if err != nil || by.Principals[0] != "ops@example.com" {
			t.Fatalf("VerifySignature = %+v, %v", by, err)
		}
		// Without allowed signers the signature is still checked, its signer not.
		if by, err := VerifySignature(sums, good, nil, time.Now()); err != nil || by.Principals != nil || by.Fingerprint != ssh.FingerprintSHA256(key.pub) {
			t.Errorf("VerifySignature without allowed signers = %+v, %v", by, err)
		}
	})
}

// TestUnsignedKit: a kit without a signature says so, naming where it looked.
func TestUnsignedKit(t *testing.T) {
	res, err := Package(demoKit(), t.TempDir(), PackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Signature != nil {
		t.Error("an unsigned build reports a signature")
	}
	for _, p := range []string{res.Dir, res.TarGz.Path, res.Run.Path} {
		o, err := OpenKit(p)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = o.CheckSignature("", nil, time.Now())
		o.Close()
		se, ok := err.(*SignatureError)
		beside := filepath.Join(filepath.Dir(res.Dir), "demo-recovery-kit.SHA256SUMS.sig")
		if !ok || se.Kind != SigUnsigned || !strings.Contains(se.Detail, beside) || !strings.Contains(se.Detail, "nothing shows who built this kit") {
			t.Errorf("%s: %v; want %q naming %s", p, err, SigUnsigned, beside)
		}
	}
}

// TestSigningKeepsArchives: signing adds the signature and changes no other byte: the
// archives are the unsigned build's, and neither holds the signature or the key.
func TestSigningKeepsArchives(t *testing.T) {
	key := newTestKey(t, t.TempDir(), "id_ed25519", "ed25519", "")
	signed := signedKit(t, loadKey(t, key.path, ""))
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
	plain, err := Package(kit, t.TempDir(), PackageOptions{IncludeBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	if signed.TarGz.SHA256 != plain.TarGz.SHA256 || fileSHA256(t, signed.TarGz.Path) != fileSHA256(t, plain.TarGz.Path) {
		t.Errorf(".tar.gz: signed %s, unsigned %s", signed.TarGz.SHA256, plain.TarGz.SHA256)
	}
	if signed.Run.SHA256 != plain.Run.SHA256 || fileSHA256(t, signed.Run.Path) != fileSHA256(t, plain.Run.Path) {
		t.Errorf(".run: signed %s, unsigned %s", signed.Run.SHA256, plain.Run.SHA256)
	}
	want := tree(t, plain.Dir) + "\n" + SigFile + " -rw-r--r--"
	if got := tree(t, signed.Dir); sortedLines(got) != sortedLines(want) {
		t.Errorf("signed kit directory:\n%s\nwant the unsigned one plus %s:\n%s", got, SigFile, want)
	}
	if signed.Files != plain.Files+1 {
		t.Errorf("files: signed %d, unsigned %d", signed.Files, plain.Files)
	}
	tgz, err := os.ReadFile(signed.TarGz.Path)
	if err != nil {
		t.Fatal(err)
	}
	if members := describeArchive(t, tgz); strings.Contains(members, SigFile) {
		t.Errorf("the archive holds the signature:\n%s", members)
	}
	// The key is nowhere in what was written.
	parent := filepath.Dir(signed.Dir)
	filepath.Walk(parent, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, key.priv[40:100]) {
				t.Errorf("%s holds private key material", p)
			}
		}
		return nil
	})
	if got := entries(t, parent); strings.Join(got, " ") != "demo-recovery-kit demo-recovery-kit.SHA256SUMS.sig demo-recovery-kit.run demo-recovery-kit.tar.gz" {
		t.Errorf("output directory holds %v", got)
	}
	// Verifying the directory: the signature is neither unlisted nor extra.
	if _, bad, err := VerifySums(signed.Dir); err != nil || len(bad) != 0 {
		t.Errorf("VerifySums of the signed kit: %v %v", bad, err)
	}
	if bad, err := Compare(kit, signed.Dir, nil); err != nil || len(bad) != 0 {
		t.Errorf("Compare of the signed kit: %v %v", bad, err)
	}
}

// TestSignatureTargets: an old signature beside the archives is a target like them.
func TestSignatureTargets(t *testing.T) {
	key := newTestKey(t, t.TempDir(), "id_ed25519", "ed25519", "")
	res := signedKit(t, loadKey(t, key.path, ""))
	parent := filepath.Dir(res.Dir)
	os.RemoveAll(res.Dir)
	os.Remove(res.TarGz.Path)
	os.Remove(res.Run.Path)
	_, err := Package(demoKit(), parent, PackageOptions{})
	if _, ok := err.(*ExistsError); !ok || !strings.Contains(err.Error(), "demo-recovery-kit.SHA256SUMS.sig: already exists") {
		t.Fatalf("unsigned build beside an old signature: %v", err)
	}
	// With --force, an unsigned build drops the signature of the kit it replaces.
	if _, err := Package(demoKit(), parent, PackageOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(res.Signature.Path); err == nil {
		t.Error("the replaced kit's signature is still beside the new archives")
	}
}

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	locked := newTestKey(t, dir, "locked", "ed25519", "correct horse")
	weak := newTestKey(t, dir, "weak", "rsa1024", "")
	os.WriteFile(filepath.Join(dir, "garbage"), []byte("not a key\n"), 0o600)
	for _, tc := range []struct {
		name, path, socket string
		want               []string
	}{
		{"passphrase without an agent", locked.path, "",
			[]string{locked.path + ": the key is protected by a passphrase and restorekit does not ask for passphrases", "ssh-add " + locked.path, "SSH_AUTH_SOCK"}},
		{"public key without an agent", locked.path + ".pub", "",
			[]string{locked.path + ".pub: a public key: its private half must be in ssh-agent, but SSH_AUTH_SOCK is not set"}},
		{"agent that does not answer", locked.path + ".pub", filepath.Join(dir, "no-agent.sock"),
			[]string{"SSH_AUTH_SOCK=" + filepath.Join(dir, "no-agent.sock") + " does not answer"}},
		{"not a key", filepath.Join(dir, "garbage"), "",
			[]string{"garbage: not an SSH private key restorekit can read (no key found)"}},
		{"short RSA key", weak.path, "", []string{"an RSA key of 1024 bits; sign with at least 2048 bits"}},
		{"missing file", filepath.Join(dir, "nope"), "", []string{"nope: no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadSigningKey(tc.path, tc.socket)
			if err == nil {
				k.Close()
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(locked.priv[40:80])) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestParseAllowedSigners(t *testing.T) {
	key := newTestKey(t, t.TempDir(), "k", "ed25519", "")
	b64 := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.pub)))
	file := strings.Join([]string{
		"# the operations team",
		"",
		"alice@example.com,ops@example.com " + b64 + " alice's laptop",
		`"bob@example.com,*@ops.example.com" namespaces="restorekit,file",valid-after="20240101Z",VALID-BEFORE="203001021504" ` + b64,
		"*@example.com cert-authority " + b64,
	}, "\n") + "\n"
	as, err := ParseAllowedSigners("allowed_signers", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(as.Entries) != 3 {
		t.Fatalf("%d entries, want 3", len(as.Entries))
	}
	e := as.Entries[1]
	if e.Line != 4 || strings.Join(e.Principals, " ") != "bob@example.com *@ops.example.com" || strings.Join(e.Namespaces, " ") != "restorekit file" ||
		!e.ValidAfter.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) || !e.ValidBefore.Equal(time.Date(2030, 1, 2, 15, 4, 0, 0, time.Local)) || e.CertAuthority {
		t.Errorf("line 4 parsed as %+v", e)
	}
	if a := as.Entries[0]; a.Line != 3 || strings.Join(a.Principals, " ") != "alice@example.com ops@example.com" || a.Namespaces != nil || ssh.FingerprintSHA256(a.Key) != ssh.FingerprintSHA256(key.pub) {
		t.Errorf("line 3 parsed as %+v", a)
	}
	if !as.Entries[2].CertAuthority {
		t.Error("cert-authority not read")
	}

	for _, tc := range []struct{ line, want string }{
		{"alice@example.com", "allowed_signers:2: only one field"},
		{"alice@example.com ssh-ed25519 AAAA-not-base64", "allowed_signers:2: no public key after the principals"},
		{`"alice@example.com ` + b64, "allowed_signers:2: the quoted principals field has no closing quote"},
		{"alice@example.com,,bob@example.com " + b64, `allowed_signers:2: principals "alice@example.com,,bob@example.com": an empty principal`},
		{`alice@example.com permit-pty ` + b64, "allowed_signers:2: option permit-pty: not one ssh-keygen accepts"},
		{`alice@example.com valid-before="tomorrow" ` + b64, `allowed_signers:2: option valid-before="tomorrow": time "tomorrow": want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]`},
		{`alice@example.com namespaces=restorekit ` + b64, "allowed_signers:2: option namespaces=restorekit: the value must be in double quotes"},
	} {
		_, err := ParseAllowedSigners("allowed_signers", []byte("# comment\n"+tc.line+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n  error %v\n  want  %s", tc.line, err, tc.want)
		}
	}
}

func TestMatchPatternList(t *testing.T) {
	for _, tc := range []struct {
		s, list string
		want    bool
	}{
		{"restorekit", "restorekit", true},
		{"restorekit", "git,restorekit", true},
		{"restorekit", "restore*", true},
		{"restorekit", "restor?kit", true},
		{"restorekit", "git,file", false},
		{"restorekit", "*,!restorekit", false},
		{"restorekit", "!git", false},
		{"restorekit", "restore", false},
	} {
		if got := matchPatternList(tc.s, strings.Split(tc.list, ",")); got != tc.want {
			t.Errorf("matchPatternList(%q, %q) = %v", tc.s, tc.list, got)
		}
	}
}

// startAgent runs a fresh ssh-agent for the test and returns its socket.
func startAgent(t *testing.T) string {
	t.Helper()
	agentBin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Skip("ssh-agent not installed (apt-get install openssh-client)")
	}
	if _, err := exec.LookPath("ssh-add"); err != nil {
		t.Skip("ssh-add not installed")
	}
	// A short directory: a unix socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "rk-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command(agentBin, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("ssh-agent did not create its socket")
	return ""
}

// TestAgentSigning signs through ssh-agent: with the public key, and with a
// passphrase-protected private key whose private half the agent holds.
func TestAgentSigning(t *testing.T) {
	sshKeygen(t)
	sock := startAgent(t)
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			key := newTestKey(t, dir, "id_"+typ, typ, "")
			if out, code := runCmd(t, dir, append(os.Environ(), "SSH_AUTH_SOCK="+sock), "ssh-add", key.path); code != 0 {
				t.Fatalf("ssh-add: %s", out)
			}
			// The file gets a passphrase now; the agent keeps the key it was given.
			if out, code := runCmd(t, dir, nil, sshKeygen(t), "-p", "-P", "", "-N", "secret words", "-f", key.path); code != 0 {
				t.Fatalf("ssh-keygen -p: %s", out)
			}
			allowed := writeAllowed(t, key.allowedLine("ops@example.com", ""))
			for _, path := range []string{key.path + ".pub", key.path} {
				k := loadKey(t, path, sock)
				if k.Source != "ssh-agent (for "+path+")" {
					t.Errorf("%s: signs with %s, want the agent", path, k.Source)
				}
				res := signedKit(t, k)
				if out, code := sshKeygenVerify(t, res.Dir, allowed, "ops@example.com", SigFile); code != 0 {
					t.Errorf("%s: ssh-keygen -Y verify: %s", path, out)
				}
			}
			if _, err := LoadSigningKey(key.path, ""); err == nil || !strings.Contains(err.Error(), "protected by a passphrase") {
				t.Errorf("the protected key without the agent: %v", err)
			}
		})
	}
	t.Run("key the agent does not hold", func(t *testing.T) {
		key := newTestKey(t, t.TempDir(), "stranger", "ed25519", "")
		_, err := LoadSigningKey(key.path+".pub", sock)
		if err == nil || !strings.Contains(err.Error(), "does not hold this key ("+KeyID(key.pub)+"); add it with ssh-add") {
			t.Errorf("error %v", err)
		}
	})
}
