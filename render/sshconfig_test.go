package render

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// sshRules names the way an OpenSSH release splits an ssh_config line into words.
type sshRules string

const (
	// openSSH74 is readconf.c/misc.c of V_7_4_P1: strdelim for every word.
	openSSH74 sshRules = "OpenSSH 7.4"
	// openSSHCurrent is readconf.c/misc.c of current releases: strdelim for the
	// keyword, argv_split (with comments) for the arguments.
	openSSHCurrent sshRules = "current OpenSSH"
)

type sshLine struct {
	key  string
	args []string
}

const sshWhitespace = " \t\r\n"

// strdelim74 is misc.c strdelim of 7.4: a word ends at a blank, a quote or '='; a
// quote starts a word that runs to the next quote, without escapes.
func strdelim74(s string) (word, rest string, ok bool) {
	i := strings.IndexAny(s, sshWhitespace+`"=`)
	if i < 0 {
		return s, "", true
	}
	if s[i] == '"' {
		s = s[:i] + s[i+1:]
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return "", "", false
		}
		word, rest = s[:i+j], s[i+j+1:]
		return word, strings.TrimLeft(rest, sshWhitespace), true
	}
	word, rest = s[:i], s[i+1:]
	wasEq := s[i] == '='
	rest = strings.TrimLeft(rest, sshWhitespace)
	if !wasEq && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], sshWhitespace)
	}
	return word, rest, true
}

// argvSplit is misc.c argv_split of current releases with terminate_on_comment.
func argvSplit(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			continue
		}
		if s[i] == '#' {
			break
		}
		var arg []byte
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')):
				i++
				arg = append(arg, s[i])
			case quote == 0 && (c == ' ' || c == '\t'):
				goto done
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case quote != 0 && c == quote:
				quote = 0
			default:
				arg = append(arg, c)
			}
		}
		if quote != 0 {
			return nil, errors.New("unterminated quote")
		}
	done:
		out = append(out, string(arg))
	}
	return out, nil
}

// readSSHConfig splits an ssh_config into directives as rules says.
func readSSHConfig(text string, rules sshRules) ([]sshLine, error) {
	var out []sshLine
	for n, line := range strings.Split(text, "\n") {
		s := strings.TrimRight(line, sshWhitespace)
		s = strings.TrimLeft(s, sshWhitespace)
		if s == "" || s[0] == '#' {
			continue
		}
		key, rest, ok := strdelim74(s)
		if !ok {
			return nil, errors.New("unterminated quote in a keyword")
		}
		l := sshLine{key: key}
		switch rules {
		case openSSH74:
			for rest != "" {
				var w string
				if w, rest, ok = strdelim74(rest); !ok {
					return nil, errors.New("line " + itoa(n+1) + ": no closing quote")
				}
				l.args = append(l.args, w)
			}
		default:
			args, err := argvSplit(rest)
			if err != nil {
				return nil, errors.New("line " + itoa(n+1) + ": " + err.Error())
			}
			l.args = args
		}
		out = append(out, l)
	}
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every value SSHConfigValue writes reads back the same under both releases' rules;
// what it refuses is what one of them would read otherwise or expand.
func TestSSHConfigValue(t *testing.T) {
	for _, v := range []string{"core", "10.0.0.1", "fe80::1", "~/.ssh/id_ed25519", "/k/a b", "/k/a=b", "/k/#x", "/k/it's",
		"admin@[fe80::1]:2222", "/k/日本", "/k/$HOME", "/k/'$(id)'", "/k/a\u00a0b"} {
		q, err := SSHConfigValue(v)
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		for _, rules := range []sshRules{openSSH74, openSSHCurrent} {
			lines, err := readSSHConfig("IdentityFile "+q+"\n", rules)
			if err != nil || len(lines) != 1 || len(lines[0].args) != 1 || lines[0].args[0] != v {
				t.Errorf("%q written as %s: %s reads %+v (%v)", v, q, rules, lines, err)
			}
		}
	}
	for v, why := range map[string]string{
		"":           "empty",
		"none":       "keyword",
		`/k/"x`:      "7.4 has no escapes",
		`/k/a\b`:     "7.4 has no escapes",
		"/k/%h":      "token",
		"/k/${HOME}": "environment variable",
		"/k/a\nb":    "control character",
		"/k/a\rb":    "control character",
		"/k/\tx":     "control character",
	} {
		if q, err := SSHConfigValue(v); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: got %q, %v; want a refusal saying %q", v, q, err, why)
		}
	}
}

// The profile check names the field whose value the ssh_config cannot hold.
func TestCheckRefusesWhatSSHConfigCannotHold(t *testing.T) {
	inv := fuzzInventory()
	inv.SSH.KnownHostsFile = "/k/%h"
	inv.Masters[2].SSH.IdentityFile = `/id/"x"`
	var got []string
	for _, p := range Check(inv) {
		got = append(got, p.Field+": "+p.Message)
	}
	want := []string{"ssh.knownHostsFile: \"/k/%h\" cannot go into the kit's ssh_config: a % is a token",
		"masters[2].ssh.identityFile: \"/id/\\\"x\\\"\" cannot go into the kit's ssh_config: a \" or \\"}
	if len(got) != len(want) {
		t.Fatalf("problems %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %q, want it to start with %q", got[i], want[i])
		}
	}
}

// JumpParts takes apart what jumpHost validation accepts.
func TestJumpParts(t *testing.T) {
	for in, want := range map[string][3]string{
		"bastion":                  {"", "bastion", ""},
		"admin@bastion.example:22": {"admin", "bastion.example", "22"},
		"[fe80::1]:2222":           {"", "fe80::1", "2222"},
		"a@[fe80::1]":              {"a", "fe80::1", ""},
		"fe80::1":                  {"", "fe80::1", ""},
	} {
		u, h, p := JumpParts(in)
		if [3]string{u, h, p} != want {
			t.Errorf("JumpParts(%q) = %q %q %q, want %q", in, u, h, p, want)
		}
	}
}
