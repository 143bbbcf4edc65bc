package lint

import (
	"bytes"
	"fmt"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/render"
)

// FormatRule wants every script in the canonical form render.Format prints.
var FormatRule = &Rule{
	Name: "format",
	Doc: `Scripts are in canonical form (bash, two-space indent, as render.Format prints them).
Kits are rendered in that form, so a difference means the script was edited by hand
or produced by something else; the finding shows the first line that differs.`,
	Severity: SeverityWarning,
	Check:    checkFormat,
}

func checkFormat(p *Pass) {
	// What render.Format prints, from the tree already parsed by the same parser.
	var buf bytes.Buffer
	if err := render.NewPrinter().Print(&buf, p.File); err != nil {
		p.Reportf(syntax.Pos{}, "cannot print the script in canonical form: %v", err)
		return
	}
	want := buf.Bytes()
	if bytes.Equal(want, p.Src) {
		return
	}
	got, exp := bytes.Split(p.Src, []byte("\n")), bytes.Split(want, []byte("\n"))
	if len(p.Src) > 0 && bytes.Equal(append(p.Src[:len(p.Src):len(p.Src)], '\n'), want) {
		p.Reportf(syntax.NewPos(0, uint(len(got)), 1), "not in canonical form: no newline at the end of line %d, the last", len(got))
		return
	}
	for i := 0; ; i++ {
		switch {
		case i >= len(got) && i >= len(exp):
			return
		case i >= len(got):
			p.Reportf(syntax.NewPos(0, uint(i+1), 1), "not in canonical form: missing line %d, want %q", i+1, exp[i])
			return
		case i >= len(exp):
			p.Reportf(syntax.NewPos(0, uint(i+1), 1), "not in canonical form: line %d is %q, want no more lines", i+1, got[i])
			return
		case !bytes.Equal(got[i], exp[i]):
			p.Reportf(syntax.NewPos(0, uint(i+1), 1), "not in canonical form: line %d is %s, want %s", i+1, quoteLine(got[i]), quoteLine(exp[i]))
			return
		}
	}
}

// quoteLine quotes a line for a message, shortened when long.
func quoteLine(b []byte) string {
	const max = 80
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
