package lint

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// StrictModeRule wants a bash shebang and set -euo pipefail as the first statement.
var StrictModeRule = &Rule{
	Name: "strict-mode",
	Doc: `Scripts start with a bash shebang (#!/bin/bash or #!/usr/bin/env bash) and run
set -euo pipefail as their first statement, so a failing step stops the script instead
of carrying on against a half-changed host. Equivalent spellings (set -e -u -o
pipefail, set -o errexit -o nounset -o pipefail) are accepted. A library, which scripts
source and nobody runs (lib/host.sh), starts with "# shellcheck shell=bash" instead.`,
	Severity: SeverityError,
	Check:    checkStrictMode,
}

// libraryMarker is the first line of a library: ShellCheck's way of naming the shell of
// a file that has no shebang because it is sourced, not run.
const libraryMarker = "# shellcheck shell=bash"

func checkStrictMode(p *Pass) {
	first, _, _ := strings.Cut(string(p.Src), "\n")
	if first == libraryMarker {
		// A library runs in the shell of the script that sources it, under that
		// script's strict mode.
		return
	}
	switch {
	case !strings.HasPrefix(first, "#!"):
		p.Reportf(syntax.NewPos(0, 1, 1), "missing shebang: start with #!/usr/bin/env bash")
	case !isBashShebang(first):
		p.Reportf(syntax.NewPos(0, 1, 1), "shebang %q does not run bash: use #!/usr/bin/env bash", first)
	}
	if len(p.File.Stmts) == 0 {
		p.Reportf(syntax.NewPos(0, 1, 1), "no set -euo pipefail: the script has no statements")
		return
	}
	st := p.File.Stmts[0]
	if missing := strictMissing(st); missing != "" {
		p.Reportf(st.Pos(), "first statement is not set -euo pipefail (%s): every script stops on the first error", missing)
	}
}

func isBashShebang(line string) bool {
	f := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(f) == 0 {
		return false
	}
	if f[0] == "/usr/bin/env" {
		return len(f) >= 2 && f[1] == "bash"
	}
	return f[0] == "/bin/bash" || f[0] == "/usr/bin/bash"
}

// strictMissing says what the statement lacks of set -euo pipefail ("" if nothing).
func strictMissing(st *syntax.Stmt) string {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 || call.Args[0].Lit() != "set" || st.Negated || st.Background {
		return "it does not call set"
	}
	have := map[string]bool{}
	args := call.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i].Lit()
		switch {
		case a == "-o" && i+1 < len(args):
			i++
			have[args[i].Lit()] = true
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--"):
			flags := a[1:]
			if strings.HasSuffix(flags, "o") && i+1 < len(args) {
				flags = flags[:len(flags)-1]
				i++
				have[args[i].Lit()] = true
			}
			for _, c := range flags {
				switch c {
				case 'e':
					have["errexit"] = true
				case 'u':
					have["nounset"] = true
				}
			}
		}
	}
	var missing []string
	for _, o := range []string{"errexit", "nounset", "pipefail"} {
		if !have[o] {
			missing = append(missing, o)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "missing " + strings.Join(missing, ", ")
}
