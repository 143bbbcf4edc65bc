package lint

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/render"
)

// Options tune a lint run.
type Options struct {
	// ShellCheck says whether shellcheck runs too (default: when it is on PATH).
	ShellCheck ShellCheckMode
	// Rules replaces the rules to run (default: every rule of Rules).
	Rules []*Rule
	// Role is the role of a script given alone to Paths (default: host, the stricter).
	Role Role
	// Inventories render a templates directory given to Paths (default: every
	// *.yaml of an examples directory beside or inside it).
	Inventories []string
	// ToolVersion is passed to render for a templates directory.
	ToolVersion string
	// CacheDir keeps ShellCheck's findings by the content they were found in, the
	// files it sources and ShellCheck's version and options, so that an unchanged
	// script is not checked again ("" checks every script). A cache that cannot be
	// read or written is passed over.
	CacheDir string
}

// Source is one script to lint.
type Source struct {
	// Name is how findings name the file: its path as given, or its name in the kit.
	Name string
	// Template is the template the script was rendered from, if known.
	Template string
	Role     Role
	Data     []byte
	// Path is the file on disk holding Data, if there is one: the files it sources
	// are then read from beside it when they are not among the sources linted.
	Path string
}

// Check lints every script (*.sh) of an in-memory kit; each script's role is where
// render says it runs.
func Check(kit *render.Kit, opts Options) ([]Finding, error) {
	var srcs []Source
	for _, f := range kit.Files {
		if f.IsScript() {
			srcs = append(srcs, Source{Name: f.Name, Template: f.Template, Role: roleOf(f), Data: f.Data})
		}
	}
	return Files(srcs, opts)
}

// Files lints scripts: each is parsed (a parse error is its one finding), judged by
// the rules, and given to ShellCheck when it runs. Findings come back sorted.
func Files(srcs []Source, opts Options) ([]Finding, error) {
	rules := opts.Rules
	if rules == nil {
		rules = Rules
	}
	var findings []Finding
	var scripts []*Script
	var fromDisk []bool
	named := make([]Source, len(srcs))
	for i, src := range srcs {
		if src.Name == "" {
			src.Name = "(unnamed script)"
		}
		named[i] = src
		s, perr := parseScript(src.Name, src.Template, src.Role, src.Data)
		if perr != nil {
			findings = append(findings, *perr)
			continue // ShellCheck skips it too: it would only repeat the parse error
		}
		scripts, fromDisk = append(scripts, s), append(fromDisk, src.Path != "")
	}
	linkSources(scripts, fromDisk)
	// ShellCheck runs in its own processes while the rules run here.
	type result struct {
		findings []Finding
		err      error
	}
	done := make(chan result, 1)
	go func() {
		fs, err := runShellCheck(named, opts)
		done <- result{fs, err}
	}()
	for _, s := range scripts {
		findings = append(findings, runPasses(s, rules)...)
	}
	sc := <-done
	if sc.err != nil {
		return nil, sc.err
	}
	findings = append(findings, sc.findings...)
	SortFindings(findings)
	return findings, nil
}

// linkSources gives each script the functions of the files it sources: scripts
// among those linted, else files on disk beside a script that came from disk
// (fromDisk[i] for scripts[i]); and each script that others source the functions
// all of them define.
func linkSources(scripts []*Script, fromDisk []bool) {
	abs := make([]string, len(scripts))
	byPath := map[string]*Script{}
	for i, s := range scripts {
		if p, err := filepath.Abs(s.Name); err == nil {
			abs[i] = filepath.ToSlash(p)
			byPath[abs[i]] = s
		}
	}
	callers := map[*Script][]*Script{}
	for i, s := range scripts {
		if abs[i] == "" {
			continue
		}
		seen := map[string]bool{abs[i]: true}
		direct := sourcedPaths(s.File, path.Dir(abs[i]))
		for _, p := range direct {
			if lib := byPath[p]; lib != nil && lib != s {
				callers[lib] = append(callers[lib], s)
			}
		}
		queue := direct
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if seen[p] {
				continue
			}
			seen[p] = true
			lib := byPath[p]
			if lib == nil && fromDisk[i] {
				if data, err := os.ReadFile(filepath.FromSlash(p)); err == nil {
					lib, _ = parseScript(p, "", s.Role, data)
				}
			}
			if lib == nil {
				continue
			}
			if s.SourcedFuncs == nil {
				s.SourcedFuncs = map[string]*syntax.FuncDecl{}
			}
			for name, fn := range lib.Funcs {
				s.SourcedFuncs[name] = fn
			}
			queue = append(queue, sourcedPaths(lib.File, path.Dir(p))...)
		}
		if s.SourcedFuncs != nil {
			s.findCalls()
		}
	}
	for lib, cs := range callers {
		lib.CallerFuncs = map[string]*syntax.FuncDecl{}
		for name, fn := range cs[0].Funcs {
			every := true
			for _, c := range cs[1:] {
				every = every && c.Funcs[name] != nil
			}
			if every {
				lib.CallerFuncs[name] = fn
			}
		}
	}
}

// Paths lints what a person names on the command line: kit directories (every *.sh
// below, role from the kit layout), templates directories (a directory holding *.tmpl
// files: rendered with each inventory, see Options.Inventories), and single scripts
// (role Options.Role). An unreadable path, a directory without scripts or an
// inventory that does not load is an error; a templates directory that does not
// render is a finding (rule "render").
func Paths(paths []string, opts Options) ([]Finding, error) {
	var srcs []Source
	var findings []Finding
	rendered := map[string][]byte{}       // scripts rendered from templates, by name
	indexes := map[string]templateIndex{} // the templates each of those came from
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, Source{Name: p, Role: opts.Role, Data: data, Path: p})
			continue
		}
		if isTemplatesDir(p) {
			s, f, err := templateSources(p, opts)
			if err != nil {
				return nil, err
			}
			idx, err := indexTemplates(p)
			if err != nil {
				return nil, err
			}
			for _, src := range s {
				rendered[src.Name] = src.Data
				indexes[src.Name] = idx
			}
			srcs, findings = append(srcs, s...), append(findings, f...)
			continue
		}
		s, err := dirSources(p)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s...)
	}
	fs, err := Files(srcs, opts)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		if idx, ok := indexes[fs[i].File]; ok {
			idx.locate(&fs[i], rendered[fs[i].File])
		}
	}
	findings = append(findings, fs...)
	SortFindings(findings)
	return findings, nil
}

// dirSources reads every *.sh below a kit directory.
func dirSources(dir string) ([]Source, error) {
	var srcs []Source
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".sh") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		srcs = append(srcs, Source{Name: p, Role: RoleFor(filepath.ToSlash(rel)), Data: data, Path: p})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("%s: no scripts (*.sh) to lint", dir)
	}
	return srcs, nil
}
