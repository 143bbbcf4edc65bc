package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sshPathOK reports whether a file path means the same wherever recover.sh is started:
// absolute, or under ~/ (which ssh expands itself on the machine it runs on).
func sshPathOK(p string) bool { return strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~/") }

// localPath is an ssh file path as it resolves on this machine (~/ is $HOME).
func localPath(p string) (string, bool) {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		return filepath.Join(home, rest), true
	}
	return p, true
}

// publicKeyPrefixes start the one line of an OpenSSH public key file.
var publicKeyPrefixes = []string{"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-sha2-"}

// checkSSHFiles looks for the identity and known_hosts files on this machine. What it
// finds are warnings, not errors: the kit may be built on another machine than the
// one recover.sh runs on. Offline (re-rendering a kit) nothing is looked at.
func (c *checker) checkSSHFiles() {
	if c.opts.Offline {
		return
	}
	sections := []struct {
		prefix string
		s      *SSH
	}{{"ssh", &c.inv.SSH}}
	for i := range c.inv.Masters {
		if s := c.inv.Masters[i].SSH; s != nil {
			sections = append(sections, struct {
				prefix string
				s      *SSH
			}{fmt.Sprintf("masters[%d].ssh", i), s})
		}
	}
	for _, sec := range sections {
		field := sec.prefix + ".identityFile"
		if c.ok(field) && sshPathOK(sec.s.IdentityFile) {
			c.checkIdentityFile(field, sec.s.IdentityFile)
		}
	}
	c.checkKnownHostsFiles()
}

func (c *checker) checkIdentityFile(field, p string) {
	if strings.HasSuffix(p, ".pub") {
		c.warnf(field, "%s is a public key: ssh -i takes the private key (%s)", p, strings.TrimSuffix(p, ".pub"))
		return
	}
	local, ok := localPath(p)
	if !ok {
		return
	}
	fi, err := os.Stat(local)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.warnf(field, "%s does not exist on this machine (ssh -i needs the private key on the machine that runs recover.sh; fine if that is another one)", p)
		return
	case err != nil:
		c.warnf(field, "%s cannot be checked: %s", p, osMessage(err))
		return
	case fi.IsDir():
		c.warnf(field, "%s is a directory (ssh -i takes the private key file)", p)
		return
	}
	f, err := os.Open(local)
	if err != nil {
		c.warnf(field, "%s cannot be read: %s (ssh -i must be able to read it)", p, osMessage(err))
		return
	}
	defer f.Close()
	head := make([]byte, 32)
	n, _ := io.ReadFull(f, head)
	for _, prefix := range publicKeyPrefixes {
		if bytes.HasPrefix(head[:n], []byte(prefix)) {
			c.warnf(field, "%s holds a public key (it reads like a .pub file): ssh -i takes the private key", p)
			return
		}
	}
}

// checkKnownHostsFiles warns about a knownHostsFile that does not exist although some
// master is reached with strictHostKeyChecking yes through it: ssh would refuse it.
func (c *checker) checkKnownHostsFiles() {
	type use struct {
		file  string
		ports map[int][]string // port -> addresses of the masters reached through it
		jump  bool             // some of them only through a jump host
	}
	uses := map[string]*use{} // field -> what it is used for
	for i, m := range c.inv.Masters {
		p := fmt.Sprintf("masters[%d]", i)
		if c.bad[p] || !c.ok(p+".address") {
			continue
		}
		field := "ssh.knownHostsFile"
		if m.SSH != nil && m.SSH.KnownHostsFile != "" {
			field = p + ".ssh.knownHostsFile"
		}
		s := c.inv.EffectiveSSH(m)
		if !c.ok(field) || !sshPathOK(s.KnownHostsFile) {
			continue
		}
		if s.StrictHostKeyChecking != "" && s.StrictHostKeyChecking != "yes" {
			continue
		}
		port := s.Port
		if port == 0 {
			port = DefaultSSHPort
		}
		u := uses[field]
		if u == nil {
			u = &use{file: s.KnownHostsFile, ports: map[int][]string{}}
			uses[field] = u
		}
		u.ports[port] = append(u.ports[port], m.Address)
		u.jump = u.jump || s.JumpHost != ""
	}
	for field, u := range uses {
		local, ok := localPath(u.file)
		if !ok {
			continue
		}
		if _, err := os.Stat(local); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var ports []int
		for port := range u.ports {
			ports = append(ports, port)
		}
		sort.Ints(ports)
		var scans []string
		for _, port := range ports {
			scans = append(scans, "ssh-keyscan -p "+strconv.Itoa(port)+" "+strings.Join(u.ports[port], " ")+" >> "+u.file)
		}
		where := ""
		if u.jump {
			where = " (run it on the jump host, which reaches the masters, and bring the lines here)"
		}
		c.warnf(field, "%s does not exist, and with strictHostKeyChecking yes ssh refuses every master not in it: fill it with %s%s, then compare ssh-keygen -lf %s with each master's fingerprints, obtained out of band (from its console); fine if recover.sh runs on another machine that has it",
			u.file, strings.Join(scans, "; "), where, u.file)
	}
}
