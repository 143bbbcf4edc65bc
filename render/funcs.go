package render

import (
	"fmt"
	"strconv"
	"strings"
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
	fm["shwords"] = shellWords
	fm["ident"] = identifier
	fm["sshq"] = SSHConfigValue
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

// shellWords quotes each element of a list with ShellQuote and joins them with spaces,
// for bash arrays: NAMES=({{ shwords .List }}).
func shellWords(list any) (string, error) {
	var items []any
	switch l := list.(type) {
	case []string:
		for _, s := range l {
			items = append(items, s)
		}
	case []any:
		items = l
	default:
		return "", fmt.Errorf("shwords: cannot quote a %T", list)
	}
	words := make([]string, 0, len(items))
	for _, it := range items {
		q, err := ShellQuote(it)
		if err != nil {
			return "", fmt.Errorf("shwords: %w", err)
		}
		words = append(words, q)
	}
	return strings.Join(words, " "), nil
}

// identifier turns a name from the procedure profile ("kube-apiserver-pod.yaml") into
// a part of a bash function name ("kube_apiserver_pod_yaml"). It refuses anything but
// letters, digits, '-', '_' and '.', so no inventory value can become a name.
func identifier(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("ident: empty name")
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c == '-' || c == '.':
			b[i] = '_'
		default:
			return "", fmt.Errorf("ident: %q: only letters, digits, '-', '_' and '.' can be part of a function name", s)
		}
	}
	return string(b), nil
}
