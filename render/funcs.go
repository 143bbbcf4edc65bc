package render

import (
	"fmt"
	"strconv"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/inventory"
)

// FuncMap is what templates can call: sprig's hermetic functions, without its quoting
// functions (not shell-safe) or anything that reads the environment, plus shq.
func FuncMap() template.FuncMap {
	fm := sprig.HermeticTxtFuncMap()
	for _, name := range []string{"quote", "squote", "env", "expandenv", "getHostByName",
		"randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "randInt", "uuidv4",
		"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
		"genSignedCert", "genSignedCertWithKey", "derivePassword", "bcrypt", "htpasswd"} {
		delete(fm, name)
	}
	fm["shq"] = ShellQuote
	return fm
}

// ShellQuote is the one way an inventory value reaches a script: it returns a bash word
// that expands to exactly the value, and fails (so rendering fails) rather than guess
// when no such word exists (a NUL byte).
func ShellQuote(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		s = strconv.FormatBool(x)
	case inventory.Duration:
		s = strconv.FormatInt(x.Seconds(), 10)
	case fmt.Stringer:
		s = x.String()
	default:
		return "", fmt.Errorf("shq: cannot quote a %T", v)
	}
	q, err := syntax.Quote(s, syntax.LangBash)
	if err != nil {
		return "", fmt.Errorf("shq: %w", err)
	}
	return q, nil
}
