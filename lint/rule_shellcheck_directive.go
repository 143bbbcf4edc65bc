package lint

import (
	"regexp"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// ShellCheckDirectiveRule keeps ShellCheck from being silenced beyond a documented few.
var ShellCheckDirectiveRule = &Rule{
	Name: "shellcheck-directive",
	Doc: `A script silences ShellCheck only for the documented few checks
(lint.ShellCheckDirectives: SC2016 and SC2088 where a remote shell or ssh expands the
text) and says why on the same line: "# shellcheck disable=SC2088 # ssh expands ~".
Any other disable directive, disable=all, or a directive without a reason is a
finding, so "clean under ShellCheck" keeps its meaning.`,
	Severity: SeverityWarning,
	Check:    checkShellCheckDirective,
}

// ShellCheckDirectives are the ShellCheck codes a kit script may disable with an inline
// directive (carrying its reason), each with why it can be a false alarm in a kit.
var ShellCheckDirectives = map[string]string{
	"SC2016": "a command sent to a remote shell (ssh host 'cmd $x') is single-quoted on purpose: the remote shell expands it",
	"SC2088": "ssh expands a leading ~ in -i and UserKnownHostsFile itself, so inventory paths are passed unexpanded",
}

var directive = regexp.MustCompile(`^\s*shellcheck\s+(.*)$`)

func checkShellCheckDirective(p *Pass) {
	syntax.Walk(p.File, func(n syntax.Node) bool {
		c, ok := n.(*syntax.Comment)
		if !ok {
			return true
		}
		m := directive.FindStringSubmatch(c.Text)
		if m == nil {
			return true
		}
		body, reason, _ := strings.Cut(m[1], "#")
		for _, kv := range strings.Fields(body) {
			key, val, _ := strings.Cut(kv, "=")
			if key != "disable" {
				continue
			}
			var bad []string
			for _, code := range strings.Split(val, ",") {
				code = strings.ToUpper(strings.TrimSpace(code))
				if !strings.HasPrefix(code, "SC") && code != "ALL" {
					code = "SC" + code
				}
				if _, ok := ShellCheckDirectives[code]; !ok {
					bad = append(bad, code)
				}
			}
			if len(bad) > 0 {
				p.Reportf(c.Hash, "shellcheck disable=%s silences a check kits must pass (allowed: %s)", strings.Join(bad, ","), allowedDirectives())
			} else if strings.TrimSpace(reason) == "" {
				p.Reportf(c.Hash, "shellcheck disable=%s without a reason: add \"# why\" after it", val)
			}
		}
		return true
	})
}

func allowedDirectives() string {
	var codes []string
	for c := range ShellCheckDirectives {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}
