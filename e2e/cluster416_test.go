package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The 4.16 model (ClusterConfig.Version 4.16.z or 4.17.z), from the release-4.16 and
// release-4.17 branches of openshift/cluster-etcd-operator (bindata/etcd/pod.yaml,
// restore-pod.yaml, cluster-restore.sh, etcd-common-tools: the same on both) and the
// procedure page procedure-4.16.md:
//
//   - Masters: the four static pods with the 4.16 container names (etcd: etcdctl etcd
//     etcd-metrics etcd-readyz; the restore pod: etcd), guard pods and the operators'
//     containers beside them; a kubelet that picks up manifests by itself;
//     testdata/fakes/cluster-restore-4.16.sh, which stops KAS, KCM and KS itself.
//   - Keepalived (Sim416Config.Keepalived): a keepalived static pod
//     (/etc/kubernetes/manifests/keepalived.yaml, containers keepalived and
//     keepalived-monitor) on every master, and the API and ingress VIPs, modelled in
//     state by testdata/fakes/ip and sim416.bash (the hosts share the machine's network
//     namespace, so a dummy device would be every host's at once): the API VIP starts
//     on the first other master, the ingress VIP on the first worker (the last master
//     without workers), so that step 4.k has VIPs to delete.
//   - Workers (Sim416Config.Workers) are simulated hosts with their own sshd, kubelet
//     and Open vSwitch units; every node has /var/lib/kubelet/pki/*.pem and OVN
//     databases in /var/lib/ovn-ic/etc/*.db.
//   - Reboots: `systemctl reboot`, `reboot` and `shutdown -r` end every session of the
//     host (the watcher started by setUp416 kills its processes and sshd), the host's
//     /tmp is emptied (tmpfs), its pods start again, and sshd comes back RebootDelay
//     later, or never (SetFault416(h, NeverBootsAgain)).
//   - The API (oc416_test.go): nodes, CSRs, the OVN-Kubernetes pods, the network and
//     infrastructure configs; the rest (availability, rollouts, patches) is the 4.5
//     model's.

// Sim416Config is what a 4.16 or 4.17 simulated cluster has beyond the masters.
type Sim416Config struct {
	// Workers is the number of worker nodes, each a simulated host.
	Workers int
	// Keepalived makes the cluster an on-premise installer-provisioned one: keepalived
	// static pods on the masters and the VIPs below.
	Keepalived bool
	// APIVIP and IngressVIP are the VIPs (defaults 192.0.2.5 and 192.0.2.4).
	APIVIP, IngressVIP string
	// NetworkType is OVNKubernetes (the default) or OpenShiftSDN (4.16 only).
	NetworkType string
	// RotatedCerts are nodes whose kubelet certificates rotated after the backup: after
	// the restore they stay NotReady until their PEM files leave /var/lib/kubelet/pki,
	// their kubelet restarts, and the client CSR it then files is approved.
	RotatedCerts []string
	// StuckTerminating is a node whose ovnkube-node pod, once deleted, stays
	// Terminating until the node itself is deleted (procedure step 14.d).
	StuckTerminating string
	// ForeignCSR is a pending CSR for a node that is not the cluster's (default on):
	// approving it is the mistake the kit must not make.
	NoForeignCSR bool
	// RebootDelay is how long a rebooted host stays unreachable (default 2s).
	RebootDelay time.Duration
}

// The VIPs' defaults: documentation addresses, never a host's.
const (
	defaultAPIVIP     = "192.0.2.5"
	defaultIngressVIP = "192.0.2.4"
)

// ForeignCSRName is the pending CSR of a node outside the cluster.
const ForeignCSRName = "csr-foreign-7x2kq"

// ForeignNode is the node name the foreign CSR asks for.
const ForeignNode = "intruder.example.test"

// Is416 says whether the cluster runs the 4.16 model (4.16.z or 4.17.z).
func (c *Cluster) Is416() bool { m := releaseMinor(c.Config.Version); return m == 16 || m == 17 }

// sim416 is the cluster-level 4.16 configuration the fake oc reads
// (<workstation>/sim416.json, beside sim.json).
type sim416 struct {
	Workers          []simHost `json:"workers"`
	Keepalived       bool      `json:"keepalived"`
	APIVIP           string    `json:"apiVIP"`
	IngressVIP       string    `json:"ingressVIP"`
	NetworkType      string    `json:"networkType"`
	RotatedCerts     []string  `json:"rotatedCerts"`
	StuckTerminating string    `json:"stuckTerminating"`
	ForeignCSR       bool      `json:"foreignCSR"`
	Shared           string    `json:"shared"`
}

// shared416 is the cluster-wide state the hosts' fakes share: beside the cluster's
// directory (which only root may enter), open to the ssh user, whose unprivileged `ip`
// lets keepalived take a VIP.
func (c *Cluster) shared416() string { return c.Dir + "-shared" }

// defaults416 fills Sim416Config's defaults.
func (c *Cluster) defaults416() {
	v := &c.Config.V416
	if v.APIVIP == "" {
		v.APIVIP = defaultAPIVIP
	}
	if v.IngressVIP == "" {
		v.IngressVIP = defaultIngressVIP
	}
	if v.NetworkType == "" {
		v.NetworkType = "OVNKubernetes"
	}
	if v.RebootDelay == 0 {
		v.RebootDelay = 2 * time.Second
	}
}

// hostConfig416 is what a 4.16 host's fakes read beyond the 4.5 settings.
func (c *Cluster) hostConfig416(h *Host) string {
	role := "master"
	guards := 1
	for _, w := range c.Workers {
		if w == h {
			role, guards = "worker", 0
		}
	}
	if c.Config.Masters == 1 {
		guards = 0
	}
	return fmt.Sprintf("SIM_KUBELET_WATCH=1\nSIM_GUARDS=%d\nSIM_ROLE=%s\nSIM_ADDR=%s\nSIM_SHARED=%s\n",
		guards, role, h.Addr, c.shared416())
}

// populate416 writes what every 4.16 node holds beyond a 4.5 master: the fakes of
// ip, reboot and shutdown, the kubelet's PEM files, the OVN databases and, on a
// master of a keepalived cluster, keepalived.yaml.
func (c *Cluster) populate416(h *Host, master bool) {
	t := c.t
	fakes := filepath.Join("testdata", "fakes")
	install := func(src, dst string) {
		writeFile(t, filepath.Join(h.Root, dst), readFile(t, filepath.Join(fakes, src)), 0o755)
	}
	// ip is /usr/sbin/ip on RHCOS, on core's PATH with or without sudo; here the fake
	// must come first on both PATHs (Debian's ssh PATH lacks /usr/local/sbin).
	install("ip", "usr/local/sbin/ip")
	install("ip", "usr/local/bin/ip")
	install("reboot", "usr/local/sbin/reboot")
	install("reboot", "usr/local/sbin/shutdown")
	install("sim416.bash", "usr/local/sbin/sim416.bash")
	pki := filepath.Join(h.Root, "var/lib/kubelet/pki")
	for _, f := range []string{"kubelet-client-2020-08-04-18-40-21.pem", "kubelet-server-2020-08-04-18-40-22.pem"} {
		writeFile(t, filepath.Join(pki, f), "-----BEGIN CERTIFICATE-----\n"+f+" of "+h.Name+" (rotated after the backup)\n-----END CERTIFICATE-----\n", 0o600)
	}
	for link, target := range map[string]string{"kubelet-client-current.pem": "kubelet-client-2020-08-04-18-40-21.pem", "kubelet-server-current.pem": "kubelet-server-2020-08-04-18-40-22.pem"} {
		if err := os.Symlink(filepath.Join("/var/lib/kubelet/pki", target), filepath.Join(pki, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range []string{"ovnnb_db.db", "ovnsb_db.db"} {
		writeFile(t, filepath.Join(h.Root, ovnDBDir, db), "OVN database "+db+" of "+h.Name+" before the restore\n", 0o640)
	}
	if master {
		c.installHostOC416(h)
	}
	if master && c.Config.V416.Keepalived {
		writeFile(t, filepath.Join(h.Root, manifestsDir, "keepalived.yaml"), keepalivedManifest(h.Name), 0o644)
		fi, err := os.Stat(filepath.Join(h.Root, manifestsDir, "keepalived.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		state := fmt.Sprintf("%d %d original\n", time.Now().UnixNano()-int64(time.Hour), fi.Sys().(*syscall.Stat_t).Ino)
		writeFile(t, filepath.Join(h.State, "pods", "keepalived"), state, 0o644)
		h.PodsAtStart["keepalived"] = state
	}
	for _, rel := range []string{"var/lib/kubelet/pki", ovnDBDir} {
		for path, sum := range treeSums(t, filepath.Join(h.Root, rel)) {
			h.Originals[sum] = filepath.Join(rel, path)
		}
	}
}

// recoveryKubeconfig is the kubeconfig steps 16-17 use on the recovery host.
const recoveryKubeconfig = "etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost-recovery.kubeconfig"

// installHostOC416 gives a control-plane host the oc RHCOS ships as /usr/bin/oc
// (bind-mounted by testdata/ns-init.sh from Dir/oc): the test binary acting as oc against
// the same simulated API, recording the host's name, and the recovery kubeconfig it needs
// there (procedure-4.16.md steps 16-17). The binary is copied beside the workstation,
// outside the directories each host has its own of (the test binary is under /tmp).
func (c *Cluster) installHostOC416(h *Host) {
	t := c.t
	bin := filepath.Join(c.Work, "oc-sim")
	if !fileExists(bin) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, bin, readFile(t, exe), 0o755)
	}
	script := fmt.Sprintf("#!/usr/bin/env bash\n# Simulated /usr/bin/oc of %s: the e2e test binary acting as oc.\nRESTOREKIT_SIM_OC=%s RESTOREKIT_SIM_OC_HOST=%s exec %s \"$@\"\n",
		h.Name, shellQuote(filepath.Join(c.Work, "sim.json")), shellQuote(h.Name), shellQuote(bin))
	writeFile(t, filepath.Join(h.Dir, "oc"), script, 0o755)
	writeFile(t, filepath.Join(h.Root, recoveryKubeconfig), "apiVersion: v1\nkind: Config\n# simulated: the localhost-recovery kubeconfig of "+h.Name+"\n", 0o600)
}

// ovnDBDir holds each node's OVN databases (procedure step 14.a).
const ovnDBDir = "var/lib/ovn-ic/etc"

// keepalivedManifest stands in for machine-config-operator's on-prem keepalived pod.
func keepalivedManifest(node string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: keepalived\n  namespace: openshift-kni-infra\n  labels:\n    app: kni-infra-vrrp\n# keepalived of " + node + "\n"
}

// setUp416 adds the workers, the VIPs and the reboot watcher to a started cluster.
func (c *Cluster) setUp416(pubKey string) {
	t := c.t
	v := c.Config.V416
	mustMkdir(t, c.shared416(), 0o755)
	if err := os.Chmod(c.shared416(), 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(c.shared416()) })
	for _, d := range []string{"vips", "vip-eligible", "held", "reboot"} {
		mustMkdir(t, filepath.Join(c.shared416(), d), 0o755)
	}
	for _, d := range []string{"held", "reboot"} {
		if err := os.Chmod(filepath.Join(c.shared416(), d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"lock", "events.log"} {
		writeFile(t, filepath.Join(c.shared416(), f), "", 0o666)
	}
	seq := strings.Split(c.Hosts[0].Addr, ".")[2]
	for i := 0; i < v.Workers; i++ {
		name := fmt.Sprintf("worker-%d.%s.example.test", i, c.Config.Name)
		hostname := name
		if c.Config.ShortHostnames {
			hostname = fmt.Sprintf("worker-%d", i)
		}
		h := c.newHost(name, hostname, fmt.Sprintf("127.%d.%s.%d", subnet, seq, 30+i), pubKey, false)
		c.Workers = append(c.Workers, h)
		c.populateWorker416(h)
	}
	if v.Keepalived {
		ingressOn := c.Hosts[len(c.Hosts)-1].Name
		ingressEligible := []string{}
		for _, h := range c.Hosts {
			ingressEligible = append(ingressEligible, h.Name)
		}
		if len(c.Workers) > 0 {
			ingressOn, ingressEligible = c.Workers[0].Name, nil
			for _, w := range c.Workers {
				ingressEligible = append(ingressEligible, w.Name)
			}
		}
		apiOn := c.Hosts[0].Name
		if len(c.Hosts) > 1 {
			apiOn = c.Hosts[1].Name
		}
		var masters []string
		for _, h := range c.Hosts {
			masters = append(masters, h.Name)
		}
		for _, vip := range []struct {
			ip, kind, on string
			eligible     []string
		}{{v.APIVIP, "api", apiOn, masters}, {v.IngressVIP, "ingress", ingressOn, ingressEligible}} {
			prefix := "32"
			if strings.Contains(vip.ip, ":") {
				prefix = "128"
			}
			writeFile(t, filepath.Join(c.shared416(), "vips", vip.ip), vip.kind+" "+prefix+"\n", 0o644)
			writeFile(t, filepath.Join(c.shared416(), "vip-eligible", vip.ip), strings.Join(vip.eligible, "\n")+"\n", 0o644)
			writeFile(t, filepath.Join(c.shared416(), "held", vip.ip), vip.on+" br-ex\n", 0o644)
		}
	}
	c.writeSim416()

	var known bytes.Buffer
	for _, h := range c.Workers {
		key := strings.Fields(readFile(t, filepath.Join(h.Dir, "ssh_host_ed25519_key.pub")))
		fmt.Fprintf(&known, "[%s]:%d %s %s\n", h.Addr, h.Port, key[0], key[1])
	}
	f, err := os.OpenFile(c.KnownHost, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(known.Bytes())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Workers {
		if err := c.startSSHD(h); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go c.watchReboots(stop, done)
	// Runs before Close (cleanups run last first): the watcher stops, then the workers.
	t.Cleanup(func() {
		close(stop)
		<-done
		for _, h := range c.Workers {
			if h.cmd != nil && !h.stopped {
				c.StopSSHD(h)
			}
		}
	})
}

// populateWorker416 writes what a worker holds: the fakes (no static pods, no etcd).
func (c *Cluster) populateWorker416(h *Host) {
	t := c.t
	fakes := filepath.Join("testdata", "fakes")
	for _, f := range []string{"crictl", "systemctl", "mv", "sleep", "sim-lib.bash"} {
		writeFile(t, filepath.Join(h.Root, "usr/local/sbin", f), readFile(t, filepath.Join(fakes, f)), 0o755)
	}
	if c.FakeSudo {
		writeFile(t, filepath.Join(h.Root, "usr/local/bin/sudo"), readFile(t, filepath.Join(fakes, "sudo")), 0o755)
	}
	mustMkdir(t, filepath.Join(h.Root, manifestsDir), 0o755)
	for _, d := range []string{"pods", "gone"} {
		mustMkdir(t, filepath.Join(h.State, d), 0o755)
	}
	writeFile(t, filepath.Join(h.State, "commands.log"), "", 0o666)
	c.writeHostConfig(h, "")
	c.populate416(h, false)
}

func (c *Cluster) writeSim416() {
	v := c.Config.V416
	s := sim416{Keepalived: v.Keepalived, APIVIP: v.APIVIP, IngressVIP: v.IngressVIP, NetworkType: v.NetworkType,
		RotatedCerts: v.RotatedCerts, StuckTerminating: v.StuckTerminating, ForeignCSR: !v.NoForeignCSR, Shared: c.shared416()}
	for _, h := range c.Workers {
		s.Workers = append(s.Workers, simHost{Name: h.Name, Addr: h.Addr, Root: h.Root, State: h.State})
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		c.t.Fatal(err)
	}
	writeFile(c.t, filepath.Join(c.Work, "sim416.json"), string(b), 0o644)
}

// Nodes are every simulated node: the masters, then the workers.
func (c *Cluster) Nodes() []*Host { return append(append([]*Host{}, c.Hosts...), c.Workers...) }

// NeverBootsAgain is the fault of a host that goes down at its reboot and stays down.
const NeverBootsAgain = "SIM_NEVER_BOOTS=1"

// SetFault416 sets a host's 4.16 fault (NeverBootsAgain) beside its other settings.
func (c *Cluster) SetFault416(h *Host, fault string) {
	writeFile(c.t, filepath.Join(h.Dir, "fault416"), fault+"\n", 0o644)
}

func (c *Cluster) event416(format string, a ...any) {
	appendLine(filepath.Join(c.OCState, "events.log"), time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")+"\t"+fmt.Sprintf(format, a...))
}

// watchReboots serves the reboot requests the hosts' reboot fakes leave in
// shared/reboot: the host goes down (its sessions end), boots (empty /tmp, pods
// started afresh), and its sshd is back RebootDelay later, unless it never boots.
func (c *Cluster) watchReboots(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	dir := filepath.Join(c.shared416(), "reboot")
	copied := 0
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		copied = c.copyHostEvents(copied)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			var h *Host
			for _, n := range c.Nodes() {
				if n.Name == e.Name() {
					h = n
				}
			}
			_ = os.Remove(filepath.Join(dir, e.Name()))
			if h == nil || h.stopped {
				continue
			}
			c.event416("reboot-requested %s", h.Name)
			_ = os.WriteFile(filepath.Join(c.shared416(), "down-"+h.Name), []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o644)
			c.StopSSHD(h)
			c.boot416(h)
			if strings.Contains(readFileOr(filepath.Join(h.Dir, "fault416")), NeverBootsAgain) {
				c.event416("never-boots %s", h.Name)
				continue
			}
			go func(h *Host) {
				select {
				case <-stop:
					return
				case <-time.After(c.Config.V416.RebootDelay):
				}
				h.stopped = false
				if err := c.startSSHD(h); err != nil {
					c.event416("boot-failed %s %v", h.Name, err)
					return
				}
				_ = os.Remove(filepath.Join(c.shared416(), "down-"+h.Name))
				c.event416("rebooted %s", h.Name)
			}(h)
		}
	}
}

// copyHostEvents appends the events the hosts' fakes recorded (shared/events.log,
// from byte offset done on) to the fake oc's events, so Events lists both.
func (c *Cluster) copyHostEvents(done int) int {
	b := []byte(readFileOr(filepath.Join(c.shared416(), "events.log")))
	end := bytes.LastIndexByte(b, '\n') + 1
	if end <= done {
		return done
	}
	f, err := os.OpenFile(filepath.Join(c.OCState, "events.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return done
	}
	defer f.Close()
	if _, err := f.Write(b[done:end]); err != nil {
		return done
	}
	return end
}

// boot416 is what a boot does to a host's state: /tmp (tmpfs on RHCOS) is empty, the
// kubelet starts every manifest afresh, the units restart.
func (c *Cluster) boot416(h *Host) {
	tmp := filepath.Join(h.Root, "tmp")
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
	for _, d := range []string{"pods", "gone"} {
		ents, _ := os.ReadDir(filepath.Join(h.State, d))
		for _, e := range ents {
			_ = os.Remove(filepath.Join(h.State, d, e.Name()))
		}
	}
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	_ = os.WriteFile(filepath.Join(h.State, "kubelet"), []byte(now+"\n"), 0o644)
	_ = os.WriteFile(filepath.Join(h.State, "booted"), []byte(now+"\n"), 0o644)
}

// DropFromBackup rewrites the backup's static pod resources without the manifest
// of pod (kube-apiserver-pod.yaml, ...): the 4.16 cluster-restore.sh then stops with
// "<pod> does not exist in <tarball>".
func (c *Cluster) DropFromBackup(podFile string) {
	t := c.t
	for i, b := range c.Backup {
		if !strings.HasPrefix(b.Name, "static_kuberesources") {
			continue
		}
		p := filepath.Join(c.BackupDir, b.Name)
		zr, err := gzip.NewReader(bytes.NewReader([]byte(readFile(t, p))))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		tw := tar.NewWriter(zw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(hdr.Name, "/"+podFile) {
				continue
			}
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, out.String(), 0o644)
		c.Backup[i].Size, c.Backup[i].SHA256 = int64(out.Len()), sha256Hex(out.Bytes())
	}
}

// VIPHolder is the node whose interface carries the VIP now ("" for none).
func (c *Cluster) VIPHolder(ip string) string {
	f := strings.Fields(readFileOr(filepath.Join(c.shared416(), "held", ip)))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// IsDown says whether a host is down after a reboot (its sshd not back yet).
func (c *Cluster) IsDown(h *Host) bool {
	return fileExists(filepath.Join(c.shared416(), "down-"+h.Name))
}

// CSRs are the CSRs the fake API holds, by name.
func (c *Cluster) CSRs() map[string]CSR416 {
	s := loadNodes416(c.OCState)
	return s.CSRs
}
