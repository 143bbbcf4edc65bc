package lint

import (
	"bytes"
	"path"
	"regexp"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/render"
)

// sourceDirective is ShellCheck's "# shellcheck source=PATH" before a source command.
var sourceDirective = regexp.MustCompile(`^\s*shellcheck\s+(?:.*\s)?source=(\S+)`)

// sourcedPaths are the files a script sources, as ShellCheck run with -x and
// --source-path=SCRIPTDIR finds them: the path of the "# shellcheck source="
// directive above the source (or .) command, or above a command holding it
// (". "$lib" || exit 2"), else the command's literal argument; relative paths are
// taken from the script's directory (dir, slash-separated). Commands sourcing a
// computed path without a directive, and source=/dev/null, are not followed
// (ShellCheck says so itself).
func sourcedPaths(f *syntax.File, dir string) []string {
	var out []string
	var visit func(n syntax.Node, directive string)
	visit = func(n syntax.Node, directive string) {
		syntax.Walk(n, func(m syntax.Node) bool {
			st, ok := m.(*syntax.Stmt)
			if !ok || m == n {
				return true
			}
			d := directive
			for _, cm := range st.Comments {
				if !cm.Pos().After(st.Pos()) {
					if sd := sourceDirective.FindStringSubmatch(cm.Text); sd != nil {
						d = sd[1]
					}
				}
			}
			if c, ok := st.Cmd.(*syntax.CallExpr); ok && len(c.Args) >= 2 && (c.Args[0].Lit() == "source" || c.Args[0].Lit() == ".") {
				p := d
				if p == "" {
					p, _ = literal(c.Args[1])
				}
				if p != "" && p != "/dev/null" {
					if !path.IsAbs(p) {
						p = path.Join(dir, p)
					}
					out = append(out, path.Clean(p))
				}
			}
			visit(st, d)
			return false
		})
	}
	visit(f, "")
	return out
}

// declarations is what ShellCheck is given in place of a sourced library when it
// checks a script that sources it: the library's assignments to global variables as
// written, at top level and in each function (whose body is only those, and a read
// of "$@" if the function reads arguments), its source commands (with their
// directives), each call of a function named in funcs (once with and once without
// arguments, as made), and a read of each variable it reads. ShellCheck so knows
// which variables the library sets (no SC2154 in the script), which it reads (no
// SC2034), their values (integers need no quotes) and how its functions take
// arguments (SC2119, SC2120), without analysing the library's code for every
// script: the library is checked once, as a file of its own. (Reads and calls are
// kept out of function bodies: there they cost ShellCheck much.) With sources false,
// source commands are left out. Each piece is whole commands, so that the
// declarations of several scripts can be merged without repeats.
func declarations(f *syntax.File, sources bool, funcs map[string]bool) []string {
	var lines, defs []string
	var b bytes.Buffer
	pr := render.NewPrinter()
	print := func(to *[]string, st *syntax.Stmt, keepComments bool) {
		cp := *st
		if !keepComments {
			cp.Comments = nil
		}
		b.Reset()
		pr.Print(&b, &cp)
		b.WriteByte('\n')
		*to = append(*to, b.String())
	}
	calls, reads := map[string]bool{}, map[string]bool{}
	// scope walks the statements of the file (fn nil) or of one function, outside
	// the functions they define, which it walks in turn.
	var scope func(n syntax.Node, fn *syntax.FuncDecl)
	scope = func(n syntax.Node, fn *syntax.FuncDecl) {
		locals := map[string]bool{}
		out := &lines
		var body []string
		if fn != nil {
			locals, out = localNames(fn), &body
		}
		global := func(st *syntax.Stmt) bool {
			for _, name := range assignedNames(st) {
				if !locals[name] {
					return true
				}
			}
			return false
		}
		read := func(v string) {
			if !locals[v] {
				reads[v] = true
			}
		}
		positional := false
		syntax.Walk(n, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.FuncDecl:
				scope(n.Body, n)
				return false
			case *syntax.Stmt:
				switch c := n.Cmd.(type) {
				case *syntax.CallExpr:
					if len(c.Args) > 0 && (c.Args[0].Lit() == "source" || c.Args[0].Lit() == ".") {
						if sources {
							print(&lines, n, true)
						}
						return false
					}
					if global(n) {
						print(out, n, false)
					}
				case *syntax.DeclClause, *syntax.ArithmCmd, *syntax.LetClause:
					if global(n) {
						print(out, n, false)
					}
				case *syntax.ForClause:
					if wi, ok := c.Loop.(*syntax.WordIter); ok && !locals[wi.Name.Value] {
						*out = append(*out, wi.Name.Value+"=''\n")
					}
				}
			case *syntax.CallExpr:
				if len(n.Args) > 0 && funcs[n.Args[0].Lit()] {
					call := n.Args[0].Lit()
					if len(n.Args) > 1 {
						call += " _"
					}
					calls[call] = true
				}
			case *syntax.ParamExp:
				if n.Param == nil {
					return true
				}
				switch v := n.Param.Value; {
				case isName(v):
					read(v)
				case v == "@" || v == "*" || v == "#" || (v >= "0" && v <= "9"):
					positional = true
				}
				if n.Index != nil {
					arithmNames(n.Index, read)
				}
			case *syntax.ArithmCmd:
				arithmNames(n.X, read)
			case *syntax.ArithmExp:
				arithmNames(n.X, read)
			case *syntax.CStyleLoop:
				for _, x := range []syntax.ArithmExpr{n.Init, n.Cond, n.Post} {
					if x != nil {
						arithmNames(x, read)
					}
				}
			}
			return true
		})
		if fn != nil {
			head := ":"
			if positional {
				head = `: "$@"`
			}
			defs = append(defs, fn.Name.Value+"() {\n"+head+"\n"+strings.Join(body, "")+"}\n")
		}
	}
	scope(f, nil)
	lines = append(lines, defs...)
	for _, c := range sortedKeys(calls) {
		// In a subshell: a function that exits must not make the lines after it
		// unreachable.
		lines = append(lines, "("+c+")\n")
	}
	for _, v := range sortedKeys(reads) {
		lines = append(lines, `: "${`+v+`-}"`+"\n")
	}
	seen := map[string]bool{}
	uniq := lines[:0]
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			uniq = append(uniq, l)
		}
	}
	return uniq
}

// assignedNames are the variables a statement sets: by assignment, declaration,
// read, mapfile, readarray, getopts, printf -v or arithmetic; nil for any other.
func assignedNames(st *syntax.Stmt) []string {
	var names []string
	switch c := st.Cmd.(type) {
	case *syntax.CallExpr:
		if len(c.Args) == 0 {
			for _, a := range c.Assigns {
				names = append(names, a.Name.Value)
			}
			return names
		}
		args := c.Args[1:]
		switch c.Args[0].Lit() {
		case "printf":
			if len(args) < 2 || args[0].Lit() != "-v" {
				return nil
			}
			args = args[1:2]
		case "read", "mapfile", "readarray", "getopts":
		default:
			return nil
		}
		for _, a := range args {
			if l := a.Lit(); isName(l) {
				names = append(names, l)
			}
		}
	case *syntax.DeclClause:
		for _, a := range c.Args {
			if a.Name != nil {
				names = append(names, a.Name.Value)
			}
		}
	case *syntax.ArithmCmd, *syntax.LetClause:
		syntax.Walk(c, func(n syntax.Node) bool {
			var x syntax.ArithmExpr
			switch n := n.(type) {
			case *syntax.BinaryArithm:
				if n.Op >= syntax.Assgn && n.Op <= syntax.ShrAssgn {
					x = n.X
				}
			case *syntax.UnaryArithm:
				if n.Op == syntax.Inc || n.Op == syntax.Dec {
					x = n.X
				}
			}
			if w, ok := x.(*syntax.Word); ok && isName(w.Lit()) {
				names = append(names, w.Lit())
			}
			return true
		})
	}
	return names
}

// localNames are the variables a function declares local (local, or declare and
// typeset without -g), outside the functions it defines.
func localNames(fn *syntax.FuncDecl) map[string]bool {
	locals := map[string]bool{}
	syntax.Walk(fn.Body, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.FuncDecl:
			return false
		case *syntax.DeclClause:
			if n.Variant.Value != "local" && n.Variant.Value != "declare" && n.Variant.Value != "typeset" {
				return true
			}
			for _, a := range n.Args {
				if a.Name == nil && a.Value != nil && strings.HasPrefix(a.Value.Lit(), "-") && strings.Contains(a.Value.Lit(), "g") {
					return true // declare -g: global
				}
			}
			for _, a := range n.Args {
				if a.Name != nil {
					locals[a.Name.Value] = true
				}
			}
		}
		return true
	})
	return locals
}

// arithmNames calls f with each variable named bare in arithmetic under n.
func arithmNames(n syntax.Node, f func(string)) {
	syntax.Walk(n, func(n syntax.Node) bool {
		if w, ok := n.(*syntax.Word); ok {
			if l := w.Lit(); isName(l) {
				f(l)
			}
		}
		return true
	})
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isName reports whether s is a shell variable name.
func isName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
}

// definedFuncs adds the names of the functions f defines to funcs.
func definedFuncs(f *syntax.File, funcs map[string]bool) {
	syntax.Walk(f, func(n syntax.Node) bool {
		if fn, ok := n.(*syntax.FuncDecl); ok {
			funcs[fn.Name.Value] = true
		}
		return true
	})
}
