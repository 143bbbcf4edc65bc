package out

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/render"
)

// minimalPath is a PATH holding only bash, the coreutils the .run file may use, tar and
// gzip: the tools a site is promised to have; and the extra tools named.
func minimalPath(t *testing.T, extra ...string) string {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range append([]string{"bash", "tail", "wc", "sha256sum", "mktemp", "mv", "rm", "dirname", "tar", "gzip"}, extra...) {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// runFixture packages the demo kit (with a backup pair) and moves the .run alone into
// a fresh directory, as a site receives it.
func runFixture(t *testing.T) (runFile string, res *Result) {
	t.Helper()
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
	res, err := Package(kit, t.TempDir(), PackageOptions{IncludeBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	site := t.TempDir()
	runFile = filepath.Join(site, "demo-recovery-kit.run")
	data, err := os.ReadFile(res.Run.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(runFile, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return runFile, res
}

func runSelf(t *testing.T, runFile string, args ...string) (string, int) {
	t.Helper()
	bin := minimalPath(t)
	env := []string{"PATH=" + bin, "TMPDIR=" + t.TempDir(), "LC_ALL=C"}
	return runCmd(t, filepath.Dir(runFile), env, filepath.Join(bin, "bash"), append([]string{runFile}, args...)...)
}

func TestRunFile(t *testing.T) {
	type check func(t *testing.T, site, out string, res *Result)
	extracted := func(rel string) check {
		return func(t *testing.T, site, out string, res *Result) {
			t.Helper()
			dir := filepath.Join(site, rel)
			if got, want := tree(t, dir), tree(t, res.Dir); got != want {
				t.Errorf("extracted tree:\n%s\nwant:\n%s", got, want)
			}
			if o, code := runCmd(t, dir, nil, "sha256sum", "-c", "--quiet", SumsFile); code != 0 {
				t.Errorf("sha256sum -c in the extracted kit: %s", o)
			}
		}
	}
	onlyRun := func(t *testing.T, site, out string, res *Result) {
		t.Helper()
		if got := entries(t, site); len(got) != 1 {
			t.Errorf("site holds %v, want only the .run (nothing extracted, nothing left)", got)
		}
	}
	cases := []struct {
		name    string
		args    []string
		prepare func(t *testing.T, runFile string)
		code    int
		want    []string
		check   check
	}{
		{name: "help", args: []string{"--help"}, code: 0,
			want: []string{"Usage: bash ./demo-recovery-kit.run --list | --verify [SIGNED] | --extract [DIR] [SIGNED] | --help", "Exit codes: 0 done"}, check: onlyRun},
		{name: "no arguments", code: 2, want: []string{"Usage:", "say what to do"}, check: onlyRun},
		{name: "unknown option", args: []string{"--frobnicate"}, code: 2, want: []string{"unknown option --frobnicate"}, check: onlyRun},
		{name: "list", args: []string{"--list"}, code: 0,
			want:  []string{"payload ok:", "demo-recovery-kit/\n", "demo-recovery-kit/SHA256SUMS\n", "demo-recovery-kit/backup/snapshot_x.db\n", "demo-recovery-kit/hosts/m1.demo.example/restore.sh\n"},
			check: onlyRun},
		{name: "verify", args: []string{"--verify"}, code: 0,
			want: []string{"payload ok:", "files ok: 11 files match SHA256SUMS", "verified: demo-recovery-kit"}, check: onlyRun},
		{name: "extract beside the file", args: []string{"--extract"}, code: 0,
			want: []string{"payload ok:", "files ok: 11", "extracted: "}, check: extracted("demo-recovery-kit")},
		{name: "extract into DIR", args: []string{"--extract", "elsewhere/kit"}, code: 0,
			prepare: func(t *testing.T, runFile string) { os.Mkdir(filepath.Join(filepath.Dir(runFile), "elsewhere"), 0o755) },
			want:    []string{"extracted: elsewhere/kit"}, check: extracted("elsewhere/kit")},
		{name: "extract refuses an existing directory", args: []string{"--extract", "taken"}, code: 2,
			prepare: func(t *testing.T, runFile string) { os.Mkdir(filepath.Join(filepath.Dir(runFile), "taken"), 0o755) },
			want:    []string{"taken already exists: nothing was extracted"},
			check: func(t *testing.T, site, out string, res *Result) {
				if got := entries(t, filepath.Join(site, "taken")); len(got) != 0 {
					t.Errorf("existing directory now holds %v", got)
				}
				if got := entries(t, site); len(got) != 2 {
					t.Errorf("site holds %v", got)
				}
			}},
		{name: "extract refuses an existing default directory", args: []string{"--extract"}, code: 2,
			prepare: func(t *testing.T, runFile string) {
				os.WriteFile(filepath.Join(filepath.Dir(runFile), "demo-recovery-kit"), nil, 0o644)
			},
			want: []string{"demo-recovery-kit already exists"}},
		{name: "extract into a missing parent", args: []string{"--extract", "no/such/dir"}, code: 2, want: []string{"no/such: no such directory"}, check: onlyRun},
		{name: "corrupted payload", args: []string{"--extract"}, code: 1,
			prepare: func(t *testing.T, runFile string) { flipByte(t, runFile, -100) },
			want:    []string{"payload sha256 is", "this file is damaged", "nothing was extracted"}, check: onlyRun},
		{name: "corrupted payload, verify", args: []string{"--verify"}, code: 1,
			prepare: func(t *testing.T, runFile string) { flipByte(t, runFile, -100) },
			want:    []string{"this file is damaged"}, check: onlyRun},
		{name: "corrupted payload, list", args: []string{"--list"}, code: 1,
			prepare: func(t *testing.T, runFile string) { flipByte(t, runFile, -1) },
			want:    []string{"this file is damaged"}, check: onlyRun},
		{name: "truncated", args: []string{"--extract"}, code: 1,
			prepare: func(t *testing.T, runFile string) {
				fi, _ := os.Stat(runFile)
				os.Truncate(runFile, fi.Size()-10)
			},
			want: []string{"it is truncated or was changed"}, check: onlyRun},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runFile, res := runFixture(t)
			if tc.prepare != nil {
				tc.prepare(t, runFile)
			}
			out, code := runSelf(t, runFile, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.check != nil {
				tc.check(t, filepath.Dir(runFile), out, res)
			}
		})
	}
}

// flipByte changes one byte of the file; a negative offset counts from the end.
func flipByte(t *testing.T, p string, off int) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(data)
	}
	data[off] ^= 0xff
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestRunHeader(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, size := range []int64{0, 9, 12345, 1 << 40} {
		h, err := RunHeader("demo-recovery-kit", size, sum)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(h, []byte("\n"+RunMarker+"\n")) {
			t.Errorf("header does not end with the marker line")
		}
		if want := "readonly PAYLOAD_OFFSET=" + strconv.Itoa(len(h)) + "\n"; !bytes.Contains(h, []byte(want)) {
			t.Errorf("size %d: header of %d bytes does not record its own length", size, len(h))
		}
		again, _ := RunHeader("demo-recovery-kit", size, sum)
		if !bytes.Equal(h, again) {
			t.Error("header is not deterministic")
		}
	}
	if _, err := RunHeader("demo-recovery-kit", 1, "nothex"); err == nil {
		t.Error("a malformed sha256 was accepted")
	}
}

// TestRunHeaderShellCheck lints the self-extracting header for bash.
func TestRunHeaderShellCheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed")
	}
	h, err := RunHeader("demo-recovery-kit", 10, strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "header.sh")
	// The marker line is data, not a command: lint what bash executes.
	script := bytes.TrimSuffix(h, []byte(RunMarker+"\n"))
	if err := os.WriteFile(p, script, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := runCmd(t, ".", nil, sc, "--shell=bash", "--severity=style", p); code != 0 {
		t.Errorf("shellcheck: exit %d\n%s", code, out)
	}
}

// TestRunListClosedPipe checks that --list stays quiet when its reader stops early
// (bash X.run --list | head -3): the listing is longer than a pipe holds, so tar is
// still writing when head exits.
func TestRunListClosedPipe(t *testing.T) {
	kit := demoKit()
	for i := 0; i < 1500; i++ {
		kit.Files = append(kit.Files, render.File{Name: fmt.Sprintf("hosts/m1.demo.example/notes/%04d-a-name-long-enough-to-fill-the-pipe.txt", i), Mode: 0o644, Data: []byte("x\n")})
	}
	sort.Slice(kit.Files, func(i, j int) bool { return kit.Files[i].Name < kit.Files[j].Name })
	res, err := Package(kit, t.TempDir(), PackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bin := minimalPath(t)
	head, err := exec.LookPath("head")
	if err != nil {
		t.Skip("head not installed")
	}
	if err := os.Symlink(head, filepath.Join(bin, "head")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin, "TMPDIR=" + t.TempDir(), "LC_ALL=C"}
	script := `bash "$1" --list | head -3; echo "exit=${PIPESTATUS[0]}"`
	out, code := runCmd(t, ".", env, filepath.Join(bin, "bash"), "-c", script, "bash", res.Run.Path)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{"payload ok:", "demo-recovery-kit/", "demo-recovery-kit/RUNBOOK.md", "exit=141"}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s\nwant the first three lines, then exit=141 (the reader closed the pipe), and nothing else", out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d is %q, want %q", i+1, lines[i], w)
		}
	}
}

// TestRunWithSh checks that a .run started by a POSIX sh (dash) stops at once and
// says to use bash, instead of failing on the first bash-only line.
func TestRunWithSh(t *testing.T) {
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash not installed")
	}
	runFile, _ := runFixture(t)
	for _, args := range [][]string{{"--list"}, {"--extract"}, {}} {
		out, code := runCmd(t, filepath.Dir(runFile), nil, dash, append([]string{filepath.Base(runFile)}, args...)...)
		if code != 2 {
			t.Errorf("dash %v: exit %d, want 2 (usage)\n%s", args, code, out)
		}
		want := "demo-recovery-kit.run: error: this file needs bash: run it with bash: bash " + strings.Join(append([]string{"demo-recovery-kit.run"}, args...), " ") + "\n"
		if out != want {
			t.Errorf("dash %v: output\n%s\nwant\n%s", args, out, want)
		}
		if got := entries(t, filepath.Dir(runFile)); len(got) != 1 {
			t.Errorf("dash %v: the site holds %v, want only the .run", args, got)
		}
	}
	// The same file under bash still works, and --help shows the header only.
	out, code := runSelf(t, runFile, "--help")
	if code != 0 || !strings.HasPrefix(out, "demo-recovery-kit.run: the recovery kit") || strings.Contains(out, "BASH_VERSION") {
		t.Errorf("bash --help: exit %d\n%s", code, out)
	}
}
