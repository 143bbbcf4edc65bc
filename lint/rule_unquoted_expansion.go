package lint

import (
	"mvdan.cc/sh/v3/syntax"
)

// UnquotedExpansionRule wants parameter expansions and command substitutions in a
// command's arguments double-quoted.
var UnquotedExpansionRule = &Rule{
	Name: "unquoted-expansion",
	Doc: `Parameter expansions and command substitutions in a command's arguments are
double-quoted: unquoted, a value with a space or a glob character turns into other
arguments (a path with a space moves the wrong file). Arithmetic $((...)), the numeric
specials $#, $?, $$, $!, $RANDOM, $LINENO, $SECONDS, $BASHPID, $PPID, $UID,
$EUID and lengths ${#x} are fine unquoted; words inside [[ ]] and
the values of assignments are not split by bash and are fine too.`,
	Severity: SeverityWarning,
	Check:    checkUnquotedExpansion,
}

// safeSpecials are the parameters bash sets to a plain number.
var safeSpecials = map[string]bool{"#": true, "?": true, "$": true, "!": true,
	"RANDOM": true, "LINENO": true, "SECONDS": true, "BASHPID": true, "PPID": true, "UID": true, "EUID": true}

func checkUnquotedExpansion(p *Pass) {
	syntax.Walk(p.File, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		for _, w := range call.Args {
			for _, part := range w.Parts {
				switch part := part.(type) {
				case *syntax.ParamExp:
					if part.Length || (part.Param != nil && safeSpecials[part.Param.Value] && part.Exp == nil && part.Index == nil) {
						continue
					}
					p.Reportf(part.Pos(), "unquoted expansion %s in the arguments of %s: double-quote it", p.source(part), commandLabel(call))
				case *syntax.CmdSubst:
					p.Reportf(part.Pos(), "unquoted command substitution %s in the arguments of %s: double-quote it", shorten(p.source(part)), commandLabel(call))
				}
			}
		}
		return true
	})
}

// commandLabel names a simple command for a message.
func commandLabel(call *syntax.CallExpr) string {
	if name := call.Args[0].Lit(); name != "" {
		return name
	}
	return "a computed command"
}

// shorten cuts long source text for a message.
func shorten(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
