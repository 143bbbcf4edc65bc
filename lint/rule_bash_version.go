package lint

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// BashVersionRule keeps scripts within the bash the site has.
var BashVersionRule = &Rule{
	Name: "bash-version",
	Doc: `Scripts use only what the site's bash has: 4.4 on the control-plane hosts (RHEL
CoreOS 4.5) and 4.2 on the coordinator's workstation (RHEL 7). Flagged where the role's
bash is older: ${x@Q} and the other @ transformations (4.4; @U, @u, @L, @K, @k 5.1),
negative array subscripts ${a[-1]} (4.3), namerefs declare/local -n (4.3), wait -n
(4.3), wait -f (5.0), wait -p (5.1), mapfile/readarray -d (4.4), shopt -s
inherit_errexit (4.4), localvar_inherit and assoc_expand_once (5.0), localvar_unset
(5.1), EPOCHSECONDS, EPOCHREALTIME and BASH_ARGV0 (5.0), SRANDOM (5.1), and ${ cmd;} /
${|cmd;} (5.3). Use $(date +%s) for the time.`,
	Severity: SeverityError,
	Check:    checkBashVersion,
}

// bashVersion is a bash release as major*10+minor (44 is 4.4).
type bashVersion int

func (v bashVersion) String() string { return fmt.Sprintf("%d.%d", v/10, v%10) }

// SiteBash is the bash each role's machines run.
var SiteBash = map[Role]bashVersion{RoleHost: 44, RoleWorkstation: 42}

var (
	paramOpVersion = map[string]bashVersion{"Q": 44, "E": 44, "P": 44, "A": 44, "a": 44, "U": 51, "u": 51, "L": 51, "K": 51, "k": 52}
	varVersion     = map[string]bashVersion{"EPOCHSECONDS": 50, "EPOCHREALTIME": 50, "BASH_ARGV0": 50, "SRANDOM": 51}
	shoptVersion   = map[string]bashVersion{"inherit_errexit": 44, "localvar_inherit": 50, "assoc_expand_once": 50, "localvar_unset": 51}
	waitVersion    = map[string]bashVersion{"n": 43, "f": 50, "p": 51}
)

func checkBashVersion(p *Pass) {
	have := SiteBash[p.Role]
	need := func(pos syntax.Pos, v bashVersion, what string) {
		if v > have {
			p.Reportf(pos, "%s needs bash %s; the %s has bash %s", what, v, roleSite(p.Role), have)
		}
	}
	syntax.Walk(p.File, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp:
			if n.Exp != nil && n.Exp.Op == syntax.OtherParamOps && n.Exp.Word != nil {
				op := n.Exp.Word.Lit()
				if v, ok := paramOpVersion[op]; ok {
					need(n.Pos(), v, p.source(n))
				}
			}
			if n.Param != nil {
				if v, ok := varVersion[n.Param.Value]; ok {
					need(n.Pos(), v, n.Param.Value)
				}
			}
			if negativeIndex(n.Index) {
				need(n.Pos(), 43, "a negative array subscript "+p.source(n))
			}
		case *syntax.CmdSubst:
			if n.TempFile || n.ReplyVar {
				need(n.Pos(), 53, shorten(p.source(n)))
			}
		case *syntax.DeclClause:
			if n.Variant.Value == "nameref" {
				need(n.Pos(), 43, "nameref")
			}
			for _, a := range n.Args {
				if a.Naked && a.Name == nil && a.Value != nil {
					if f := a.Value.Lit(); strings.HasPrefix(f, "-") && strings.Contains(f, "n") {
						need(n.Pos(), 43, n.Variant.Value+" -n (a nameref)")
					}
				}
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				break
			}
			name := n.Args[0].Lit()
			for _, a := range n.Args[1:] {
				flag := a.Lit()
				short := strings.HasPrefix(flag, "-") && !strings.HasPrefix(flag, "--")
				switch {
				case name == "wait" && short:
					for _, c := range flag[1:] {
						if v, ok := waitVersion[string(c)]; ok {
							need(n.Pos(), v, "wait -"+string(c))
						}
					}
				case (name == "mapfile" || name == "readarray") && short && strings.Contains(flag, "d"):
					need(n.Pos(), 44, name+" -d")
				case name == "shopt":
					if v, ok := shoptVersion[flag]; ok {
						need(n.Pos(), v, "shopt "+flag)
					}
				}
			}
		}
		return true
	})
}

// negativeIndex reports whether an array subscript is a negative number.
func negativeIndex(x syntax.ArithmExpr) bool {
	switch x := x.(type) {
	case *syntax.UnaryArithm:
		return x.Op == syntax.Minus && !x.Post
	case *syntax.Word:
		return strings.HasPrefix(x.Lit(), "-")
	}
	return false
}
