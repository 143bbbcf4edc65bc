package lint

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
}

// Source is one script to lint.
type Source struct {
	// Name is how findings name the file: its path as given, or its name in the kit.
	Name string
	// Template is the template the script was rendered from, if known.
	Template string
	Role     Role
	Data     []byte
	// Path is the file on disk holding Data, if there is one.
	Path string
	// Root groups the sources of one kit; KitPath is the source's path inside it ("" for
	// a script given alone). Library is true for a script the kit's others source
	// (lib/host.sh), and Sources are the KitPaths of the libraries a script sources:
	// their functions count as defined in it, and ShellCheck follows them.
	Root    string
	KitPath string
	Library bool
	Sources []string
}

// kitSource is a script of a kit rooted at root, with its role, and the library its
// place in the kit implies: host scripts source the kit's host library.
func kitSource(root, kitPath, name, template string, data []byte, hasLib bool) Source {
	src := Source{Name: name, Template: template, Role: RoleFor(kitPath), Data: data, Root: root, KitPath: kitPath}
	switch {
	case kitPath == render.HostLibPath:
		src.Library = true
	case src.Role == RoleHost && hasLib:
		src.Sources = []string{render.HostLibPath}
	}
	return src
}

// hasHostLib reports whether a kit's file names include the host library.
func hasHostLib(names []string) bool {
	for _, n := range names {
		if n == render.HostLibPath {
			return true
		}
	}
	return false
}

// Check lints every script (*.sh) of an in-memory kit; each script's role comes
// from where render says it runs.
func Check(kit *render.Kit, opts Options) ([]Finding, error) {
	var srcs []Source
	for _, f := range kit.Files {
		if !f.IsScript() {
			continue
		}
		srcs = append(srcs, Source{Name: f.Name, Template: f.Template, Role: roleOf(f), Data: f.Data,
			Root: kit.Name, KitPath: f.Name, Library: f.Library, Sources: f.Sources})
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
	var parsed []Source
	// Libraries first: the scripts that source them need their functions.
	libFuncs := map[string]map[string]*syntax.FuncDecl{} // Root + "\x00" + KitPath -> functions
	order := make([]Source, 0, len(srcs))
	for _, src := range srcs {
		if src.Library {
			order = append(order, src)
		}
	}
	for _, src := range srcs {
		if !src.Library {
			order = append(order, src)
		}
	}
	for _, src := range order {
		if src.Name == "" {
			src.Name = "(unnamed script)"
		}
		imported := map[string]*syntax.FuncDecl{}
		for _, lib := range src.Sources {
			for name, fn := range libFuncs[src.Root+"\x00"+lib] {
				imported[name] = fn
			}
		}
		s, perr := parseScript(src.Name, src.Template, src.Role, src.Data, imported)
		if perr != nil {
			findings = append(findings, *perr)
			continue // ShellCheck would only repeat the parse error
		}
		s.Library = src.Library
		if src.Library {
			libFuncs[src.Root+"\x00"+src.KitPath] = s.Funcs
		}
		scripts, parsed = append(scripts, s), append(parsed, src)
	}
	// A library may call what every script that sources it defines (the callbacks
	// usage and show_plan of the host library).
	for i, s := range scripts {
		if !s.Library {
			continue
		}
		var callbacks map[string]*syntax.FuncDecl
		for j, o := range scripts {
			if parsed[j].Root != parsed[i].Root || !slices.Contains(parsed[j].Sources, parsed[i].KitPath) {
				continue
			}
			if callbacks == nil {
				callbacks = maps.Clone(o.Funcs)
				continue
			}
			maps.DeleteFunc(callbacks, func(name string, _ *syntax.FuncDecl) bool { return o.Funcs[name] == nil })
		}
		s.Imported = callbacks
	}
	// ShellCheck runs in its own processes while the rules run here.
	type result struct {
		findings []Finding
		err      error
	}
	done := make(chan result, 1)
	go func() {
		fs, err := runShellCheck(parsed, opts.ShellCheck)
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
	type file struct{ path, rel string }
	var files []file
	var rels []string
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
		files = append(files, file{p, filepath.ToSlash(rel)})
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no scripts (*.sh) to lint", dir)
	}
	var srcs []Source
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		src := kitSource(dir, f.rel, f.path, "", data, hasHostLib(rels))
		src.Path = f.path
		srcs = append(srcs, src)
	}
	return srcs, nil
}
