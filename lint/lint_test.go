package lint

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/render"
	"github.com/restorekit/restorekit/templates"
)

const coordinator = `#!/usr/bin/env bash
set -euo pipefail
ssh -o BatchMode=yes -o ConnectTimeout=10 core@192.0.2.10 true
`

// TestCheckRolesFromKitLayout lints an in-memory kit: recover.sh is judged as the
// workstation's, hosts/*/ as host scripts, non-scripts are skipped, and a parse error
// is the file's only finding.
func TestCheckRolesFromKitLayout(t *testing.T) {
	kit := &render.Kit{Name: "demo-recovery-kit", Files: []render.File{
		{Name: "RUNBOOK.md", Data: []byte("# not a script $x\n")},
		{Name: "hosts/m0/broken.sh", Data: []byte("#!/usr/bin/env bash\nset -euo pipefail\nif true; then\n"), Template: "hosts/broken.sh.tmpl"},
		{Name: "hosts/m0/ssh.sh", Data: []byte(coordinator), Template: "hosts/ssh.sh.tmpl"},
		{Name: "recover.sh", Data: []byte(coordinator), Template: "recover.sh.tmpl"},
	}}
	findings, err := Check(kit, Options{ShellCheck: ShellCheckNever})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
	}
	want := []string{
		"hosts/m0/broken.sh (from hosts/broken.sh.tmpl):3:10: error: `then` must be followed by a statement list (parse)",
		"hosts/m0/ssh.sh (from hosts/ssh.sh.tmpl):3:1: error: ssh is not a tool a control-plane host has: use builtins, coreutils or the site-tools list (restorekit lint --list-rules) (site-tools)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCheckShellCheck merges ShellCheck's findings under the kit's file names,
// and skips files that do not parse.
func TestCheckShellCheck(t *testing.T) {
	if ShellCheckPath() == "" {
		t.Skip("shellcheck not on PATH")
	}
	kit := &render.Kit{Files: []render.File{
		{Name: "hosts/m0/a.sh", Data: []byte("#!/usr/bin/env bash\nset -euo pipefail\nf() {\n  cd $1\n}\nf /tmp\n")},
		{Name: "hosts/m1/a.sh", Data: []byte("#!/usr/bin/env bash\nset -euo pipefail\necho 'unclosed\n")},
		{Name: "recover.sh", Data: []byte(coordinator)},
	}}
	findings, err := Check(kit, Options{ShellCheck: ShellCheckAlways, Rules: []*Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
	}
	want := []string{
		"hosts/m0/a.sh:4:6: info: Double quote to prevent globbing and word splitting. (SC2086)",
		"hosts/m1/a.sh:3:6: error: reached EOF without closing quote `'` (parse)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestShellCheckAlwaysNeedsShellCheck(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Files([]Source{{Name: "a.sh", Data: []byte(coordinator)}}, Options{ShellCheck: ShellCheckAlways})
	if err == nil || !strings.Contains(err.Error(), "shellcheck: not found on PATH") {
		t.Errorf("err = %v, want shellcheck not found", err)
	}
	fs, err := Files([]Source{{Name: "a.sh", Data: []byte(coordinator), Role: RoleWorkstation}}, Options{})
	if err != nil || len(fs) != 0 {
		t.Errorf("auto without shellcheck: %v %v, want no findings and no error", fs, err)
	}
}

// copyTemplates writes the shipped templates into a directory.
func copyTemplates(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPathsTemplatesDir renders a templates directory with an inventory and names
// each finding by the rendered file and the template it came from.
func TestPathsTemplatesDir(t *testing.T) {
	dir := copyTemplates(t)
	tmpl := filepath.Join(dir, "hosts", "restore.sh.tmpl")
	b, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, append(b, "\ncurl -fsS http://192.0.2.1/etcd.tar.gz\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	findings, err := Paths([]string{dir}, Options{ShellCheck: ShellCheckNever, Inventories: []string{filepath.Join("..", "examples", "three-masters.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	var fetches []Finding
	for _, f := range findings {
		if f.Rule == "no-network-fetch" {
			fetches = append(fetches, f)
		}
	}
	if len(fetches) != 1 {
		t.Fatalf("want one no-network-fetch finding, got %v (all: %v)", fetches, findings)
	}
	f := fetches[0]
	curlLine := bytes.Count(b, []byte("\n")) + 2 // after the template's last line and an empty one
	if f.File != "ocp4-recovery-kit/hosts/ip-10-0-143-125.ec2.internal/05-restore.sh" || f.Template != filepath.ToSlash(tmpl) || f.TemplateLine != curlLine {
		t.Errorf("finding names %q from %q line %d, want the template's line %d", f.File, f.Template, f.TemplateLine, curlLine)
	}
	if want := fmt.Sprintf("ocp4-recovery-kit/hosts/ip-10-0-143-125.ec2.internal/05-restore.sh (from %s:%d):", filepath.ToSlash(tmpl), curlLine); !strings.HasPrefix(f.String(), want) {
		t.Errorf("finding %q does not start with %q", f, want)
	}
}

func TestPathsTemplatesRenderError(t *testing.T) {
	dir := copyTemplates(t)
	if err := os.WriteFile(filepath.Join(dir, "recover.sh.tmpl"), []byte("{{ .NoSuchField }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	findings, err := Paths([]string{dir}, Options{ShellCheck: ShellCheckNever, Inventories: []string{filepath.Join("..", "examples", "three-masters.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || findings[0].Rule != "render" || findings[0].Severity != SeverityError || !strings.Contains(findings[0].Message, "NoSuchField") {
		t.Errorf("findings %v, want one render error naming the field", findings)
	}
}

func TestExampleInventories(t *testing.T) {
	got, err := ExampleInventories(filepath.Join("..", "templates"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range []string{"five-masters-proxy-jumphost.yaml", "single-node-420.yaml", "three-masters-416.yaml", "three-masters-418.yaml", "three-masters.yaml"} {
		want = append(want, filepath.Join("..", "templates", "..", "examples", name))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := ExampleInventories(t.TempDir()); err == nil || !strings.Contains(err.Error(), "-i") {
		t.Errorf("no examples: err %v, want a hint at -i", err)
	}
}

func TestPathsErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(empty, "missing.sh"), "no such file or directory"},
		{empty, "no scripts (*.sh) to lint"},
	} {
		if _, err := Paths([]string{tc.path}, Options{ShellCheck: ShellCheckNever}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Paths(%s): err %v, want %q", tc.path, err, tc.want)
		}
	}
}

// TestPathsKitDir lints a kit directory on disk: roles from the layout, and the role
// option applies to scripts given alone.
func TestPathsKitDir(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"recover.sh": coordinator, "hosts/m0/a.sh": coordinator, "kit.json": "{}"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	findings, err := Paths([]string{dir}, Options{ShellCheck: ShellCheckNever})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || findings[0].File != filepath.Join(dir, "hosts", "m0", "a.sh") || findings[0].Rule != "site-tools" {
		t.Errorf("kit dir: %v, want one site-tools finding in hosts/m0/a.sh", findings)
	}
	alone := filepath.Join(dir, "recover.sh")
	for _, tc := range []struct {
		role Role
		want int
	}{{RoleHost, 1}, {RoleWorkstation, 0}} {
		findings, err := Paths([]string{alone}, Options{ShellCheck: ShellCheckNever, Role: tc.role})
		if err != nil || len(findings) != tc.want {
			t.Errorf("recover.sh alone as %s: %v %v, want %d findings", tc.role, findings, err, tc.want)
		}
	}
}

// TestUnwrap checks how a simple command turns into the calls it makes.
func TestUnwrap(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{"sudo -E -u root timeout -s KILL 5 env A=b crictl ps", []string{"sudo", "timeout", "env", "crictl"}},
		{"command -v ssh", []string{"command"}},
		{"command ssh x", []string{"command", "ssh"}},
		{"xargs -r -n 1 rm", []string{"xargs", "rm"}},
		{"nohup nice -n 5 /usr/bin/sha256sum f", []string{"nohup", "nice", "/usr/bin/sha256sum"}},
		{"\"$tool\" ps", []string{""}},
		{"'crictl' ps", []string{"crictl"}},
		{"\\rm -f x", []string{"rm"}},
		{"t=/usr/bin/id\n\"$t\" -u", []string{"/usr/bin/id"}},
		{"t=id\nt=ls\n\"$t\"", []string{""}},
		{"SSH=(ssh -o BatchMode=yes)\n\"${SSH[@]}\" host", []string{"ssh"}},
		{"run() { \"$@\"; }\nrun rm x", []string{"", "run", "rm"}},
		{"step() { local s=$1; shift; \"$@\"; }\nstep 8 systemctl restart kubelet.service", []string{"shift", "", "step", "systemctl"}},
	} {
		s, perr := parseScript("t.sh", "", RoleHost, []byte(tc.src))
		if perr != nil {
			t.Fatalf("%q: %v", tc.src, perr)
		}
		var got []string
		for _, c := range s.Calls {
			got = append(got, c.Name)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: calls %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestRoleFor(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Role
	}{
		{"recover.sh", RoleWorkstation},
		{"redeploy.sh", RoleWorkstation},
		{"hosts/m0/restore.sh", RoleHost},
		{"hosts/m0/recover.sh", RoleHost},
		{"ocp4-recovery-kit/recover.sh", RoleWorkstation},
		{"ocp4-recovery-kit/hosts/m0/stop-static-pods.sh", RoleHost},
		{"tools/helper.sh", RoleHost},
	} {
		if got := RoleFor(tc.path); got != tc.want {
			t.Errorf("RoleFor(%q) = %s, want %s", tc.path, got, tc.want)
		}
	}
}

// TestFormatMatchesRender checks that the format rule's canonical form is exactly
// render.Format's, on every fixture that parses.
func TestFormatMatchesRender(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.sh"))
	checked := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, err := render.Format(file, src)
		if err != nil {
			continue // parse error fixtures
		}
		findings := runRules(file, "", RoleHost, src, []*Rule{FormatRule})
		if canonical := bytes.Equal(want, src); canonical != (len(findings) == 0) {
			t.Errorf("%s: render.Format says canonical=%v, the format rule reports %v", file, canonical, findings)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("only %d fixtures checked", checked)
	}
}

func TestRulesAreDocumented(t *testing.T) {
	seen := map[string]bool{ParseRuleName: true, "render": true}
	for _, r := range Rules {
		if r.Name == "" || r.Check == nil || len(strings.Fields(r.Doc)) < 10 {
			t.Errorf("rule %q: want a name, a Check and a Doc of a few sentences", r.Name)
		}
		if seen[r.Name] {
			t.Errorf("rule name %q used twice", r.Name)
		}
		seen[r.Name] = true
		if RuleByName(r.Name) != r {
			t.Errorf("RuleByName(%q) does not find it", r.Name)
		}
		if s := summary(r.Doc); !strings.HasSuffix(s, ".") || len(s) > 300 {
			t.Errorf("rule %s: summary %q is not one sentence", r.Name, s)
		}
	}
}

// TestPathsTemplatesPartialLine points a finding at the partial template its line
// came from.
func TestPathsTemplatesPartialLine(t *testing.T) {
	dir := copyTemplates(t)
	tmpl := filepath.Join(dir, "hosts", "restore.sh.tmpl")
	b, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, append(b, "\n{{ template \"_lint-test.tmpl\" . }}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(dir, "_lint-test.tmpl")
	if err := os.WriteFile(partial, []byte("# a partial\n  wget   -q http://192.0.2.1/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	findings, err := Paths([]string{dir}, Options{ShellCheck: ShellCheckNever, Inventories: []string{filepath.Join("..", "examples", "three-masters.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range findings {
		if f.Rule == "no-network-fetch" {
			found = true
			if f.Template != filepath.ToSlash(partial) || f.TemplateLine != 2 {
				t.Errorf("wget finding located at %s:%d, want %s:2", f.Template, f.TemplateLine, filepath.ToSlash(partial))
			}
		}
	}
	if !found {
		t.Errorf("no no-network-fetch finding in %v", findings)
	}
}
