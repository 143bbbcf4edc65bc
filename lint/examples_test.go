package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// TestExampleKitsLintClean renders the kit of every example inventory with the
// shipped templates and lints it with every rule, and ShellCheck when installed
// (CI installs it): templates ship clean, so any finding fails.
func TestExampleKitsLintClean(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(examples) < 2 {
		t.Fatalf("want the example inventories under ../examples, found %v (%v)", examples, err)
	}
	if ShellCheckPath() == "" {
		t.Log("shellcheck not on PATH: only restorekit's own rules run")
	}
	for _, ex := range examples {
		t.Run(filepath.Base(ex), func(t *testing.T) {
			inv, _, err := inventory.Load(ex, inventory.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			kit, err := render.Render(inv, render.Options{ToolVersion: "v0.1.0"})
			if err != nil {
				t.Fatal(err)
			}
			scripts := 0
			for _, f := range kit.Files {
				if f.IsScript() {
					scripts++
				}
			}
			if scripts < 4 {
				t.Fatalf("kit has %d scripts, want recover.sh, redeploy.sh and host scripts", scripts)
			}
			findings, err := Check(kit, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(findings) > 0 {
				var b strings.Builder
				for _, f := range findings {
					b.WriteString(f.String() + "\n")
				}
				t.Errorf("%s: %d findings in the example kit:\n%s", kit.Name, len(findings), b.String())
			}
		})
	}
}

// TestKitOnDiskLintsLikeInMemory checks that a kit directory written to disk gets the
// same findings as the in-memory kit it was written from (roles from the layout).
func TestKitOnDiskLintsLikeInMemory(t *testing.T) {
	inv, _, err := inventory.Load(filepath.Join("..", "examples", "three-masters.yaml"), inventory.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kit, err := render.Render(inv, render.Options{ToolVersion: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	// A problem in a host script and in the coordinator, so there is something to compare.
	for i, f := range kit.Files {
		if f.Name == "recover.sh" || strings.HasSuffix(f.Name, "/05-restore.sh") {
			kit.Files[i].Data = append(append([]byte(nil), f.Data...), "rm -f /etc/hosts\nssh core@192.0.2.1 true\n"...)
		}
	}
	mem, err := Check(kit, Options{ShellCheck: ShellCheckNever})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range kit.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	disk, err := Paths([]string{dir}, Options{ShellCheck: ShellCheckNever})
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, f := range mem {
		f.Template = ""
		want = append(want, f.String())
	}
	for _, f := range disk {
		f.File = filepath.ToSlash(strings.TrimPrefix(f.File, dir+string(filepath.Separator)))
		got = append(got, f.String())
	}
	if len(want) < 3 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("on disk:\n%s\nin memory:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
