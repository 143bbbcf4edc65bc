package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/restorekit/restorekit/inventory"
)

// The kit's ssh_config is read by OpenSSH 7.4 (RHEL 7) as well as by current releases,
// which split a line differently (openssh-portable readconf.c with misc.c): 7.4's
// strdelim ends a word at blanks or '=' and takes "..." with no escapes, while
// argv_split (8.7 on) also takes '...' and turns \\, \" and \' into one character;
// IdentityFile and, from 8.4, UserKnownHostsFile expand %-tokens and ${VAR}; "none"
// switches IdentityFile and ProxyJump off. SSHConfigValue writes a value so that both
// read it back unchanged, and refuses what cannot be written that way.

// sshConfigPlain are the characters a value may hold without quotes: none of them
// splits, quotes, escapes or expands in either parser.
const sshConfigPlain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/~@:[],+"

// SSHConfigValue returns v as one ssh_config argument, in double quotes unless it is
// plain, or an error saying why ssh_config cannot hold it.
func SSHConfigValue(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int:
		s = fmt.Sprint(x)
	case inventory.Duration:
		s = fmt.Sprint(x.Seconds())
	default:
		return "", fmt.Errorf("sshq: cannot write a %T", v)
	}
	if why := sshConfigProblem(s); why != "" {
		return "", fmt.Errorf("sshq: %q: %s", s, why)
	}
	if strings.Trim(s, sshConfigPlain) == "" {
		return s, nil
	}
	return `"` + s + `"`, nil
}

// sshConfigProblem says why s cannot be an ssh_config value read the same by every
// OpenSSH from 7.4 on, or "".
func sshConfigProblem(s string) string {
	switch {
	case s == "":
		return "empty (an empty argument is a syntax error)"
	case strings.EqualFold(s, "none"):
		return `"none" is a keyword there (no identity, no jump host)`
	case strings.ContainsAny(s, `"\`):
		return `a " or \ cannot be written so that OpenSSH 7.4 and later read the same (7.4 has no escapes)`
	case strings.Contains(s, "%"):
		return "a % is a token there (%h, %u, ...) in some releases and not in others"
	case strings.Contains(s, "${"):
		return "${ expands an environment variable there (OpenSSH 8.4 and later)"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("control character %q ends or splits the line", r)
		}
	}
	return ""
}

// SSHConfigProblems lists the inventory's ssh values that the kit's ssh_config
// (one Host block per master) cannot hold, each at the field that sets it.
func SSHConfigProblems(inv *inventory.Inventory) []inventory.Problem {
	var out []inventory.Problem
	seen := map[string]bool{}
	type host struct {
		list string
		i    int
		m    inventory.Master
	}
	var hosts []host
	for i, m := range inv.Masters {
		hosts = append(hosts, host{"masters", i, m})
	}
	// The workers are in ssh_config too when a step runs on every node.
	for i, m := range inv.Workers {
		hosts = append(hosts, host{"workers", i, m})
	}
	for _, h := range hosts {
		m := h.m
		s := inv.EffectiveSSH(m)
		for _, f := range []struct{ name, value string }{
			{"address", m.Address},
			{"ssh.user", s.User},
			{"ssh.identityFile", s.IdentityFile},
			{"ssh.knownHostsFile", s.KnownHostsFile},
			{"ssh.jumpHost", s.JumpHost},
		} {
			if f.value == "" {
				continue
			}
			why := sshConfigProblem(f.value)
			if why == "" {
				continue
			}
			field := fmt.Sprintf("%s[%d].%s", h.list, h.i, f.name)
			if f.name != "address" && !masterSets(m, f.name) {
				field = f.name
			}
			if seen[field] {
				continue
			}
			seen[field] = true
			out = append(out, inv.ProblemAt(field, false, "%q cannot go into the kit's ssh_config: %s", f.value, why))
		}
	}
	return out
}

// masterSets reports whether master m sets the ssh field itself.
func masterSets(m inventory.Master, field string) bool {
	if m.SSH == nil {
		return false
	}
	switch field {
	case "ssh.user":
		return m.SSH.User != ""
	case "ssh.identityFile":
		return m.SSH.IdentityFile != ""
	case "ssh.knownHostsFile":
		return m.SSH.KnownHostsFile != ""
	case "ssh.jumpHost":
		return m.SSH.JumpHost != ""
	}
	return false
}

// JumpParts splits a [user@]host[:port] jump host (as validated) into its parts, the
// host without brackets and the port "" when not given, for the preflight that tests
// the jump host alone.
func JumpParts(jump string) (user, host, port string) {
	rest := jump
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end >= 0 {
			host, rest = rest[1:end], rest[end+1:]
			return user, host, strings.TrimPrefix(rest, ":")
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && strings.Count(rest, ":") == 1 {
		return user, rest[:i], rest[i+1:]
	}
	return user, rest, ""
}

// Jump is a host's jump host in parts (all "" without one).
type Jump struct{ User, Host, Port string }

// Jump is the host's jump host in parts.
func (h *Host) Jump() Jump {
	if h.SSH.JumpHost == "" {
		return Jump{}
	}
	u, host, p := JumpParts(h.SSH.JumpHost)
	return Jump{User: u, Host: host, Port: p}
}

// JumpHosts are the distinct jump hosts of the plan's hosts, in inventory order, each
// with the connect timeout of the first host behind it: preflight tests them alone
// before any master.
func (p *Plan) JumpHosts() []JumpHost {
	var out []JumpHost
	for _, h := range p.Hosts {
		if h.SSH.JumpHost == "" || slices.ContainsFunc(out, func(j JumpHost) bool { return j.Spec == h.SSH.JumpHost }) {
			continue
		}
		out = append(out, JumpHost{Jump: h.Jump(), Spec: h.SSH.JumpHost, ConnectTimeout: h.SSH.ConnectTimeout})
	}
	return out
}

// JumpHost is a jump host as the coordinator tests it.
type JumpHost struct {
	Jump
	Spec           string // as the inventory writes it: [user@]host[:port]
	ConnectTimeout inventory.Duration
}
