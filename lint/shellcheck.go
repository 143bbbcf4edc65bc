package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ShellCheckMode says whether ShellCheck runs beside restorekit's own rules.
type ShellCheckMode int

const (
	// ShellCheckAuto runs shellcheck when it is on PATH and skips it otherwise.
	ShellCheckAuto ShellCheckMode = iota
	// ShellCheckAlways runs shellcheck and fails when it is not installed.
	ShellCheckAlways
	// ShellCheckNever skips shellcheck.
	ShellCheckNever
)

// ParseShellCheckMode reads "auto", "always" or "never".
func ParseShellCheckMode(s string) (ShellCheckMode, error) {
	switch s {
	case "auto":
		return ShellCheckAuto, nil
	case "always":
		return ShellCheckAlways, nil
	case "never":
		return ShellCheckNever, nil
	}
	return ShellCheckAuto, fmt.Errorf("unknown shellcheck mode %q (auto, always or never)", s)
}

func (m ShellCheckMode) String() string {
	switch m {
	case ShellCheckAlways:
		return "always"
	case ShellCheckNever:
		return "never"
	}
	return "auto"
}

// DisabledShellCheck are ShellCheck codes disabled for every script (passed as -e),
// each with the reason. It is empty: kit scripts pass every check, and the few false
// alarms are silenced where they occur by an inline directive that the
// shellcheck-directive rule restricts to ShellCheckDirectives.
var DisabledShellCheck = map[string]string{}

// ShellCheckPath is the shellcheck on PATH, or "" when there is none.
func ShellCheckPath() string {
	p, err := exec.LookPath("shellcheck")
	if err != nil {
		return ""
	}
	return p
}

// shellCheckComment is one comment of shellcheck -f json1.
type shellCheckComment struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Level   string `json:"level"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// runShellCheck runs shellcheck over every script, one process per CPU; scripts
// without a file on disk are written to a temporary directory first.
func runShellCheck(srcs []Source, mode ShellCheckMode) ([]Finding, error) {
	if mode == ShellCheckNever || len(srcs) == 0 {
		return nil, nil
	}
	bin := ShellCheckPath()
	if bin == "" {
		if mode == ShellCheckAlways {
			return nil, errors.New("shellcheck: not found on PATH (install it, or use --shellcheck=never)")
		}
		return nil, nil
	}
	byPath := map[string]Source{}
	var files []string
	var tmp string
	roots := map[string]int{}
	for i, src := range srcs {
		p := src.Path
		if p == "" {
			if tmp == "" {
				var err error
				if tmp, err = os.MkdirTemp("", "restorekit-lint-"); err != nil {
					return nil, err
				}
				defer os.RemoveAll(tmp)
			}
			// A kit's scripts keep their places, so that ShellCheck follows the
			// library a host script sources (# shellcheck source=lib/host.sh).
			dir := filepath.Join(tmp, "script-"+strconv.Itoa(i))
			p = filepath.Join(dir, filepath.Base(src.Name))
			if src.KitPath != "" {
				if _, ok := roots[src.Root]; !ok {
					roots[src.Root] = len(roots)
				}
				p = filepath.Join(tmp, "kit-"+strconv.Itoa(roots[src.Root]), filepath.FromSlash(src.KitPath))
				dir = filepath.Dir(p)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, src.Data, 0o600); err != nil {
				return nil, err
			}
		}
		byPath[filepath.Clean(p)] = src
		files = append(files, p)
	}
	// -x: follow the libraries scripts source, so that what a library defines or uses
	// counts; each library's own findings come from checking it as a file of its own.
	args := []string{"-f", "json1", "-s", "bash", "--norc", "-x"}
	if len(DisabledShellCheck) > 0 {
		var codes []string
		for c := range DisabledShellCheck {
			codes = append(codes, strings.TrimPrefix(c, "SC"))
		}
		sort.Strings(codes)
		args = append(args, "-e", strings.Join(codes, ","))
	}
	args = append(args, "--")
	// One process per CPU, each given about the same amount of script.
	groups := make([][]string, min(runtime.NumCPU(), len(files)))
	load := make([]int, len(groups))
	bySize := append([]string(nil), files...)
	sort.SliceStable(bySize, func(i, j int) bool { return len(byPath[bySize[i]].Data) > len(byPath[bySize[j]].Data) })
	for _, f := range bySize {
		least := 0
		for g := range groups {
			if load[g] < load[least] {
				least = g
			}
		}
		groups[least] = append(groups[least], f)
		load[least] += len(byPath[f].Data) + 1
	}
	comments := make([][]shellCheckComment, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			comments[g], errs[g] = shellCheckProcess(bin, append(append([]string(nil), args...), groups[g]...))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var findings []Finding
	for _, cs := range comments {
		for _, c := range cs {
			src, ok := byPath[filepath.Clean(c.File)]
			if !ok {
				return nil, fmt.Errorf("shellcheck: reported on %q, which it was not given", c.File)
			}
			findings = append(findings, Finding{
				File: src.Name, Template: src.Template, Line: c.Line, Col: c.Column,
				Severity: shellCheckSeverity(c.Level), Message: c.Message, Rule: fmt.Sprintf("SC%04d", c.Code),
			})
		}
	}
	return findings, nil
}

// shellCheckProcess runs one shellcheck process and reads its json1 comments.
func shellCheckProcess(bin string, args []string) ([]shellCheckComment, error) {
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		// Exit 1 means "found something"; anything else is shellcheck failing.
		return nil, fmt.Errorf("shellcheck: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out struct {
		Comments []shellCheckComment `json:"comments"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("shellcheck: reading its json1 output: %w", err)
	}
	return out.Comments, nil
}

// shellCheckSeverity maps ShellCheck's levels onto ours (style counts as info).
func shellCheckSeverity(level string) Severity {
	switch level {
	case "error":
		return SeverityError
	case "warning":
		return SeverityWarning
	}
	return SeverityInfo
}
