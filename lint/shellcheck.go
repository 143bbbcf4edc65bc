package lint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/render"
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
	File    string `json:"file,omitempty"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Level   string `json:"level"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// shellCheckArgs are the options every shellcheck run gets: bash, no rc file, and
// sourced files followed from the script's directory (-x -P SCRIPTDIR), where the
// run places them.
func shellCheckArgs() []string {
	args := []string{"-f", "json1", "-s", "bash", "--norc", "-x", "-P", "SCRIPTDIR"}
	if len(DisabledShellCheck) > 0 {
		var codes []string
		for c := range DisabledShellCheck {
			codes = append(codes, strings.TrimPrefix(c, "SC"))
		}
		sort.Strings(codes)
		args = append(args, "-e", strings.Join(codes, ","))
	}
	return args
}

// shellCheckJob is one shellcheck run: a distinct script content with the files it
// sources, checked once for every source holding those bytes.
type shellCheckJob struct {
	key string
	// data is what ShellCheck is given: the script, and after its last line (lines)
	// the declarations of the scripts that source it, if any.
	data  []byte
	lines int
	// at is where the script is placed in the run's directory (its absolute path).
	at string
	// deps are the files it sources, transitively, by absolute path: the
	// declarations of each (see declarations), or nil for a file that does not exist.
	deps     map[string][]byte
	srcs     []int
	comments []shellCheckComment
}

// runShellCheck runs shellcheck once per distinct script (bytes and sourced files),
// as many at a time as there are CPUs, taking what it can from the cache. Every
// script is written with the files it sources to a temporary directory laid out as
// the kit is; a sourced file is given as its declarations (it is checked itself as
// one of srcs), or read from disk beside a script that came from disk.
func runShellCheck(srcs []Source, opts Options) ([]Finding, error) {
	if opts.ShellCheck == ShellCheckNever || len(srcs) == 0 {
		return nil, nil
	}
	bin := ShellCheckPath()
	if bin == "" {
		if opts.ShellCheck == ShellCheckAlways {
			return nil, errors.New("shellcheck: not found on PATH (install it, or use --shellcheck=never)")
		}
		return nil, nil
	}
	args := shellCheckArgs()
	var cache *findingsCache
	if opts.CacheDir != "" {
		if v, err := shellCheckVersion(bin); err == nil {
			cache = &findingsCache{dir: opts.CacheDir, salt: cacheSalt(v, args)}
		}
	}
	jobs, err := shellCheckJobs(srcs, cache)
	if err != nil {
		return nil, err
	}

	var pending []*shellCheckJob
	for _, j := range jobs {
		if cs, ok := cache.get(j.key); ok {
			j.comments = cs
		} else {
			pending = append(pending, j)
		}
	}
	if len(pending) > 0 {
		tmp, err := os.MkdirTemp("", "restorekit-lint-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		// Longest first, so that no CPU is left with a long script at the end.
		sort.SliceStable(pending, func(i, k int) bool { return len(pending[i].data) > len(pending[k].data) })
		work := make(chan int)
		errs := make([]error, len(pending))
		var wg sync.WaitGroup
		for range min(runtime.NumCPU(), len(pending)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					j := pending[i]
					j.comments, errs[i] = j.run(bin, args, filepath.Join(tmp, strconv.Itoa(i)))
					if errs[i] == nil {
						cache.put(j.key, j.comments)
					}
				}
			}()
		}
		for i := range pending {
			work <- i
		}
		close(work)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}

	var findings []Finding
	for _, j := range jobs {
		for _, i := range j.srcs {
			src := srcs[i]
			for _, c := range j.comments {
				findings = append(findings, Finding{
					File: src.Name, Template: src.Template, Line: c.Line, Col: c.Column,
					Severity: shellCheckSeverity(c.Level), Message: c.Message, Rule: fmt.Sprintf("SC%04d", c.Code),
				})
			}
		}
	}
	return findings, nil
}

// shellCheckJobs groups the sources into runs: one per distinct script content and
// set of sourced files, in the order of srcs. A script that other scripts source is
// checked followed by their declarations, so that the variables it sets for them
// are not "unused" and those they set for it not "unassigned".
func shellCheckJobs(srcs []Source, cache *findingsCache) ([]*shellCheckJob, error) {
	byPath := map[string]int{}
	abs := make([]string, len(srcs))
	files := make([]*syntax.File, len(srcs))
	direct := make([][]string, len(srcs))
	users := map[string][]int{} // the sources that source each path
	funcs := map[string]bool{}  // every function a script defines
	for i, src := range srcs {
		p, err := filepath.Abs(src.Name)
		if err != nil {
			return nil, err
		}
		abs[i] = filepath.ToSlash(p)
		byPath[abs[i]] = i
		if f, err := render.NewParser().Parse(bytes.NewReader(src.Data), src.Name); err == nil {
			files[i], direct[i] = f, sourcedPaths(f, path.Dir(abs[i]))
			definedFuncs(f, funcs)
			for _, d := range direct[i] {
				if d != abs[i] {
					users[d] = append(users[d], i)
				}
			}
		}
	}
	type lib struct {
		decls   []byte // nil: no such file
		sources []string
	}
	libs := map[string]lib{}
	// library reads a sourced file once: from srcs, else from disk when the script
	// sourcing it came from disk.
	library := func(p string, fromDisk bool) lib {
		if l, ok := libs[p]; ok {
			return l
		}
		var l lib
		var data []byte
		if i, ok := byPath[p]; ok {
			data = srcs[i].Data
		} else if fromDisk {
			data, _ = os.ReadFile(filepath.FromSlash(p))
		}
		if data != nil {
			if f, err := render.NewParser().Parse(bytes.NewReader(data), p); err == nil {
				definedFuncs(f, funcs)
				l.decls = []byte(strings.Join(declarations(f, true, funcs), ""))
				l.sources = sourcedPaths(f, path.Dir(p))
			} else {
				l.decls = data // ShellCheck reports what it makes of it
			}
		}
		libs[p] = l
		return l
	}

	var jobs []*shellCheckJob
	byKey := map[string]*shellCheckJob{}
	for i, src := range srcs {
		if files[i] == nil {
			continue // its parse error is its one finding already
		}
		deps := map[string][]byte{}
		queue := direct[i]
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if _, seen := deps[p]; seen || p == abs[i] {
				continue
			}
			l := library(p, src.Path != "")
			deps[p] = l.decls
			queue = append(queue, l.sources...)
		}
		data, lines := src.Data, bytes.Count(src.Data, []byte("\n"))
		unended := len(src.Data) > 0 && !bytes.HasSuffix(src.Data, []byte("\n"))
		if unended {
			lines++
		}
		if us := users[abs[i]]; len(us) > 0 {
			var b bytes.Buffer
			b.Write(src.Data)
			if unended {
				b.WriteByte('\n')
			}
			b.WriteString("# Added by restorekit lint: what the scripts sourcing this file set and read.\n")
			seen := map[string]bool{}
			for _, u := range us {
				for _, d := range declarations(files[u], false, funcs) {
					if !seen[d] { // scripts alike say much the same
						seen[d] = true
						b.WriteString(d)
					}
				}
			}
			data = b.Bytes()
		}
		key := jobKey(cache, data, abs[i], deps)
		if j, ok := byKey[key]; ok {
			j.srcs = append(j.srcs, i)
			continue
		}
		j := &shellCheckJob{key: key, data: data, lines: lines, at: abs[i], deps: deps, srcs: []int{i}}
		byKey[key] = j
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// jobKey identifies a run by what decides its comments: ShellCheck's version and
// options (the cache's salt), the script's bytes, and each sourced file's place
// relative to the script and bytes. The file's name and role are not part of it:
// every script gets the same options.
func jobKey(cache *findingsCache, data []byte, at string, deps map[string][]byte) string {
	h := sha256.New()
	if cache != nil {
		h.Write([]byte(cache.salt))
	}
	fmt.Fprintf(h, "script %d\n", len(data))
	h.Write(data)
	var paths []string
	for p := range deps {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(path.Dir(at), p)
		if deps[p] == nil {
			fmt.Fprintf(h, "missing %q\n", rel)
			continue
		}
		fmt.Fprintf(h, "sourced %q %d\n", rel, len(deps[p]))
		h.Write(deps[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// run writes the script and its sourced files under dir, laid out as they are
// named, and runs shellcheck in the script's directory; it keeps the comments on
// the script (ShellCheck reports none inside sourced files).
func (j *shellCheckJob) run(bin string, args []string, dir string) ([]shellCheckComment, error) {
	place := func(p string, data []byte) error {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		return os.WriteFile(full, data, 0o600)
	}
	for p, data := range j.deps {
		if data != nil {
			if err := place(p, data); err != nil {
				return nil, err
			}
		}
	}
	if err := place(j.at, j.data); err != nil {
		return nil, err
	}
	base := path.Base(j.at)
	cs, err := shellCheckProcess(bin, filepath.Join(dir, filepath.FromSlash(path.Dir(j.at))), append(append(args[:len(args):len(args)], "--"), base))
	if err != nil {
		return nil, err
	}
	kept := []shellCheckComment{}
	for _, c := range cs {
		if c.File == base && c.Line <= j.lines {
			c.File = ""
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// shellCheckVersion is the version line of shellcheck --version.
func shellCheckVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("shellcheck --version: %w", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "version:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("shellcheck --version: no version line in %q", out)
}

// shellCheckProcess runs one shellcheck process and reads its json1 comments.
func shellCheckProcess(bin, dir string, args []string) ([]shellCheckComment, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
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
