package lint

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// NoDeleteRule keeps host scripts from deleting or overwriting anything outside their
// own run directory.
var NoDeleteRule = &Rule{
	Name: "no-delete",
	Doc: `Host scripts move what they take out of service into their run directory; they
never delete or overwrite: rm, unlink, shred, truncate, find -delete, dd of=, tee and
output redirections (>, >|, >>, &>) are only allowed on paths inside the run directory.

A script declares its run directory in a variable named RUN_DIR or run_dir; a path is
inside it when it starts with that variable's expansion ("$RUN_DIR/run.log",
"${run_dir}/x") and has no ".." in it. A variable whose assignment starts with such a
path counts as inside too (LOG="$RUN_DIR/run.log" makes >>"$LOG" fine), and so do
variables derived from those. A variable assigned only $(mktemp ...) names a scratch
file or directory of the script's own and counts too. /dev/null, /dev/stdout,
/dev/stderr, /dev/tty and /dev/fd/N are always fine. The run directory itself is
never removed (rm "$RUN_DIR"): it holds everything the script moved. Coordinator
scripts are not checked: they change nothing on the hosts themselves.`,
	Severity: SeverityError,
	Check:    checkNoDelete,
}

// runDirVars are the variable names that declare a script's run directory.
var runDirVars = []string{"RUN_DIR", "run_dir"}

// harmlessTargets are files writing to which destroys nothing.
var harmlessTargets = map[string]bool{"/dev/null": true, "/dev/stdout": true, "/dev/stderr": true, "/dev/tty": true}

func checkNoDelete(p *Pass) {
	if p.Role != RoleHost {
		return
	}
	inRun := runDirNames(p.Script)
	for _, c := range p.Calls {
		name := path.Base(c.Name)
		switch name {
		case "rm", "unlink", "shred", "truncate", "tee":
			for _, a := range operands(c.Args, name) {
				if pe := soleParam(a); name == "rm" && pe != nil && isRunDirVar(pe.Param.Value) {
					p.Reportf(c.NameWord.Pos(), "rm deletes the run directory %s itself, and everything moved into it", p.source(a))
					continue
				}
				if !insideRunDir(a, inRun) {
					verb := map[string]string{"rm": "deletes", "unlink": "deletes", "shred": "destroys", "truncate": "truncates", "tee": "overwrites"}[name]
					if name == "tee" && hasFlag(c.Args, "a", "append") {
						verb = "appends to"
					}
					p.Reportf(c.NameWord.Pos(), "%s %s %s, outside the run directory: move it into \"$RUN_DIR\" instead", name, verb, p.source(a))
				}
			}
		case "find":
			for _, a := range c.Args {
				if a.Lit() == "-delete" {
					p.Reportf(a.Pos(), "find -delete deletes files: move them into \"$RUN_DIR\" instead")
				}
			}
		case "dd":
			for _, a := range c.Args {
				if len(a.Parts) == 0 {
					continue
				}
				lit, ok := a.Parts[0].(*syntax.Lit)
				if !ok || !strings.HasPrefix(lit.Value, "of=") {
					continue
				}
				target := &syntax.Word{Parts: append([]syntax.WordPart{&syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: strings.TrimPrefix(lit.Value, "of=")}}, a.Parts[1:]...)}
				if strings.TrimPrefix(lit.Value, "of=") == "" {
					target.Parts = a.Parts[1:]
				}
				if len(target.Parts) == 0 || !insideRunDir(target, inRun) {
					p.Reportf(a.Pos(), "dd %s overwrites a file outside the run directory", p.source(a))
				}
			}
		}
	}
	syntax.Walk(p.File, func(n syntax.Node) bool {
		r, ok := n.(*syntax.Redirect)
		if !ok || r.Word == nil {
			return true
		}
		var verb string
		switch r.Op {
		case syntax.RdrOut, syntax.RdrClob, syntax.RdrAll:
			verb = "overwrites"
		case syntax.AppOut, syntax.AppAll:
			verb = "appends to"
		case syntax.RdrInOut:
			verb = "opens for writing"
		default:
			return true
		}
		if !insideRunDir(r.Word, inRun) {
			p.Reportf(r.OpPos, "redirection %s %s, outside the run directory: write inside \"$RUN_DIR\"", verb, p.source(r.Word))
		}
		return true
	})
}

// operands are the non-option arguments of a command (everything after "--" too).
func operands(args []*syntax.Word, name string) []*syntax.Word {
	var out []*syntax.Word
	dashdash := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		lit := a.Lit()
		switch {
		case dashdash:
			out = append(out, a)
		case lit == "--":
			dashdash = true
		case strings.HasPrefix(lit, "-") && len(lit) > 1:
			if name == "truncate" && (lit == "-s" || lit == "-r") {
				i++ // truncate -s SIZE, -r RFILE
			}
		default:
			out = append(out, a)
		}
	}
	return out
}

// hasFlag reports whether args hold the short flag (alone or in a group) or --long.
func hasFlag(args []*syntax.Word, short, long string) bool {
	for _, a := range args {
		lit := a.Lit()
		if lit == "--"+long || (strings.HasPrefix(lit, "-") && !strings.HasPrefix(lit, "--") && strings.Contains(lit[1:], short)) {
			return true
		}
	}
	return false
}

// runDirNames are the variables naming the run directory or a path inside it.
func runDirNames(s *Script) map[string]bool {
	names := map[string]bool{}
	for _, n := range runDirVars {
		names[n] = true
	}
	for changed := true; changed; {
		changed = false
		for name, as := range s.Assigns {
			if names[name] {
				continue
			}
			// Every assignment must put a path inside the run directory; declarations
			// without a value (local out) and empty values (LOG_FILE="") are neutral:
			// writing to an empty name fails without touching anything.
			all, some := true, false
			for _, a := range as {
				switch {
				case a.Array != nil:
					all = false
				case a.Value == nil:
				case isEmptyWord(a.Value):
				case insideRunDir(a.Value, names), isMktemp(a.Value):
					some = true
				default:
					all = false
				}
			}
			all = all && some
			if all {
				names[name], changed = true, true
			}
		}
	}
	return names
}

// insideRunDir reports whether a word names a path inside the run directory (or a
// harmless device).
func insideRunDir(w *syntax.Word, inRun map[string]bool) bool {
	if len(w.Parts) == 1 {
		if _, ok := w.Parts[0].(*syntax.ProcSubst); ok {
			return true // >(tee ...): the process is judged as a command of its own
		}
	}
	text := wordText(w)
	if harmlessTargets[text] || (strings.HasPrefix(text, "/dev/fd/") && w.Lit() != "") {
		return true
	}
	if strings.Contains(text, "..") {
		return false
	}
	parts := w.Parts
	if len(parts) == 0 {
		return false
	}
	if dq, ok := parts[0].(*syntax.DblQuoted); ok {
		parts = dq.Parts
		if len(parts) == 0 {
			return false
		}
	}
	pe, ok := parts[0].(*syntax.ParamExp)
	if !ok || pe.Param == nil || pe.Excl || pe.Length || pe.Index != nil || pe.Repl != nil || pe.Slice != nil {
		return false
	}
	if pe.Exp != nil && pe.Exp.Op != syntax.ErrorUnsetOrNull && pe.Exp.Op != syntax.ErrorUnset {
		return false // ${RUN_DIR:-/} could be anything
	}
	return inRun[pe.Param.Value]
}

// isEmptyWord reports whether a word is the empty string, quoted or not.
func isEmptyWord(w *syntax.Word) bool {
	v, ok := literal(w)
	return ok && v == ""
}

// isMktemp reports whether a word is exactly $(mktemp ...): a new file or directory
// the script made for itself, which it may write and remove.
func isMktemp(w *syntax.Word) bool {
	parts := w.Parts
	if len(parts) == 1 {
		if dq, ok := parts[0].(*syntax.DblQuoted); ok {
			parts = dq.Parts
		}
	}
	if len(parts) != 1 {
		return false
	}
	cs, ok := parts[0].(*syntax.CmdSubst)
	if !ok || len(cs.Stmts) != 1 {
		return false
	}
	call, ok := cs.Stmts[0].Cmd.(*syntax.CallExpr)
	return ok && len(call.Args) > 0 && call.Args[0].Lit() == "mktemp"
}

func isRunDirVar(name string) bool {
	for _, n := range runDirVars {
		if n == name {
			return true
		}
	}
	return false
}
