package render

import (
	"bytes"

	"mvdan.cc/sh/v3/syntax"
)

// NewParser is the parser every stage uses for kit scripts: bash, comments kept.
func NewParser() *syntax.Parser {
	return syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true))
}

// NewPrinter prints scripts in the kit's canonical form: bash, two-space indent.
func NewPrinter() *syntax.Printer { return syntax.NewPrinter(syntax.Indent(2)) }

// Format parses a script and prints it in canonical form; name is used in parse errors.
func Format(name string, src []byte) ([]byte, error) {
	f, err := NewParser().Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := NewPrinter().Print(&buf, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
