package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Scenarios of profile ocp-4.16 (procedure-4.16.md, OpenShift 4.16 and 4.17): each runs a
// kit built by the real code with recover.sh over real ssh against the simulated 4.16
// hosts (workers included) and API, and checks the end state and the order of what ran.

// timing416 keeps the modelled waits short but not zero, so that every wait of the kit
// really waits.
var timing416 = Timing{StopDelay: 300 * time.Millisecond, StartDelay: 200 * time.Millisecond, KubeletActivate: 100 * time.Millisecond,
	APIEOF: 500 * time.Millisecond, RevisionDelay: 300 * time.Millisecond, NodeDelay: 200 * time.Millisecond}

// stepOrder416 is the order recover.sh runs the steps of a 4.16 kit with OVN-Kubernetes
// and keepalived in.
var stepOrder416 = []string{"preflight", "push-scripts", "copy-backup", "stop-static-pods", "stop-keepalived", "check-api-vip",
	"restore", "repair-nodes", "restart-kubelet", "approve-csrs", "verify-single-member", "ovn-control-plane", "ovn-nodes",
	"quorum-guard-off", "redeploy-etcd", "quorum-guard-on", "wait-etcd", "redeploy-kubeapiserver", "redeploy-kubecontrollermanager",
	"redeploy-kubescheduler", "restore-keepalived", "wait-stable", "reboot-nodes"}

// withoutSteps is ids without the named steps.
func withoutSteps(ids []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(drop, id) })
}

func run416(t *testing.T, c *Cluster, k *Kit, args ...string) Result {
	t.Helper()
	r := c.Run(k, "recover.sh", RunOptions{Timeout: 12 * time.Minute}, append([]string{"--yes"}, args...)...)
	logRun(t, "recover.sh --yes", r)
	return r
}

// assertRestored416 checks the end state of a completed 4.16 recovery: nothing lost,
// every node Ready and restarted once (control-plane hosts first, one at a time), only the
// cluster's own CSRs approved, keepalived back where it was moved from, the OVN databases
// rebuilt on every node with a running ovnkube-node pod, the quorum guard on, and every
// operator rolled out to a new revision.
func assertRestored416(t *testing.T, c *Cluster) {
	t.Helper()
	assertNothingLost416(t, c)
	v := c.Config.V416
	for _, h := range c.Nodes() {
		if s := nodeStatus(t, c, h.Name); s != "Ready" {
			t.Errorf("%s is %q after the recovery, want Ready", h.Name, s)
		}
	}
	want := []string{}
	if !v.NoForeignCSR {
		want = []string{ForeignCSRName}
	}
	if p := c.PendingCSRs(); !slices.Equal(p, want) {
		t.Errorf("pending CSRs after the recovery: %v, want %v (the foreign one left alone)", p, want)
	}
	if _, ok := c.HasEvent("csr-approved-foreign"); ok {
		t.Errorf("the foreign CSR %s was approved", ForeignCSRName)
	}
	for _, h := range c.Hosts {
		manifest := filepath.Join(h.Root, "etc/kubernetes/manifests/keepalived.yaml")
		if v.Keepalived && !fileExists(manifest) {
			t.Errorf("%s: keepalived.yaml is not back in /etc/kubernetes/manifests (step 22)", h.Hostname)
		}
	}
	if v.Keepalived {
		if holder := c.VIPHolder(v.APIVIP); holder == "" {
			t.Errorf("nobody holds the API VIP %s after the recovery", v.APIVIP)
		}
	}
	if v.NetworkType != "OpenShiftSDN" {
		for _, h := range c.Nodes() {
			db := readFileOr(filepath.Join(h.Root, ovnDBDir, "ovnnb_db.db"))
			if !strings.Contains(db, "rebuilt by ovnkube-node-") {
				t.Errorf("%s: the OVN databases were not rebuilt (step 14): %q", h.Hostname, db)
			}
		}
		running := map[string]bool{}
		for _, p := range c.OVNPods() {
			if f := strings.Fields(p); len(f) == 3 && f[0] == "ovnkube-node" && f[2] == "Running" {
				running[f[1]] = true
			}
		}
		for _, h := range c.Nodes() {
			if !running[h.Name] {
				t.Errorf("%s has no Running ovnkube-node pod after the recovery", h.Name)
			}
		}
	} else if _, ok := c.HasEvent("ovn-"); ok {
		t.Errorf("an OpenShift SDN cluster had its OVN pods touched")
	}
	if c.GuardOverride() {
		t.Errorf("the quorum guard is still off after the recovery")
	}
	assertRebootedInOrder(t, c)
}

// assertRebootedInOrder: step 24 restarted every node once, the control-plane hosts
// first, then the workers, each back before the next went down.
func assertRebootedInOrder(t *testing.T, c *Cluster) {
	t.Helper()
	var order []string
	back := map[string]time.Time{}
	var lastBack time.Time
	for _, e := range c.Events() {
		f := strings.Fields(e.Text)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "reboot-requested":
			if !lastBack.IsZero() && e.Time.Before(lastBack) {
				t.Errorf("%s went down before the node before it was back", f[1])
			}
			if len(order) > len(back) {
				t.Errorf("%s went down while %s was still down", f[1], order[len(order)-1])
			}
			order = append(order, f[1])
		case "rebooted":
			back[f[1]] = e.Time
			lastBack = e.Time
		}
	}
	var want []string
	for _, h := range c.Nodes() {
		want = append(want, h.Name)
	}
	// The recovery host is one control-plane host among the others: compare as sets per role.
	masters, workers := want[:len(c.Hosts)], want[len(c.Hosts):]
	if len(order) != len(want) {
		t.Errorf("rebooted %v, want every node once: %v", order, want)
		return
	}
	if got := slices.Sorted(slices.Values(order[:len(masters)])); !slices.Equal(got, slices.Sorted(slices.Values(masters))) {
		t.Errorf("rebooted first %v, want the control-plane hosts %v", order[:len(masters)], masters)
	}
	if got := order[len(masters):]; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(workers))) {
		t.Errorf("rebooted last %v, want the workers %v", got, workers)
	}
}

// TestRecover416OVNKeepalived: the happy path of an on-premise 4.17 cluster, three
// masters and two workers, OVN-Kubernetes and keepalived, as outages find it: one worker
// whose kubelet certificates rotated after the backup (NotReady until repaired), one
// worker whose ovnkube-node pod sticks in Terminating, and a foreign pending CSR.
func TestRecover416OVNKeepalived(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.9", Timing: timing416, V416: Sim416Config{
		Workers: 2, Keepalived: true, RotatedCerts: []string{"worker-1.sim.example.test"}, StuckTerminating: "worker-0.sim.example.test",
		RebootDelay: time.Second}})
	k := c.BuildKit(KitOptions{})
	r := run416(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertStepOrder(t, r.Output, stepOrder416)
	mustContain(t, "recover.sh", r.Output, "worker-1.sim.example.test", ForeignCSRName)
	if strings.Contains(r.Output, "STILL OPEN") {
		t.Errorf("a completed run reports an open duty:\n%s", r.Output)
	}
	assertRestored416(t, c)
}

// TestRecover416SDNWithoutKeepalived: 4.16 on OpenShift SDN without keepalived (a cloud
// install) with two workers: no OVN steps, no keepalived steps.
func TestRecover416SDNWithoutKeepalived(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.21", Timing: timing416, V416: Sim416Config{
		Workers: 2, NetworkType: "OpenShiftSDN", RebootDelay: time.Second}})
	k := c.BuildKit(KitOptions{})
	r := run416(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertStepOrder(t, r.Output, withoutSteps(stepOrder416, "stop-keepalived", "check-api-vip", "ovn-control-plane", "ovn-nodes", "restore-keepalived"))
	for _, id := range []string{"ovn-", "keepalived"} {
		if strings.Contains(r.Output, "("+id) {
			t.Errorf("an SDN cluster without keepalived ran %s*", id)
		}
	}
	assertRestored416(t, c)
}

// TestRecover416CompactProxy: a compact 4.17 cluster (three masters, no workers) behind
// a cluster-wide proxy: the restore gets the proxy, nothing to approve, the OVN and
// reboot steps cover the control-plane hosts only.
func TestRecover416CompactProxy(t *testing.T) {
	proxy := &SimProxy{HTTPProxy: "http://proxy.sim.example.test:3128", HTTPSProxy: "http://proxy.sim.example.test:3128",
		NoProxy: ".cluster.local,.svc,10.128.0.0/14,127.0.0.1,172.30.0.0/16,api-int.sim.example.test,localhost"}
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.2", Proxy: proxy, Timing: timing416, V416: Sim416Config{RebootDelay: time.Second}})
	k := c.BuildKit(KitOptions{})
	r := run416(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertStepOrder(t, r.Output, withoutSteps(stepOrder416, "stop-keepalived", "check-api-vip", "restore-keepalived"))
	wantEnv := "HTTP_PROXY=" + proxy.HTTPProxy + " HTTPS_PROXY=" + proxy.HTTPSProxy + " NO_PROXY=" + proxy.NoProxy
	envs := filter(c.Commands(), func(c Command) bool { return c.Tool == "cluster-restore.sh-env" })
	if len(envs) != 1 {
		t.Fatalf("cluster-restore.sh ran %d times, want once", len(envs))
	}
	if got := strings.Join(envs[0].Args, " "); got != wantEnv {
		t.Errorf("step 7-8: cluster-restore.sh ran with %q, want %q", got, wantEnv)
	}
	assertRestored416(t, c)
}

// TestFault416Preflight: every preflight refusal of a 4.16 kit stops before any change
// on any node, naming what is wrong and where.
func TestFault416Preflight(t *testing.T) {
	tests := []struct {
		name    string
		config  Sim416Config
		kit     KitOptions
		fault   func(c *Cluster) *Host // sets the fault up, returns the host it names
		step    string
		message []string
	}{
		{name: "a worker unreachable", config: Sim416Config{Workers: 2},
			fault: func(c *Cluster) *Host { c.StopSSHD(c.Workers[1]); return c.Workers[1] }},
		{name: "another z-stream", config: Sim416Config{}, kit: KitOptions{Version: "4.17.8"},
			fault: func(c *Cluster) *Host { return nil }, message: []string{"P1", "4.17.9", "4.17.8"}},
		{name: "another proxy", config: Sim416Config{},
			kit:   KitOptions{Proxy: &SimProxy{HTTPProxy: "http://other.example.test:3128", HTTPSProxy: "http://other.example.test:3128", NoProxy: "localhost"}},
			fault: func(c *Cluster) *Host { return nil }, message: []string{"proxy", "http://other.example.test:3128"}},
		{name: "a damaged backup", config: Sim416Config{},
			fault: func(c *Cluster) *Host { c.CorruptSnapshot(); return nil }, message: []string{"sha256"}},
		{name: "another network type", config: Sim416Config{NetworkType: "OpenShiftSDN"}, kit: KitOptions{Version: "4.16.21", NetworkType: "OVNKubernetes"},
			fault: func(c *Cluster) *Host { return nil }, message: []string{"OpenShiftSDN", "OVNKubernetes"}},
		{name: "no oc on the recovery host", config: Sim416Config{},
			fault: func(c *Cluster) *Host {
				rec := c.Recovery()
				c.StopSSHD(rec)
				if err := os.Remove(filepath.Join(rec.Dir, "oc")); err != nil {
					t.Fatal(err)
				}
				if err := c.startSSHD(rec); err != nil {
					t.Fatal(err)
				}
				return rec
			}, message: []string{"16-17", "has no /usr/bin/oc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := "4.17.9"
			if tt.config.NetworkType == "OpenShiftSDN" {
				version = "4.16.21" // OpenShift SDN ends with 4.16
			}
			c := NewCluster(t, ClusterConfig{Masters: 3, Version: version, Timing: timing416, V416: tt.config})
			k := c.BuildKit(tt.kit)
			host := tt.fault(c)
			before := snapshotHosts(t, c)
			r := expectFault(t, c, k, 1, tt.step, host)
			mustContain(t, "the failure message", r.Output, tt.message...)
			assertNoChangeAnywhere(t, c, before)
		})
	}
}

// TestFault416KeepalivedStillMoved: the restore fails after step 4.k moved keepalived.yaml
// aside on the other masters: the run stops there and its last lines say keepalived is
// still moved, with the command that puts it back; the resumed run puts it back.
func TestFault416KeepalivedStillMoved(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.21", Timing: timing416, V416: Sim416Config{Keepalived: true, RebootDelay: time.Second}})
	k := c.BuildKit(KitOptions{})
	c.SetFault(c.Recovery(), "SIM_RESTORE_FAIL=early")
	r := run416(t, c, k)
	if r.ExitCode == 0 {
		t.Fatalf("recover.sh with a failing cluster-restore.sh: %s", r)
	}
	mustContain(t, "the failed run", r.Output, "STILL OPEN: keepalived.yaml is still moved aside", "keepalived.yaml /etc/kubernetes/manifests/")
	for _, h := range c.Others() {
		if fileExists(filepath.Join(h.Root, "etc/kubernetes/manifests/keepalived.yaml")) {
			t.Errorf("%s: keepalived.yaml is back although step 22 never ran", h.Hostname)
		}
	}
	c.SetFault(c.Recovery(), "")
	r = run416(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("the resumed recover.sh: %s", r)
	}
	assertRestored416(t, c)
}

// TestFault416RebootNeverBack: a worker does not come back from its reboot (step 24): the
// run stops with that node named and the workers after it untouched.
func TestFault416RebootNeverBack(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.9", Timing: timing416, V416: Sim416Config{Workers: 2, RebootDelay: time.Second}})
	k := c.BuildKit(KitOptions{})
	c.SetFault416(c.Workers[0], NeverBootsAgain)
	r := run416(t, c, k)
	if r.ExitCode == 0 {
		t.Fatalf("recover.sh with a node that never comes back: %s", r)
	}
	mustContain(t, "the failure message", r.Output, "24", c.Workers[0].Name)
	if _, ok := c.HasEvent("reboot-requested " + c.Workers[1].Name); ok {
		t.Errorf("%s was rebooted after %s never came back", c.Workers[1].Name, c.Workers[0].Name)
	}
}

// TestFault416ResumeInOVNStep: the run is interrupted while step 14 goes over the nodes;
// the resumed run finishes the OVN step and the recovery.
func TestFault416ResumeInOVNStep(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.9", Timing: timing416, V416: Sim416Config{Workers: 1, RebootDelay: time.Second}})
	k := c.BuildKit(KitOptions{})
	second := c.Hosts[1]
	inOVN := func() bool {
		// The second node's databases have left /var/lib/ovn-ic/etc: step 14 is on it.
		ents, err := os.ReadDir(filepath.Join(second.Root, ovnDBDir))
		return err == nil && len(ents) == 0
	}
	r := c.Run(k, "recover.sh", RunOptions{Watch: inOVN, Timeout: 12 * time.Minute}, "--yes")
	logRun(t, "recover.sh --yes (interrupted)", r)
	if r.ExitCode != 130 {
		t.Fatalf("interrupted recover.sh: want exit 130, got %s", r)
	}
	r = run416(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("the resumed recover.sh: %s", r)
	}
	mustContain(t, "the resumed run", r.Output, "(stop-static-pods): done by an earlier run")
	assertRestored416(t, c)
}

// TestRecover416DryRun: --dry-run on a 4.16 kit runs the read-only preflight, shows every
// step with what it would run on which node, and changes nothing on any node.
func TestRecover416DryRun(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.9", Timing: timing416, V416: Sim416Config{Workers: 1, Keepalived: true}})
	k := c.BuildKit(KitOptions{})
	before := snapshotHosts(t, c)
	r := c.Run(k, "recover.sh", RunOptions{}, "--dry-run")
	logRun(t, "recover.sh --dry-run", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --dry-run: %s", r)
	}
	mustContain(t, "the dry run", r.Output, "preflight: all checks passed", "14-ovn-node.sh", "24-reboot-node.sh", c.Workers[0].Name)
	assertNoChangeAnywhere(t, c, before)
	for _, cmd := range c.Commands() {
		if cmd.Tool == "oc" && len(cmd.Args) > 0 && (cmd.Args[0] == "patch" || cmd.Args[0] == "delete" || (cmd.Args[0] == "adm" && len(cmd.Args) > 1 && cmd.Args[1] == "certificate")) {
			t.Errorf("the dry run changed the cluster: %s", cmd)
		}
	}
}
