package lint

import (
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
