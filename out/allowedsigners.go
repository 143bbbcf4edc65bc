package out

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigners is an OpenSSH allowed signers file (ssh-keygen(1), ALLOWED SIGNERS):
// who may sign, with which key, for which namespaces and when.
type AllowedSigners struct {
	Name    string // the file, for messages
	Entries []AllowedSigner
}

// AllowedSigner is one line of an allowed signers file.
type AllowedSigner struct {
	Line          int
	Principals    []string // the comma-separated principals field
	CertAuthority bool
	Namespaces    []string // a pattern-list; nil accepts every namespace
	ValidAfter    time.Time
	ValidBefore   time.Time
	Key           ssh.PublicKey
}

// ReadAllowedSigners reads and parses the allowed signers file at path.
func ReadAllowedSigners(path string) (*AllowedSigners, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseAllowedSigners(path, data)
}

// ParseAllowedSigners parses an allowed signers file: per line "principals [options]
// keytype base64 [comment]", blank lines and lines starting with # ignored. The key
// and options are read by x/crypto/ssh's authorized_keys parser; a line it cannot read,
// or an option ssh-keygen does not know, is an error naming name:line.
func ParseAllowedSigners(name string, data []byte) (*AllowedSigners, error) {
	as := &AllowedSigners{Name: name}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		principals, rest, err := cutPrincipals(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: no public key after the principals (want \"principals [options] keytype base64\"): %s", name, n, keyParseReason(err))
		}
		e := AllowedSigner{Line: n, Key: key}
		for _, p := range strings.Split(principals, ",") {
			if p == "" {
				return nil, fmt.Errorf("%s:%d: principals %q: an empty principal", name, n, principals)
			}
			e.Principals = append(e.Principals, p)
		}
		for _, opt := range options {
			if err := e.setOption(opt); err != nil {
				return nil, fmt.Errorf("%s:%d: option %s: %v", name, n, opt, err)
			}
		}
		as.Entries = append(as.Entries, e)
	}
	return as, nil
}

// cutPrincipals splits off the principals field, which may be in double quotes.
func cutPrincipals(line string) (principals, rest string, err error) {
	if line[0] == '"' {
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return "", "", fmt.Errorf("the quoted principals field has no closing quote")
		}
		principals, rest = line[1:end+1], line[end+2:]
	} else {
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return "", "", fmt.Errorf("only one field; want \"principals [options] keytype base64\"")
		}
		principals, rest = line[:i], line[i:]
	}
	if principals == "" {
		return "", "", fmt.Errorf("empty principals field")
	}
	return principals, strings.TrimSpace(rest), nil
}

// setOption applies one option of ssh-keygen's: cert-authority, namespaces="list",
// valid-after="time", valid-before="time" (keywords case-insensitive).
func (e *AllowedSigner) setOption(opt string) error {
	key, value, hasValue := strings.Cut(opt, "=")
	key = strings.ToLower(key)
	if hasValue {
		if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
			return fmt.Errorf("the value must be in double quotes")
		}
		value = strings.ReplaceAll(value[1:len(value)-1], `\"`, `"`)
	}
	switch {
	case key == "cert-authority" && !hasValue:
		e.CertAuthority = true
	case key == "namespaces" && hasValue:
		e.Namespaces = strings.Split(value, ",")
	case (key == "valid-after" || key == "valid-before") && hasValue:
		t, err := parseSignerTime(value)
		if err != nil {
			return err
		}
		if key == "valid-after" {
			e.ValidAfter = t
		} else {
			e.ValidBefore = t
		}
	default:
		return fmt.Errorf("not one ssh-keygen accepts (cert-authority, namespaces=\"...\", valid-after=\"...\", valid-before=\"...\")")
	}
	return nil
}

// parseSignerTime reads YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]: local time unless Z.
func parseSignerTime(s string) (time.Time, error) {
	loc := time.Local
	v := s
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		loc, v = time.UTC, v[:len(v)-1]
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(v) == len(layout) {
			if t, err := time.ParseInLocation(layout, v, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]", s)
}

// accept finds the line that accepts key for namespace at time now, the way ssh-keygen
// -Y verify does for a plain (non-certificate) key. A key no line lists is an unknown
// signer; a listed key whose lines all refuse the namespace or the time is not allowed.
func (as *AllowedSigners) accept(key ssh.PublicKey, namespace string, now time.Time) (*AllowedSigner, error) {
	id := KeyID(key)
	if _, ok := key.(*ssh.Certificate); ok {
		return nil, &SignatureError{Kind: SigUnknownSigner, Detail: fmt.Sprintf("made with an SSH certificate (%s); restorekit verify checks plain keys only (ssh-keygen -Y verify checks certificates)", id)}
	}
	want := key.Marshal()
	var refusals []string
	for i := range as.Entries {
		e := &as.Entries[i]
		if e.CertAuthority || !bytes.Equal(e.Key.Marshal(), want) {
			continue
		}
		switch {
		case e.Namespaces != nil && !matchPatternList(namespace, e.Namespaces):
			refusals = append(refusals, fmt.Sprintf("line %d allows it only for namespaces %q", e.Line, strings.Join(e.Namespaces, ",")))
		case !e.ValidAfter.IsZero() && now.Before(e.ValidAfter):
			refusals = append(refusals, fmt.Sprintf("line %d allows it only from %s", e.Line, e.ValidAfter.Format(time.RFC3339)))
		case !e.ValidBefore.IsZero() && now.After(e.ValidBefore):
			refusals = append(refusals, fmt.Sprintf("line %d allowed it only until %s", e.Line, e.ValidBefore.Format(time.RFC3339)))
		default:
			return e, nil
		}
	}
	if len(refusals) > 0 {
		return nil, &SignatureError{Kind: SigNotAllowed, Detail: fmt.Sprintf("made with %s, which %s lists but not for namespace %q now: %s", id, as.Name, namespace, strings.Join(refusals, "; "))}
	}
	return nil, &SignatureError{Kind: SigUnknownSigner, Detail: fmt.Sprintf("made with %s, which %s does not list", id, as.Name)}
}

// matchPatternList is OpenSSH's pattern-list match (ssh_config(5) PATTERNS): s must
// match one pattern and no negated (!) one.
func matchPatternList(s string, patterns []string) bool {
	matched := false
	for _, p := range patterns {
		if neg := strings.HasPrefix(p, "!"); neg {
			if matchPattern(s, p[1:]) {
				return false
			}
		} else if matchPattern(s, p) {
			matched = true
		}
	}
	return matched
}

// matchPattern matches s against a pattern where * is any run of characters and ? any
// one character, as OpenSSH's match_pattern does.
func matchPattern(s, p string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if matchPattern(s[i:], p[1:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
	return s == ""
}
