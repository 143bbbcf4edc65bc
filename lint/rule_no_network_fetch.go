package lint

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// NoNetworkFetchRule forbids downloading anything: the site is air-gapped.
var NoNetworkFetchRule = &Rule{
	Name: "no-network-fetch",
	Doc: `Scripts download and install nothing: the site has no internet. Flagged are
download and raw-socket tools (curl, wget, nc, ncat, netcat, socat, ftp, tftp, lftp,
telnet, aria2c), package installers (yum, dnf, rpm-ostree, apt, apt-get, pip, pip3,
npm), image pulls (crictl pull, podman pull, docker pull), git clone/fetch/pull, and
bash's /dev/tcp and /dev/udp redirections. ssh and scp to the inventory's hosts are
not fetches; which tools may run at all is the site-tools rule's concern.`,
	Severity: SeverityError,
	Check:    checkNoNetworkFetch,
}

var fetchTools = map[string]string{
	"curl": "downloads", "wget": "downloads", "aria2c": "downloads",
	"nc": "opens network connections", "ncat": "opens network connections", "netcat": "opens network connections",
	"socat": "opens network connections", "telnet": "opens network connections",
	"ftp": "downloads", "tftp": "downloads", "lftp": "downloads",
	"yum": "installs packages", "dnf": "installs packages", "rpm-ostree": "installs packages",
	"apt": "installs packages", "apt-get": "installs packages", "pip": "installs packages",
	"pip3": "installs packages", "npm": "installs packages",
}

// fetchSubcommands are tools that fetch only with some subcommands.
var fetchSubcommands = map[string][]string{
	"crictl": {"pull"}, "podman": {"pull"}, "docker": {"pull"}, "git": {"clone", "fetch", "pull"},
}

func checkNoNetworkFetch(p *Pass) {
	for _, c := range p.Calls {
		name := path.Base(c.Name)
		if what, ok := fetchTools[name]; ok {
			p.Reportf(c.NameWord.Pos(), "%s %s: the site is air-gapped; ship what is needed in the kit", name, what)
			continue
		}
		if subs, ok := fetchSubcommands[name]; ok {
			for _, a := range c.Args {
				lit := a.Lit()
				if strings.HasPrefix(lit, "-") {
					continue
				}
				for _, s := range subs {
					if lit == s {
						p.Reportf(c.NameWord.Pos(), "%s %s fetches over the network: the site is air-gapped", name, s)
					}
				}
				break
			}
		}
	}
	syntax.Walk(p.File, func(n syntax.Node) bool {
		if r, ok := n.(*syntax.Redirect); ok && r.Word != nil {
			if t := wordText(r.Word); strings.HasPrefix(t, "/dev/tcp/") || strings.HasPrefix(t, "/dev/udp/") {
				p.Reportf(r.OpPos, "redirection to %s opens a network connection: the site is air-gapped", p.source(r.Word))
			}
		}
		return true
	})
}
