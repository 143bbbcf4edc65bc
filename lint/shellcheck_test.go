package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// sourcesKit reads testdata/shellcheck-sources.txtar: the kit's scripts, and the
// ShellCheck findings it must get.
func sourcesKit(t *testing.T) ([]Source, []string) {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", "shellcheck-sources.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var srcs []Source
	var want []string
	for _, f := range ar.Files {
		if f.Name == "want" {
			want = strings.Split(strings.TrimSpace(string(f.Data)), "\n")
			continue
		}
		srcs = append(srcs, Source{Name: f.Name, Role: RoleFor(f.Name), Data: f.Data})
	}
	return srcs, want
}

func needShellCheck(t *testing.T) {
	t.Helper()
	if ShellCheckPath() == "" {
		t.Skip("shellcheck not on PATH")
	}
}

// shellCheckOnly lints with ShellCheck alone and returns its findings as text.
func shellCheckOnly(t *testing.T, srcs []Source, opts Options) []string {
	t.Helper()
	opts.ShellCheck, opts.Rules = ShellCheckAlways, []*Rule{}
	findings, err := Files(srcs, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, f := range findings {
		got = append(got, f.String())
	}
	return got
}

func TestShellCheckFollowsSourcedLibrary(t *testing.T) {
	needShellCheck(t)
	srcs, want := sourcesKit(t)
	if got := shellCheckOnly(t, srcs, Options{}); !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDeclarationsStandInForLibrary checks that a script checked against the
// declarations of the library it sources gets exactly what ShellCheck reports when it
// follows the library itself, on the fixture kit and on the three-master example
// kit when its scripts source a library.
func TestDeclarationsStandInForLibrary(t *testing.T) {
	needShellCheck(t)
	srcs, _ := sourcesKit(t)
	kits := map[string][]Source{"shellcheck-sources.txtar": srcs}
	for _, ex := range []string{filepath.Join("..", "examples", "three-masters.yaml")} {
		inv, _, err := inventory.Load(ex, inventory.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kit, err := render.Render(inv, render.Options{ToolVersion: "v0.1.0"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range kit.Files {
			if f.IsScript() {
				kits[filepath.Base(ex)] = append(kits[filepath.Base(ex)], Source{Name: f.Name, Role: RoleFor(f.Name), Data: f.Data})
			}
		}
	}
	compared := 0
	for name, srcs := range kits {
		t.Run(name, func(t *testing.T) {
			sourcing := false
			for _, s := range srcs {
				sourcing = sourcing || bytes.Contains(s.Data, []byte("shellcheck source="))
			}
			if !sourcing {
				t.Skip("no script sources another")
			}
			dir := t.TempDir()
			for _, s := range srcs {
				p := filepath.Join(dir, filepath.FromSlash(s.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, s.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := shellCheckOnly(t, srcs, Options{})
			for _, s := range srcs {
				f, err := render.NewParser().Parse(bytes.NewReader(s.Data), s.Name)
				if err != nil || len(sourcedPaths(f, filepath.Dir(s.Name))) == 0 {
					continue
				}
				var mine []string
				for _, g := range got {
					if strings.HasPrefix(g, s.Name+":") {
						mine = append(mine, g)
					}
				}
				p := filepath.Join(dir, filepath.FromSlash(s.Name))
				cmd := exec.Command(ShellCheckPath(), append(shellCheckArgs(), "--", filepath.Base(p))...)
				cmd.Dir = filepath.Dir(p)
				out, err := cmd.Output()
				var exit *exec.ExitError
				if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
					t.Fatalf("shellcheck %s: %v", s.Name, err)
				}
				var res struct{ Comments []shellCheckComment }
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatal(err)
				}
				var full []string
				for _, c := range res.Comments {
					if c.File == filepath.Base(p) {
						full = append(full, Finding{File: s.Name, Line: c.Line, Col: c.Column, Severity: shellCheckSeverity(c.Level),
							Message: c.Message, Rule: fmt.Sprintf("SC%04d", c.Code)}.String())
					}
				}
				sort.Strings(full)
				sort.Strings(mine)
				if !reflect.DeepEqual(mine, full) {
					t.Errorf("%s against the declarations:\n%s\nagainst the library itself:\n%s", s.Name, strings.Join(mine, "\n"), strings.Join(full, "\n"))
				}
				compared++
			}
		})
	}
	if compared < 2 {
		t.Errorf("compared %d scripts that source a library, want at least the fixture's", compared)
	}
}

// fakeShellCheck puts a shellcheck on PATH that logs each run's arguments and hands
// over to the real one, announcing the version written in its version file. It
// returns the number of checks (runs other than --version) logged so far and a
// function to change the version.
func fakeShellCheck(t *testing.T) (checks func() int, setVersion func(string)) {
	t.Helper()
	real := ShellCheckPath()
	dir := t.TempDir()
	log, version := filepath.Join(dir, "log"), filepath.Join(dir, "version")
	script := fmt.Sprintf(`#!/usr/bin/env bash
if [[ "$1" == --version ]]; then
  printf 'ShellCheck - shell script analysis tool\nversion: %%s\n' "$(cat %[1]q)"
  exit 0
fi
printf '%%s\n' "$*" >>%[2]q
exec %[3]q "$@"
`, version, log, real)
	if err := os.WriteFile(filepath.Join(dir, "shellcheck"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	setVersion = func(v string) {
		if err := os.WriteFile(version, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setVersion("0.9.0")
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	checks = func() int {
		data, err := os.ReadFile(log)
		if errors.Is(err, os.ErrNotExist) {
			return 0
		} else if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(data, []byte("\n"))
	}
	return checks, setVersion
}

// TestShellCheckOncePerContentThenCached counts real ShellCheck runs: one per distinct
// script (the two identical host scripts share one), none when the cache holds them,
// all again for another ShellCheck version; findings never change.
func TestShellCheckOncePerContentThenCached(t *testing.T) {
	needShellCheck(t)
	srcs, want := sourcesKit(t)
	checks, setVersion := fakeShellCheck(t)
	cache := filepath.Join(t.TempDir(), "restorekit", "shellcheck")
	run := func(what string, opts Options, wantChecks int) {
		t.Helper()
		before := checks()
		if got := shellCheckOnly(t, srcs, opts); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: findings:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if n := checks() - before; n != wantChecks {
			t.Errorf("%s: shellcheck checked %d times, want %d", what, n, wantChecks)
		}
	}
	distinct := len(srcs) - 1
	run("no cache", Options{}, distinct)
	run("cold cache", Options{CacheDir: cache}, distinct)
	entries, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	if len(entries) != distinct {
		t.Errorf("cache holds %d entries, want %d: %v", len(entries), distinct, entries)
	}
	run("warm cache", Options{CacheDir: cache}, 0)
	run("warm cache, --no-cache", Options{}, distinct)
	setVersion("0.10.0")
	run("another shellcheck version", Options{CacheDir: cache}, distinct)
	run("its warm cache", Options{CacheDir: cache}, 0)

	// A damaged entry (cut short, or not the entry its name says) is a miss, and is
	// written anew.
	entries, _ = filepath.Glob(filepath.Join(cache, "*.json"))
	for i, e := range entries {
		damage := []byte(`{"key": "`)
		if i%2 == 1 {
			damage = []byte(`{"key": "0000", "comments": []}`)
		}
		if err := os.WriteFile(e, damage, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("damaged entries", Options{CacheDir: cache}, distinct)
	run("after the damage", Options{CacheDir: cache}, 0)
}

// TestShellCheckCacheIsWhatIsReported plants findings in every cache entry: they are
// reported, for each file of each entry's content, without running ShellCheck.
func TestShellCheckCacheIsWhatIsReported(t *testing.T) {
	needShellCheck(t)
	srcs, _ := sourcesKit(t)
	checks, _ := fakeShellCheck(t)
	cache := t.TempDir()
	shellCheckOnly(t, srcs, Options{CacheDir: cache})
	entries, _ := filepath.Glob(filepath.Join(cache, "*.json"))
	for _, e := range entries {
		var ent cacheEntry
		data, err := os.ReadFile(e)
		if err != nil || json.Unmarshal(data, &ent) != nil {
			t.Fatalf("%s: %v %s", e, err, data)
		}
		ent.Comments = []shellCheckComment{{Line: 1, Column: 1, Level: "warning", Code: 9999, Message: "planted"}}
		data, _ = json.Marshal(ent)
		if err := os.WriteFile(e, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := checks()
	got := shellCheckOnly(t, srcs, Options{CacheDir: cache})
	var want []string
	for _, s := range srcs {
		want = append(want, s.Name+":1:1: warning: planted (SC9999)")
	}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := checks() - before; n != 0 {
		t.Errorf("shellcheck checked %d times, want 0", n)
	}
}

// TestShellCheckUnusableCache lints as well when the cache directory cannot be made.
func TestShellCheckUnusableCache(t *testing.T) {
	needShellCheck(t)
	srcs, want := sourcesKit(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if got := shellCheckOnly(t, srcs, Options{CacheDir: filepath.Join(file, "cache")}); !reflect.DeepEqual(got, want) {
			t.Errorf("run %d: findings:\n%s\nwant:\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestShellCheckLibraryFromDisk lints a script given alone whose library is beside it
// on disk: the library is followed (by ShellCheck, and by site-tools for the functions
// it defines), not linted.
func TestShellCheckLibraryFromDisk(t *testing.T) {
	needShellCheck(t)
	srcs, _ := sourcesKit(t)
	dir := t.TempDir()
	for _, s := range srcs {
		p := filepath.Join(dir, filepath.FromSlash(s.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, s.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	alone := filepath.Join(dir, "hosts", "a", "run.sh")
	findings, err := Paths([]string{alone}, Options{ShellCheck: ShellCheckAlways, Rules: []*Rule{SiteToolsRule}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
	}
	want := []string{
		alone + ":10:17: info: Double quote to prevent globbing and word splitting. (SC2086)",
		alone + ":12:6: info: Double quote to prevent globbing and word splitting. (SC2086)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRulesKnowSourcedFunctions checks that restorekit's rules see through a library:
// its functions are defined in the scripts that source it (its pass-through run
// included), and a function it calls back must be defined by every one of them.
func TestRulesKnowSourcedFunctions(t *testing.T) {
	lib := `#!/usr/bin/env bash
set -euo pipefail
run() {
  "$@"
}
fail() {
  usage
  exit 1
}
`
	script := func(usage string) string {
		return `#!/usr/bin/env bash
set -euo pipefail
# shellcheck source=../../lib/l.sh
source "${BASH_SOURCE[0]%/*}/../../lib/l.sh"
` + usage + `run systemctl restart kubelet.service
run oc get nodes
fail
`
	}
	srcs := []Source{
		{Name: "lib/l.sh", Data: []byte(lib)},
		{Name: "hosts/a/x.sh", Data: []byte(script("usage() { echo usage; }\n"))},
		{Name: "hosts/b/x.sh", Data: []byte(script("usage() { echo usage; }\n"))},
	}
	lintIt := func(srcs []Source) []string {
		findings, err := Files(srcs, Options{ShellCheck: ShellCheckNever, Rules: []*Rule{SiteToolsRule}})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, f := range findings {
			got = append(got, fmt.Sprintf("%s:%d: %s", f.File, f.Line, strings.SplitN(f.Message, ":", 2)[0]))
		}
		return got
	}
	want := []string{
		"hosts/a/x.sh:7: oc is not a tool a control-plane host has",
		"hosts/b/x.sh:7: oc is not a tool a control-plane host has",
	}
	if got := lintIt(srcs); !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	srcs = append(srcs, Source{Name: "hosts/c/x.sh", Data: []byte(script(""))})
	want = []string{
		"hosts/a/x.sh:7: oc is not a tool a control-plane host has",
		"hosts/b/x.sh:7: oc is not a tool a control-plane host has",
		"hosts/c/x.sh:6: oc is not a tool a control-plane host has",
		"lib/l.sh:7: usage is not a tool a control-plane host has",
	}
	if got := lintIt(srcs); !reflect.DeepEqual(got, want) {
		t.Errorf("with a script not defining usage: findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSourcedPaths(t *testing.T) {
	src := `#!/usr/bin/env bash
lib="${BASH_SOURCE[0]%/*}/../../lib/host.sh"
# shellcheck source=../../lib/host.sh
source "$lib"
# shellcheck source=../../lib/checked.sh
. "$lib" || exit 2
if true; then
  # shellcheck source=/opt/abs.sh
  source "$lib"
fi
source ./literal.sh
source "$lib"
# shellcheck source=/dev/null
source "$lib"
`
	f, err := render.NewParser().Parse(strings.NewReader(src), "run.sh")
	if err != nil {
		t.Fatal(err)
	}
	got := sourcedPaths(f, "/kit/hosts/m0")
	want := []string{"/kit/lib/host.sh", "/kit/lib/checked.sh", "/opt/abs.sh", "/kit/hosts/m0/literal.sh"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sourcedPaths = %q, want %q", got, want)
	}
}
