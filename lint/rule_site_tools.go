package lint

import (
	"path"
	"strings"

	"github.com/restorekit/restorekit/render"
)

// SiteToolsRule wants every command a script runs to exist where it runs.
var SiteToolsRule = &Rule{
	Name: "site-tools",
	Doc: `Every command a script runs is a bash builtin, a function the script defines or
sources (or, in a file other scripts source, that every one of them defines), or a
tool the site is known to have where the script runs. Host scripts (RHEL CoreOS):
coreutils 8.22 (the older of the two sites), hostname, crictl, systemctl, journalctl,
sha256sum, tar, gzip, grep, sed, awk, find, xargs, logger, flock, ps, sudo, bash and
ip, and /usr/local/bin/cluster-restore.sh, /usr/local/bin/disable-etcd.sh and /usr/bin/oc (the
recovery host's own oc, steps 16-17 of procedure-4.16.md) by absolute path only (sudo resets PATH). The
workstation (coordinator scripts) has the same plus ssh, scp and oc. /usr/bin/X,
/bin/X, /usr/sbin/X and /sbin/X count as X. Commands run through sudo, env, timeout,
command, xargs and through the script's own pass-through functions ("$@") are checked
too. A command whose name is computed at run time cannot be checked and is reported,
except "$@" in a pass-through function, "${ARR[@]}" when ARR's assignments start with
the same literal command, and "$NAME" when every assignment of NAME is the same
literal (CLUSTER_RESTORE=/usr/local/bin/cluster-restore.sh).`,
	Severity: SeverityError,
	Check:    checkSiteTools,
}

// The host's own programs a script may call, each by the one path render gives it:
// ClusterRestore the restore script; DisableEtcd the script OpenShift 4.18 and later
// install to stop etcd; HostOC the oc of a control-plane host (RHCOS ships it), which the
// 4.16 procedure runs there with the recovery kubeconfig.
var (
	ClusterRestore = render.RealHostPaths().ClusterRestore
	DisableEtcd    = path.Join(render.RealHostPaths().Bin, "disable-etcd.sh")
	HostOC         = render.RealHostPaths().OC
)

var bashBuiltins = words(`. : [ alias bg bind break builtin caller cd command compgen complete
	compopt continue declare dirs disown echo enable eval exec exit export false fc fg
	getopts hash help history jobs kill let local logout mapfile popd printf pushd pwd
	read readarray readonly return set shift shopt source suspend test times trap true
	type typeset ulimit umask unalias unset wait`)

// coreutils are the programs of GNU coreutils 8.22 (RHEL 7, the older site).
var coreutils = words(`arch base64 basename cat chcon chgrp chmod chown chroot cksum comm cp
	csplit cut date dd df dir dircolors dirname du echo env expand expr factor false fmt
	fold groups head hostid id install join kill link ln logname ls md5sum mkdir mkfifo
	mknod mktemp mv nice nl nohup nproc numfmt od paste pathchk pinky pr printenv printf
	ptx pwd readlink realpath rm rmdir runcon seq sha1sum sha224sum sha256sum sha384sum
	sha512sum shred shuf sleep sort split stat stdbuf stty sum sync tac tail tee test
	timeout touch tr true truncate tsort tty uname unexpand uniq unlink users vdir wc who
	whoami yes`)

// HostTools are the commands beyond builtins and coreutils a host script may run.
var HostTools = words(`hostname crictl systemctl journalctl tar gzip gunzip zcat grep egrep
	fgrep sed awk gawk find xargs logger flock setsid ps sudo bash ip ` + ClusterRestore + " " + DisableEtcd)

// WorkstationTools are the commands beyond the host's a coordinator script may run.
var WorkstationTools = words(`ssh scp oc`)

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// allowedTool reports whether a command (by its name as written) may run in a role.
func allowedTool(name string, role Role) bool {
	if name == ClusterRestore || name == DisableEtcd || (name == HostOC && role == RoleHost) {
		return true
	}
	if strings.HasPrefix(name, "/") {
		dir, base := path.Split(name)
		switch dir {
		case "/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/":
			name = base
		default:
			return false
		}
	}
	if bashBuiltins[name] || coreutils[name] || HostTools[name] {
		return true
	}
	return role == RoleWorkstation && WorkstationTools[name]
}

func checkSiteTools(p *Pass) {
	for _, c := range p.Calls {
		name := c.Name
		switch {
		case name == "":
			if isAllArgs(c.NameWord) && insidePassThrough(p.Script, c) {
				continue
			}
			p.Reportf(c.NameWord.Pos(), "command name %s is computed at run time: site-tools cannot check it", p.source(c.NameWord))
		case p.Funcs[name] != nil, p.SourcedFuncs[name] != nil, p.CallerFuncs[name] != nil:
		case path.Base(name) == "cluster-restore.sh" && name != ClusterRestore:
			p.Reportf(c.NameWord.Pos(), "call cluster-restore.sh as %s: sudo resets PATH", ClusterRestore)
		case !allowedTool(name, p.Role):
			p.Reportf(c.NameWord.Pos(), "%s is not a tool a %s has: use builtins, coreutils or the site-tools list (restorekit lint --list-rules)", name, roleSite(p.Role))
		}
	}
}

// insidePassThrough reports whether a "$@" call is inside a function body.
func insidePassThrough(s *Script, c *Call) bool {
	for _, fn := range s.Funcs {
		if within(c.Expr.Pos(), fn) {
			return true
		}
	}
	return false
}

func roleSite(r Role) string {
	if r == RoleWorkstation {
		return "workstation"
	}
	return "control-plane host"
}
