package lint

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// isTemplatesDir reports whether dir holds templates (*.tmpl) at its top.
func isTemplatesDir(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	return len(m) > 0
}

// ExampleInventories finds the example inventories for a templates directory: the
// *.yaml files of an "examples" directory inside it or beside it.
func ExampleInventories(templatesDir string) ([]string, error) {
	for _, dir := range []string{filepath.Join(templatesDir, "examples"), filepath.Join(templatesDir, "..", "examples")} {
		m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			sort.Strings(m)
			return m, nil
		}
	}
	return nil, fmt.Errorf("%s: no example inventories in examples/ inside or beside it (name one with -i)", templatesDir)
}

// templateSources renders a templates directory with each inventory. Files are
// named <kit-name>/<file in the kit>, with the template they came from.
func templateSources(dir string, opts Options) ([]Source, []Finding, error) {
	invs := opts.Inventories
	if len(invs) == 0 {
		var err error
		if invs, err = ExampleInventories(dir); err != nil {
			return nil, nil, err
		}
	}
	var srcs []Source
	var findings []Finding
	for _, invPath := range invs {
		inv, _, err := inventory.Load(invPath, inventory.LoadOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", invPath, err)
		}
		kit, err := render.Render(inv, render.Options{Templates: os.DirFS(dir), ToolVersion: opts.ToolVersion})
		if err != nil {
			findings = append(findings, Finding{File: dir, Line: 1, Col: 1, Severity: SeverityError, Rule: "render",
				Message: fmt.Sprintf("rendering with %s: %v", invPath, err)})
			continue
		}
		for _, f := range kit.Files {
			if f.IsScript() {
				srcs = append(srcs, Source{Name: path.Join(kit.Name, f.Name), Template: path.Join(filepath.ToSlash(dir), f.Template),
					Role: roleOf(f), Data: f.Data})
			}
		}
	}
	return srcs, findings, nil
}

// roleOf is where render says a kit file runs, or what its place in the kit implies
// for a file render did not place.
func roleOf(f render.File) Role {
	switch f.Runs {
	case render.RunsOnWorkstation:
		return RoleWorkstation
	case render.RunsOnHost:
		return RoleHost
	}
	return RoleFor(f.Name)
}

// templateLine is one line of a template.
type templateLine struct {
	file string // slash path: templates dir joined with the template's name
	line int
}

// templateIndex finds the template line a rendered line came from: every template
// line, by its words (rendering re-indents and re-spaces lines).
type templateIndex map[string][]templateLine

// indexTemplates reads every *.tmpl below dir.
func indexTemplates(dir string) (templateIndex, error) {
	idx := templateIndex{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(filepath.ToSlash(dir), filepath.ToSlash(rel))
		for i, line := range bytes.Split(data, []byte("\n")) {
			if key := lineKey(string(line)); key != "" {
				idx[key] = append(idx[key], templateLine{file: name, line: i + 1})
			}
		}
		return nil
	})
	return idx, err
}

// lineKey is a line's words joined by one space; "" for a line too plain to point
// at one place ("fi", "done", "}") or one holding template actions.
func lineKey(line string) string {
	key := strings.Join(strings.Fields(line), " ")
	if len(key) < 8 || strings.Contains(key, "{{") {
		return ""
	}
	return key
}

// locate points a finding in a rendered script at the template line it came from,
// when exactly one template line reads like the finding's line.
func (idx templateIndex) locate(f *Finding, rendered []byte) {
	lines := bytes.Split(rendered, []byte("\n"))
	if f.Line < 1 || f.Line > len(lines) {
		return
	}
	key := lineKey(string(lines[f.Line-1]))
	if key == "" {
		return
	}
	if locs := idx[key]; len(locs) == 1 {
		f.Template, f.TemplateLine = locs[0].file, locs[0].line
	}
}
