package lint

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// BenchmarkLintFiveMasters times whole processes on the five-master example kit, one
// process per iteration (ns/op is per run): restorekit lint with its own rules only;
// restorekit build with ShellCheck, its cache cold (a new cache directory each run)
// and warm; and shellcheck alone on the same scripts, in one process, following what
// they source. make bench runs it.
func BenchmarkLintFiveMasters(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "restorekit")
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skipf("go is not on PATH: %v", err)
	}
	goBuild := exec.Command(goTool, "build", "-o", bin, "github.com/restorekit/restorekit/cmd/restorekit")
	if out, err := goBuild.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	inv := filepath.Join("..", "examples", "five-masters-proxy-jumphost.yaml")
	kitDir, scripts := writeExampleKit(b, inv, dir)
	sc := ShellCheckPath()
	// build runs restorekit build with ShellCheck and the given cache home.
	build := func(b *testing.B, cacheHome string, cpu *time.Duration) {
		cmd := exec.Command(bin, "build", "-i", inv, "-o", filepath.Join(dir, "build"), "--force", "--shellcheck=always")
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cacheHome)
		runProcess(b, cmd, cpu)
	}

	b.Run("restorekit", func(b *testing.B) {
		var cpu time.Duration
		for b.Loop() {
			runProcess(b, exec.Command(bin, "lint", "--shellcheck=never", kitDir), &cpu)
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(len(scripts)), "scripts")
	})
	b.Run("build-cold", func(b *testing.B) {
		if sc == "" {
			b.Skip("shellcheck not on PATH")
		}
		var cpu time.Duration
		for b.Loop() {
			build(b, b.TempDir(), &cpu)
		}
		reportCPU(b, cpu)
	})
	b.Run("build-warm", func(b *testing.B) {
		if sc == "" {
			b.Skip("shellcheck not on PATH")
		}
		home := b.TempDir()
		var cpu time.Duration
		build(b, home, &cpu)
		cpu = 0
		for b.Loop() {
			build(b, home, &cpu)
		}
		reportCPU(b, cpu)
	})
	b.Run("shellcheck", func(b *testing.B) {
		if sc == "" {
			b.Skip("shellcheck not on PATH")
		}
		args := append([]string{"-f", "json1", "-s", "bash", "-x", "-P", "SCRIPTDIR"}, scripts...)
		var cpu time.Duration
		for b.Loop() {
			runProcess(b, exec.Command(sc, args...), &cpu)
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(len(scripts)), "scripts")
	})
}

// runProcess runs a linter; exit 1 (findings) is a completed run, anything else fails.
// It adds the CPU time the process and the processes it waited for took to cpu.
func runProcess(b *testing.B, cmd *exec.Cmd, cpu *time.Duration) {
	b.Helper()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		b.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	*cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// reportCPU reports CPU time per run beside wall time: on a shared machine it is
// the steadier figure.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
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
