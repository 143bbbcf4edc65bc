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

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "info":
		return SeverityInfo, nil
	case "warning":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	}
	return SeverityInfo, fmt.Errorf("unknown severity %q (info, warning or error)", s)
}

// MarshalText writes the severity by name, as JSON output shows it.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity by name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Finding is one problem at a position in a file.
type Finding struct {
	File     string   `json:"file"` // path as given or as named in the kit; never empty
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Rule     string   `json:"rule"` // rule name, or SC1234 for ShellCheck
	// Template is the template the file was rendered from, when known, and
	// TemplateLine the line of it (possibly of a partial) the finding's line came from,
	// when that could be told.
	Template     string `json:"template,omitempty"`
	TemplateLine int    `json:"templateLine,omitempty"`
}

// Location is where the finding is, as people read it: the file, and the template it
// was rendered from when known ("hosts/m0/restore.sh (from hosts/restore.sh.tmpl)",
// "hosts/m0/restore.sh (from _host-lib.tmpl:42)").
func (f Finding) Location() string {
	if f.Template != "" && f.TemplateLine > 0 {
		return fmt.Sprintf("%s (from %s:%d)", f.File, f.Template, f.TemplateLine)
	}
	if f.Template != "" {
		return fmt.Sprintf("%s (from %s)", f.File, f.Template)
	}
	return f.File
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s (%s)", f.Location(), f.Line, f.Col, f.Severity, f.Message, f.Rule)
}
