package lint

import (
	"fmt"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Role says where a script runs, which decides the tools it may call and the rules
// that apply to it.
type Role int

const (
	// RoleHost is a script run as root on a control-plane host (hosts/<node>/*.sh);
	// it is the stricter role and the default for a script given alone.
	RoleHost Role = iota
	// RoleWorkstation is the coordinator (recover.sh, redeploy.sh) run on a workstation.
	RoleWorkstation
)

func (r Role) String() string {
	if r == RoleWorkstation {
		return "workstation"
	}
	return "host"
}

// ParseRole reads "host" or "workstation".
func ParseRole(s string) (Role, error) {
	switch s {
	case "host":
		return RoleHost, nil
	case "workstation":
		return RoleWorkstation, nil
	}
	return RoleHost, fmt.Errorf("unknown role %q (host or workstation)", s)
}

// RoleFor is the role of a script named by its slash-separated path inside a kit (or
// a directory of kits): recover.sh and redeploy.sh are the coordinator's, except under
// hosts/<node>/; everything else (hosts/<node>/*.sh, or anything unknown) is judged as
// a host script.
func RoleFor(kitPath string) Role {
	parts := strings.Split(kitPath, "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "hosts" {
			return RoleHost
		}
	}
	switch parts[len(parts)-1] {
	case "recover.sh", "redeploy.sh":
		return RoleWorkstation
	}
	return RoleHost
}

// Rule is one check of a parsed script, in the shape of go/analysis's Analyzer.
type Rule struct {
	Name     string
	Doc      string // what the rule wants and why; the first sentence is its summary
	Severity Severity
	Check    func(*Pass)
}

// Pass is one rule looking at one script; the rule reports through it.
type Pass struct {
	*Script
	rule     *Rule
	findings []Finding
}

// Reportf records a finding of the pass's rule at pos.
func (p *Pass) Reportf(pos syntax.Pos, format string, args ...any) {
	line, col := 1, 1
	if pos.IsValid() {
		line, col = int(pos.Line()), int(pos.Col())
	}
	p.findings = append(p.findings, Finding{
		File: p.Name, Template: p.Template, Line: line, Col: col,
		Severity: p.rule.Severity, Message: fmt.Sprintf(format, args...), Rule: p.rule.Name,
	})
}

// Rules are every rule of restorekit's own, in the order they are documented.
var Rules = []*Rule{
	FormatRule,
	StrictModeRule,
	UnquotedExpansionRule,
	NoDeleteRule,
	NoEvalRule,
	NoNetworkFetchRule,
	SiteToolsRule,
	UnboundedWaitRule,
	SSHBatchModeRule,
	ShellCheckDirectiveRule,
	BashVersionRule,
}

// RuleByName returns the rule with the given name, or nil.
func RuleByName(name string) *Rule {
	for _, r := range Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// ParseRuleName is the rule name of parse errors; a parse error stops every other rule.
const ParseRuleName = "parse"

// runRules parses a script and runs the given rules on it.
func runRules(name, template string, role Role, src []byte, rules []*Rule) []Finding {
	s, perr := parseScript(name, template, role, src)
	if perr != nil {
		return []Finding{*perr}
	}
	return runPasses(s, rules)
}

// runPasses runs rules on a parsed script.
func runPasses(s *Script, rules []*Rule) []Finding {
	var out []Finding
	for _, r := range rules {
		p := &Pass{Script: s, rule: r}
		r.Check(p)
		out = append(out, p.findings...)
	}
	return out
}

// SortFindings orders findings by file, line, column and rule.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// AtOrAbove counts the findings at or above a severity.
func AtOrAbove(findings []Finding, threshold Severity) int {
	n := 0
	for _, f := range findings {
		if f.Severity >= threshold {
			n++
		}
	}
	return n
}
