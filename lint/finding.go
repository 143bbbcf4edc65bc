// Package lint judges a kit's scripts: parse errors, canonical form, safety and
// portability rules of its own, and ShellCheck where installed.
package lint

import "fmt"

// Severity orders findings; a threshold fails a run at or above it.
type Severity int

const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	default:
		return "info"
	}
}

// Finding is one problem at a position in a file.
type Finding struct {
	File     string // path as given or as named in the kit; never empty
	Line     int
	Col      int
	Severity Severity
	Message  string
	Rule     string // rule name, or SC1234 for ShellCheck
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s (%s)", f.File, f.Line, f.Col, f.Severity, f.Message, f.Rule)
}
