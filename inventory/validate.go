package inventory

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/restorekit/restorekit/backup"
)

// checker validates a decoded inventory against the rules a recovery kit relies on.
type checker struct {
	*decoder
	inv      *Inventory
	opts     LoadOptions
	warnings []Problem
	dirShown string // backup.localDir as messages show it
	// snapshot is what was read inside the snapshot (LoadOptions.ReadBackup), when it
	// could be read without a problem.
	snapshot *backup.Snapshot
}

func (c *checker) errorf(field, format string, args ...any) {
	c.addAt(c.pos(field), field, format, args...)
}

func (c *checker) warnf(field, format string, args ...any) {
	n := c.pos(field)
	c.warnings = append(c.warnings, Problem{File: c.file, Line: n.Line, Col: n.Column, Field: field, Message: fmt.Sprintf(format, args...), Warning: true})
}

// ok reports whether a field was written and decoded without a problem.
func (c *checker) ok(field string) bool { return c.has(field) && !c.bad[field] }

// missing reports whether a required field is absent (and not already reported as bad).
func (c *checker) missing(field string) bool { return !c.has(field) && !c.bad[field] }

func (c *checker) check() {
	inv := c.inv
	if c.bad[""] {
		return // the document is not a mapping: nothing else can be said
	}
	switch {
	case c.missing("apiVersion"):
		c.errorf("apiVersion", "missing (apiVersion: %s)", APIVersion)
	case c.ok("apiVersion") && inv.APIVersion != APIVersion:
		c.errorf("apiVersion", "%q is not supported (apiVersion: %s)", inv.APIVersion, APIVersion)
	}
	switch {
	case c.missing("kind"):
		c.errorf("kind", "missing (kind: %s)", Kind)
	case c.ok("kind") && inv.Kind != Kind:
		c.errorf("kind", "%q is not supported (kind: %s)", inv.Kind, Kind)
	}
	c.checkCluster()
	c.checkMasters()
	c.checkRecoveryHost()
	c.checkSSH("ssh", &inv.SSH)
	c.checkSSHFiles()
	c.checkExampleHosts()
	c.checkProxy()
	c.checkTimeouts()
	c.checkAbsDir("quarantineDir", &inv.QuarantineDir)
	c.checkAbsDir("backup.remoteDir", &inv.Backup.RemoteDir)
	c.checkBackup()
}

var (
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	versionRe    = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	userRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)
	hostLabel    = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$`)
	allDigits    = regexp.MustCompile(`^[0-9]+$`)
)

// IsRelease reports whether s is a full x.y.z OpenShift release, as cluster.version
// must be.
func IsRelease(s string) bool { return versionRe.MatchString(s) }

// IsNodeName reports whether s can be a Kubernetes node name, as masters[].name must be.
func IsNodeName(s string) bool { return isDNS1123Subdomain(s) }

// IsHostName reports whether s is a host name hostname(1) can print, as
// masters[].hostname must be.
func IsHostName(s string) bool { return isDNSName(s) }

// IsClusterName reports whether s can be cluster.name (a DNS-1123 label).
func IsClusterName(s string) bool { return isDNS1123Label(s) }

func isDNS1123Label(s string) bool { return len(s) <= 63 && dns1123Label.MatchString(s) }

// isDNS1123Subdomain is the rule for Kubernetes node names.
func isDNS1123Subdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNS1123Label(l) {
			return false
		}
	}
	return true
}

// isDNSName accepts a host name as ssh and hostname(1) see it: dot-separated labels of
// letters, digits and '-', whose last label is not all digits (that would be a broken IPv4).
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if len(l) > 63 || !hostLabel.MatchString(l) {
			return false
		}
	}
	return !allDigits.MatchString(labels[len(labels)-1])
}

func isIP(s string) bool { return net.ParseIP(s) != nil }

func (c *checker) checkCluster() {
	cl := c.inv.Cluster
	switch {
	case c.missing("cluster.name"):
		c.errorf("cluster.name", "missing (a DNS-1123 label such as ocp4; it names the kit)")
	case c.ok("cluster.name") && !isDNS1123Label(cl.Name):
		c.errorf("cluster.name", "%q is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", cl.Name)
	}
	switch {
	case c.missing("cluster.version"):
		c.errorf("cluster.version", "missing (the OpenShift release the backup was taken on, x.y.z such as 4.5.2)")
	case c.ok("cluster.version") && !versionRe.MatchString(cl.Version):
		c.errorf("cluster.version", "%q is not a full x.y.z release (such as 4.5.2: a backup restores only onto its own z-stream)", cl.Version)
	}
	if c.ok("cluster.networkType") && cl.NetworkType != NetworkOVNKubernetes && cl.NetworkType != NetworkOpenShiftSDN {
		c.errorf("cluster.networkType", "%q is not a network type (%s or %s, as oc get network.config cluster -o jsonpath='{.status.networkType}' prints it)", cl.NetworkType, NetworkOVNKubernetes, NetworkOpenShiftSDN)
	}
	if c.ok("cluster.networkType") && c.ok("cluster.version") && cl.NetworkType == NetworkOpenShiftSDN {
		if minor, ok := minorOf(cl.Version); ok && minor > LastOpenShiftSDNMinor {
			c.errorf("cluster.networkType", "%s does not exist in OpenShift %s (it was removed after 4.%d: a 4.%d cluster runs %s)", NetworkOpenShiftSDN, cl.Version, LastOpenShiftSDNMinor, minor, NetworkOVNKubernetes)
		}
	}
	if c.ok("cluster.topology") && !slices.Contains(Topologies, cl.Topology) {
		c.errorf("cluster.topology", "%q is not a control-plane topology (%s, as oc get infrastructure cluster -o jsonpath='{.status.controlPlaneTopology}' prints it)", cl.Topology, strings.Join(Topologies, ", "))
	}
	c.checkVIPs()
}

// LastOpenShiftSDNMinor is the last 4.y with OpenShift SDN: a cluster must migrate to
// OVN-Kubernetes before it updates to 4.17.
const LastOpenShiftSDNMinor = 16

// minorOf is y of a 4.y.z release.
func minorOf(version string) (int, bool) {
	m := versionRe.FindStringSubmatch(version)
	if m == nil || m[1] != "4" {
		return 0, false
	}
	y, err := strconv.Atoi(m[2])
	return y, err == nil
}

// checkVIPs checks the VIPs keepalived holds: IP addresses (keepalived moves addresses,
// not names), at most one per family as the infrastructure allows, none held twice,
// both lists or neither, and none a node's own address (removing it at step 4.k would
// cut the node off).
func (c *checker) checkVIPs() {
	cl := c.inv.Cluster
	seen := map[string]string{}
	for _, l := range []struct {
		field string
		ips   IPs
	}{{"cluster.apiVIPs", cl.APIVIPs}, {"cluster.ingressVIPs", cl.IngressVIPs}} {
		if !c.ok(l.field) {
			continue
		}
		families := map[bool]string{}
		for i, ip := range l.ips {
			f := fmt.Sprintf("%s[%d]", l.field, i)
			if !c.ok(f) {
				continue
			}
			parsed := net.ParseIP(ip)
			if parsed == nil {
				c.errorf(f, "%q is not an IP address (a VIP such as 192.0.2.5 or 2001:db8::5, as oc get infrastructure cluster lists it under status.platformStatus)", ip)
				continue
			}
			key := parsed.String()
			if first, dup := seen[key]; dup {
				c.errorf(f, "duplicate of %s (the API and the ingress VIPs are distinct addresses)", first)
				continue
			}
			seen[key] = f
			v4 := parsed.To4() != nil
			if first, two := families[v4]; two {
				c.errorf(f, "a second %s VIP after %s (at most one IPv4 and one IPv6 address, as the infrastructure allows)", map[bool]string{true: "IPv4", false: "IPv6"}[v4], first)
				continue
			}
			families[v4] = f
		}
	}
	switch api, ingress := len(cl.APIVIPs) > 0, len(cl.IngressVIPs) > 0; {
	case api && !ingress && !c.bad["cluster.ingressVIPs"]:
		c.errorf("cluster.apiVIPs", "given without cluster.ingressVIPs (keepalived holds both: list the ingress VIPs too, from status.platformStatus.<platform>.ingressIPs)")
	case ingress && !api && !c.bad["cluster.apiVIPs"]:
		c.errorf("cluster.ingressVIPs", "given without cluster.apiVIPs (keepalived holds both: list the API VIPs too, from status.platformStatus.<platform>.apiServerInternalIPs)")
	}
	if len(seen) == 0 {
		return
	}
	for _, list := range []struct {
		name  string
		hosts []Master
	}{{"masters", c.inv.Masters}, {"workers", c.inv.Workers}} {
		for i, m := range list.hosts {
			p := fmt.Sprintf("%s[%d].address", list.name, i)
			if ip := net.ParseIP(m.Address); ip != nil && c.ok(p) {
				if vip, is := seen[ip.String()]; is {
					c.errorf(p, "%s is the VIP %s (ssh needs the node's own address, which stays when keepalived moves the VIP)", m.Address, vip)
				}
			}
		}
	}
}

func (c *checker) checkMasters() {
	ms := c.inv.Masters
	names := map[string]string{}
	addrs := map[string]string{}
	switch {
	case c.bad["masters"]:
	case c.missing("masters"):
		c.errorf("masters", "missing (a list of the control-plane hosts, each with name and address)")
	case len(ms) == 0:
		c.errorf("masters", "0 listed (every control-plane host, each with name and address)")
	case len(ms) > 1 && c.inv.Cluster.Topology == TopologySingleReplica:
		c.errorf("masters", "%d listed, but cluster.topology is %s (single-node OpenShift has one control-plane host)", len(ms), TopologySingleReplica)
		c.checkHosts("masters", ms, names, addrs)
	case len(ms) == 1 && c.inv.Cluster.Topology == TopologyHighlyAvailable:
		c.errorf("masters", "1 listed, but cluster.topology is %s (3 or more control-plane hosts; one is %s)", TopologyHighlyAvailable, TopologySingleReplica)
		c.checkHosts("masters", ms, names, addrs)
	default:
		if len(ms)%2 == 0 {
			c.warnf("masters", "%d masters: an even number tolerates no more failed members than %d would (etcd quorum is %d of %d)", len(ms), len(ms)-1, len(ms)/2+1, len(ms))
		}
		c.checkHosts("masters", ms, names, addrs)
	}
	if !c.bad["workers"] {
		c.checkHosts("workers", c.inv.Workers, names, addrs)
	}
}

// checkHosts checks the hosts of masters or workers; names and addrs hold the fields
// already seen (in masters, for workers), since no two nodes share a name or address.
func (c *checker) checkHosts(list string, hosts []Master, names, addrs map[string]string) {
	what := map[string]string{"masters": "master", "workers": "worker"}[list]
	for i, m := range hosts {
		p := fmt.Sprintf("%s[%d]", list, i)
		if c.bad[p] {
			continue
		}
		switch {
		case c.missing(p + ".name"):
			c.errorf(p+".name", "missing (the node name, as oc get nodes shows it)")
		case !c.ok(p + ".name"):
		case !isDNS1123Subdomain(m.Name):
			c.errorf(p+".name", "%q is not a node name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', as oc get nodes shows it)", m.Name)
		default:
			if first, dup := names[m.Name]; dup {
				c.errorf(p+".name", "duplicate of %s.name (each node once, in masters or in workers)", first)
			} else {
				names[m.Name] = p
			}
		}
		switch {
		case c.missing(p + ".address"):
			c.errorf(p+".address", "missing (the IP address or DNS name ssh connects to)")
		case !c.ok(p + ".address"):
		case !isIP(m.Address) && !isDNSName(m.Address):
			c.errorf(p+".address", "%q is not an IP address or DNS name (such as 10.0.143.125 or %s-0.example.com; user and port go in ssh)", m.Address, what)
		default:
			key := strings.ToLower(m.Address)
			if first, dup := addrs[key]; dup {
				c.errorf(p+".address", "duplicate of %s.address (each node has its own address)", first)
			} else {
				addrs[key] = p
			}
		}
		if c.ok(p+".hostname") && !isDNSName(m.Hostname) {
			c.errorf(p+".hostname", "%q is not a host name (what hostname prints on the %s: letters, digits, '-' and '.')", m.Hostname, what)
		}
		if m.SSH != nil {
			c.checkSSH(p+".ssh", m.SSH)
		}
	}
}

func (c *checker) masterNames() string {
	var names []string
	for _, m := range c.inv.Masters {
		if m.Name != "" {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return "the name of one of the masters"
	}
	return "one of " + strings.Join(names, ", ")
}

func (c *checker) checkRecoveryHost() {
	switch {
	case c.missing("recoveryHost"):
		c.errorf("recoveryHost", "missing (the master to restore on: %s)", c.masterNames())
	case !c.ok("recoveryHost") || !c.ok("masters"):
	default:
		for i := range c.inv.Masters {
			if p := fmt.Sprintf("masters[%d]", i); c.bad[p] || c.bad[p+".name"] {
				return // the master it names may be the one written wrong
			}
		}
		for _, m := range c.inv.Masters {
			if m.Name == c.inv.RecoveryHost {
				return
			}
		}
		if c.inv.IsWorker(c.inv.RecoveryHost) {
			c.errorf("recoveryHost", "%q is a worker (the recovery host is a control-plane host: %s)", c.inv.RecoveryHost, c.masterNames())
			return
		}
		c.errorf("recoveryHost", "%q names no master (%s)", c.inv.RecoveryHost, c.masterNames())
	}
}

// checkPort reports a port outside 1-65535 (0 written out is as wrong as 70000).
func (c *checker) checkPort(field string, port int) {
	if c.ok(field) && (port < 1 || port > 65535) {
		c.errorf(field, "%d is out of range (1-65535)", port)
	}
}

func (c *checker) checkSSH(prefix string, s *SSH) {
	if c.ok(prefix+".user") && !userRe.MatchString(s.User) {
		c.errorf(prefix+".user", "%q is not a user name (letters, digits, '_', '.' and '-', starting with a letter or '_', at most 32 characters)", s.User)
	}
	c.checkPort(prefix+".port", s.Port)
	if c.ok(prefix + ".jumpHost") {
		if why := jumpHostProblem(s.JumpHost); why != "" {
			c.errorf(prefix+".jumpHost", "%q: %s ([user@]host[:port], such as admin@bastion.example.com:22)", s.JumpHost, why)
		}
	}
	for _, f := range []struct{ field, value string }{{"identityFile", s.IdentityFile}, {"knownHostsFile", s.KnownHostsFile}} {
		field := prefix + "." + f.field
		switch {
		case !c.ok(field):
		case f.value == "":
			c.errorf(field, "empty (a file path, or leave the field out)")
		case strings.HasPrefix(f.value, "~") && !sshPathOK(f.value):
			c.errorf(field, "%q: only ~/ is taken for a home directory, that of the user running recover.sh (write ~/..., or the absolute path)", f.value)
		case !sshPathOK(f.value):
			// Not resolved against the inventory's directory: the kit runs on another
			// machine, from another directory, and a path that depends on where the
			// inventory was would make kits differ between checkouts.
			c.errorf(field, "%q is a relative path, which ssh would look up in whatever directory recover.sh is started from (write it absolute, or under ~/ such as %s: ssh expands ~ on the machine running recover.sh)", f.value, "~/"+path.Clean(f.value))
		}
	}
	if field := prefix + ".strictHostKeyChecking"; c.ok(field) {
		switch s.StrictHostKeyChecking {
		case "yes":
		case "accept-new":
			c.warnf(field, "accept-new needs OpenSSH 7.6 or newer on the machine running recover.sh (RHEL 7 ships 7.4; yes with a knownHostsFile works everywhere)")
		case "no":
			c.warnf(field, "host keys are not checked: anyone on the network path can pose as a master (yes with a knownHostsFile is safer)")
		default:
			c.errorf(field, "%q is not a choice (yes, accept-new or no)", s.StrictHostKeyChecking)
		}
	}
	c.checkDuration(prefix+".connectTimeout", s.ConnectTimeout, time.Second, 5*time.Minute)
}

// jumpHostProblem says what is wrong with a [user@]host[:port] jump host, or "".
func jumpHostProblem(s string) string {
	if strings.Contains(s, ",") {
		return "one jump host only (for a chain of hops, name the last one here and the others in ~/.ssh/config)"
	}
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		if user := rest[:i]; !userRe.MatchString(user) {
			return fmt.Sprintf("%q is not a user name", user)
		}
		rest = rest[i+1:]
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "unclosed ["
		}
		host = rest[1:end]
		switch after := rest[end+1:]; {
		case after == "":
		case strings.HasPrefix(after, ":"):
			port = after[1:]
		default:
			return fmt.Sprintf("unexpected %q after ]", after)
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return fmt.Sprintf("%q in [] is not an IPv6 address", host)
		}
	} else {
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i+1:]
		}
		if host == "" {
			return "no host"
		}
		if !isIP(host) && !isDNSName(host) {
			return fmt.Sprintf("%q is not an IP address or DNS name", host)
		}
	}
	if port != "" || strings.HasSuffix(rest, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || !allDigits.MatchString(port) {
			return fmt.Sprintf("port %q is not a number in 1-65535", port)
		}
	}
	return ""
}

func (c *checker) checkProxy() {
	p := c.inv.Proxy
	if p == nil {
		return
	}
	for _, f := range []struct{ field, value string }{{"proxy.httpProxy", p.HTTPProxy}, {"proxy.httpsProxy", p.HTTPSProxy}} {
		if !c.ok(f.field) || f.value == "" {
			continue
		}
		u, err := url.Parse(f.value)
		switch {
		case err != nil || !strings.Contains(f.value, "://"):
			c.errorf(f.field, "%q has no scheme (a URL such as http://proxy.example.com:3128)", f.value)
		case u.Scheme != "http" && u.Scheme != "https":
			c.errorf(f.field, "%q: scheme %q is not supported (http:// or https://)", f.value, u.Scheme)
		case u.Hostname() == "":
			c.errorf(f.field, "%q has no host (a URL such as http://proxy.example.com:3128)", f.value)
		}
	}
	if c.ok("proxy.noProxy") && p.NoProxy != "" {
		for i, e := range strings.Split(p.NoProxy, ",") {
			switch {
			case e == "":
				c.errorf("proxy.noProxy", "entry %d is empty (comma-separated host names, domains, IP addresses or CIDRs)", i+1)
			case strings.ContainsAny(e, " \t"):
				c.errorf("proxy.noProxy", "entry %q contains a space (comma-separated, no spaces)", e)
			}
		}
	}
}

// timeoutBounds are the sane limits of each timeout: a wait shorter than the minimum
// cannot succeed on a real cluster, one longer than the maximum is a typo.
var timeoutBounds = []struct {
	field    string
	get      func(*Timeouts) Duration
	min, max time.Duration
}{
	{"staticPodStop", func(t *Timeouts) Duration { return t.StaticPodStop }, 30 * time.Second, 24 * time.Hour},
	{"restore", func(t *Timeouts) Duration { return t.Restore }, 30 * time.Second, 24 * time.Hour},
	{"kubeletRestart", func(t *Timeouts) Duration { return t.KubeletRestart }, 30 * time.Second, 24 * time.Hour},
	{"singleMember", func(t *Timeouts) Duration { return t.SingleMember }, 30 * time.Second, 24 * time.Hour},
	{"etcdRollout", func(t *Timeouts) Duration { return t.EtcdRollout }, 30 * time.Second, 24 * time.Hour},
	{"kubeAPIServerRollout", func(t *Timeouts) Duration { return t.KubeAPIServerRollout }, 30 * time.Second, 24 * time.Hour},
	{"kubeControllerManagerRollout", func(t *Timeouts) Duration { return t.KubeControllerManagerRollout }, 30 * time.Second, 24 * time.Hour},
	{"kubeSchedulerRollout", func(t *Timeouts) Duration { return t.KubeSchedulerRollout }, 30 * time.Second, 24 * time.Hour},
	{"stableCluster", func(t *Timeouts) Duration { return t.StableCluster }, 30 * time.Second, 24 * time.Hour},
	{"minimumStablePeriod", func(t *Timeouts) Duration { return t.MinimumStablePeriod }, time.Second, 24 * time.Hour},
	{"pollInterval", func(t *Timeouts) Duration { return t.PollInterval }, time.Second, 5 * time.Minute},
}

func (c *checker) checkTimeouts() {
	for _, b := range timeoutBounds {
		c.checkDuration("timeouts."+b.field, b.get(&c.inv.Timeouts), b.min, b.max)
	}
}

func (c *checker) checkDuration(field string, d Duration, min, max time.Duration) {
	if !c.ok(field) {
		return
	}
	written := c.values[field].Value
	switch v := time.Duration(d); {
	case v < min:
		c.errorf(field, "%s is below the minimum (%s to %s)", written, fmtDur(min), fmtDur(max))
	case v > max:
		c.errorf(field, "%s is above the maximum (%s to %s)", written, fmtDur(min), fmtDur(max))
	}
}

// fmtDur prints a bound the way a person would write it (24h, not 24h0m0s).
func fmtDur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// checkAbsDir requires an absolute directory on the masters and cleans it.
func (c *checker) checkAbsDir(field string, dir *string) {
	if !c.ok(field) {
		return
	}
	switch {
	case !strings.HasPrefix(*dir, "/"):
		c.errorf(field, "%q is not an absolute path (a directory on the masters such as /var/tmp)", *dir)
	case path.Clean(*dir) == "/":
		c.errorf(field, "%q is the root directory (a directory below /, such as /var/tmp)", *dir)
	default:
		*dir = path.Clean(*dir)
		if field == "quarantineDir" && (*dir == "/tmp" || strings.HasPrefix(*dir, "/tmp/")) {
			c.warnf(field, "%q is on /tmp, a tmpfs on RHEL CoreOS: the etcd data set aside would be copied into memory and lost at the next reboot, with the run logs and the records re-runs rely on (the default %s is on the filesystem of /var/lib/etcd)", *dir, DefaultQuarantineDir)
		}
	}
}
