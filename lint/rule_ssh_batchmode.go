package lint

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// SSHBatchModeRule wants every ssh and scp of the coordinator non-interactive and
// bounded.
var SSHBatchModeRule = &Rule{
	Name: "ssh-batchmode",
	Doc: `Every ssh and scp in a coordinator script passes -o BatchMode=yes (never stop at
a password or host-key prompt in the middle of a recovery) and -o ConnectTimeout=N (an
unreachable host fails instead of hanging). The options may be written on the command
or passed through a variable: an argument "${OPTS[@]}" (or "$OPTS") counts as holding
every option written literally in OPTS's assignments (OPTS=(...), OPTS+=(...),
OPTS="..."), following variables expanded inside those assignments. ssh run as
"${SSH[@]}" counts the options of SSH's assignments the same way. Host scripts are
not checked (site-tools keeps ssh out of them).`,
	Severity: SeverityError,
	Check:    checkSSHBatchMode,
}

var (
	batchModeYes   = regexp.MustCompile(`(?im)(^|[\s-]|-o)BatchMode[= ]\s*yes\b`)
	connectTimeout = regexp.MustCompile(`(?im)(^|[\s-]|-o)ConnectTimeout[= ]\s*\S`)
)

func checkSSHBatchMode(p *Pass) {
	if p.Role != RoleWorkstation {
		return
	}
	for _, c := range p.Calls {
		name := path.Base(c.Name)
		if name != "ssh" && name != "scp" {
			continue
		}
		var texts []string
		texts = append(texts, c.ArrayArgs...)
		if pe := soleParam(c.NameWord); pe != nil {
			texts = append(texts, assignedTexts(p.Script, pe.Param.Value, c.NameWord.Pos(), 0)...)
		}
		for i, a := range c.Args {
			texts = append(texts, wordText(a))
			if a.Lit() == "-o" && i+1 < len(c.Args) {
				texts = append(texts, "-o "+wordText(c.Args[i+1]))
			}
			if pe := soleParam(a); pe != nil {
				texts = append(texts, assignedTexts(p.Script, pe.Param.Value, c.NameWord.Pos(), 0)...)
			}
		}
		all := strings.Join(texts, "\n")
		var missing []string
		if !batchModeYes.MatchString(all) {
			missing = append(missing, "-o BatchMode=yes")
		}
		if !connectTimeout.MatchString(all) {
			missing = append(missing, "-o ConnectTimeout=N")
		}
		if len(missing) > 0 {
			via := ""
			if pe := soleParam(c.NameWord); pe != nil {
				via = fmt.Sprintf(" (run as %s: add them where %s is assigned)", p.source(c.NameWord), pe.Param.Value)
			}
			p.Reportf(c.NameWord.Pos(), "%s without %s%s: it could wait at a prompt or on an unreachable host", name, strings.Join(missing, " and "), via)
		}
	}
}

// assignedTexts are the literal texts of the values assigned to a variable in scope at
// a use (see AssignsAt), following variables expanded in them (a few levels deep).
func assignedTexts(s *Script, name string, at syntax.Pos, depth int) []string {
	if depth > 4 {
		return nil
	}
	var out []string
	add := func(w *syntax.Word) {
		out = append(out, wordText(w))
		syntax.Walk(w, func(n syntax.Node) bool {
			if pe, ok := n.(*syntax.ParamExp); ok && pe.Param != nil && pe.Param.Value != name {
				out = append(out, assignedTexts(s, pe.Param.Value, w.Pos(), depth+1)...)
			}
			return true
		})
	}
	for _, a := range s.AssignsAt(name, at) {
		if a.Value != nil {
			add(a.Value)
		}
		if a.Array != nil {
			elems := a.Array.Elems
			for i, e := range elems {
				if e.Value == nil {
					continue
				}
				add(e.Value)
				if e.Value.Lit() == "-o" && i+1 < len(elems) && elems[i+1].Value != nil {
					out = append(out, "-o "+wordText(elems[i+1].Value))
				}
			}
		}
	}
	return out
}
