package lint

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// BenchmarkLintFiveMasters times whole processes on the five-master example kit, one
// process per iteration (ns/op is per run): restorekit lint with its own rules only,
// against shellcheck on the same scripts. make bench runs it.
func BenchmarkLintFiveMasters(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "restorekit")
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skipf("go is not on PATH: %v", err)
	}
	build := exec.Command(goTool, "build", "-o", bin, "github.com/restorekit/restorekit/cmd/restorekit")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	kitDir, scripts := writeExampleKit(b, filepath.Join("..", "examples", "five-masters-proxy-jumphost.yaml"), dir)

	b.Run("restorekit", func(b *testing.B) {
		for b.Loop() {
			runProcess(b, exec.Command(bin, "lint", "--shellcheck=never", kitDir))
		}
		b.ReportMetric(float64(len(scripts)), "scripts")
	})
	b.Run("shellcheck", func(b *testing.B) {
		sc := ShellCheckPath()
		if sc == "" {
			b.Skip("shellcheck not on PATH")
		}
		args := append([]string{"-f", "json1", "-s", "bash"}, scripts...)
		for b.Loop() {
			runProcess(b, exec.Command(sc, args...))
		}
		b.ReportMetric(float64(len(scripts)), "scripts")
	})
}

// runProcess runs a linter; exit 1 (findings) is a completed run, anything else fails.
func runProcess(b *testing.B, cmd *exec.Cmd) {
	b.Helper()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		b.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

// writeExampleKit renders an example inventory's kit into dir and returns the kit
// directory and its scripts.
func writeExampleKit(b *testing.B, invPath, dir string) (string, []string) {
	b.Helper()
	inv, _, err := inventory.Load(invPath, inventory.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	kit, err := render.Render(inv, render.Options{ToolVersion: "v0.1.0"})
	if err != nil {
		b.Fatal(err)
	}
	kitDir := filepath.Join(dir, kit.Name)
	var scripts []string
	for _, f := range kit.Files {
		p := filepath.Join(kitDir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
		if f.IsScript() {
			scripts = append(scripts, p)
		}
	}
	return kitDir, scripts
}

// BenchmarkCheckFiveMasters times restorekit's own rules in process on the
// five-master example kit (rendering excluded).
func BenchmarkCheckFiveMasters(b *testing.B) {
	inv, _, err := inventory.Load(filepath.Join("..", "examples", "five-masters-proxy-jumphost.yaml"), inventory.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	kit, err := render.Render(inv, render.Options{ToolVersion: "v0.1.0"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Check(kit, Options{ShellCheck: ShellCheckNever}); err != nil {
			b.Fatal(err)
		}
	}
}
