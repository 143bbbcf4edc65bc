package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Scenarios of profile ocp-4.18 (procedure-4.18.md): each runs a kit built by the real
// code with recover.sh over real ssh against the simulated 4.18+ hosts and API, and
// checks the end state and the order of what ran.

// stepOrder418 is the order recover.sh logs the steps of a multi-node 4.18 kit in.
var stepOrder418 = []string{"preflight", "push-scripts", "copy-backup", "disable-etcd", "restore", "wait-api",
	"quorum-guard-off", "wait-stable", "quorum-guard-on", "verify-members"}

// assertStepOrder checks that recover.sh started the steps in this order, each once.
func assertStepOrder(t *testing.T, out string, ids []string) {
	t.Helper()
	last := -1
	for _, id := range ids {
		marker := "(" + id + "): "
		i := strings.Index(out, "==> step ")
		at := -1
		for i >= 0 {
			line := out[i:]
			if nl := strings.IndexByte(line, '\n'); nl >= 0 {
				line = line[:nl]
			}
			if strings.Contains(line, marker) {
				at = i
				break
			}
			j := strings.Index(out[i+1:], "==> step ")
			if j < 0 {
				break
			}
			i += 1 + j
		}
		if at < 0 {
			t.Errorf("recover.sh never started step %s", id)
			continue
		}
		if at < last {
			t.Errorf("recover.sh started %s out of order (want %v)", id, ids)
		}
		last = at
	}
}

func run418(t *testing.T, c *Cluster, k *Kit, args ...string) Result {
	t.Helper()
	r := c.Run(k, "recover.sh", RunOptions{}, append([]string{"--yes"}, args...)...)
	logRun(t, "recover.sh --yes", r)
	return r
}

// TestRecover418ThreeMasters: the happy path on three masters of 4.18 (etcd-backup-server
// in the etcd pod): the steps in the profile's order, etcd stopped on the other hosts
// before the restore, the guard off only between the API's return and a stable cluster,
// nothing of KAS/KCM/KS touched (assertRestored418).
func TestRecover418ThreeMasters(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", AutomatedBackup: true, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	r := run418(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertStepOrder(t, r.Output, stepOrder418)
	mustContain(t, "recover.sh", r.Output, "etcd-backup-server", "this oc has adm wait-for-stable-cluster", "All clusteroperators are stable")
	if strings.Contains(r.Output, "STILL OPEN") {
		t.Errorf("a completed run reports an open duty:\n%s", r.Output)
	}
	assertRestored418(t, c)
}

// TestRecover418FiveMastersProxy: five masters of 4.21 (no etcd-backup-server) behind a
// cluster-wide proxy: the host scripts pass it to disable-etcd.sh and cluster-restore.sh.
func TestRecover418FiveMastersProxy(t *testing.T) {
	proxy := &SimProxy{HTTPProxy: "http://proxy.sim.example.test:3128", HTTPSProxy: "http://proxy.sim.example.test:3128",
		NoProxy: ".cluster.local,.svc,10.128.0.0/14,127.0.0.1,172.30.0.0/16,api-int.sim.example.test,localhost"}
	c := NewCluster(t, ClusterConfig{Masters: 5, Version: "4.21.2", Proxy: proxy, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	if s := readFile(t, filepath.Join(k.Dir, "hosts", c.Hosts[1].Name, "03-disable-etcd.sh")); strings.Contains(s, "etcd-backup-server") {
		t.Errorf("a 4.21 kit waits for etcd-backup-server, which 4.21 does not have")
	}
	r := run418(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertStepOrder(t, r.Output, stepOrder418)
	assertRestored418(t, c)
}

// TestRecover418SingleNode: single-node OpenShift: no disable-etcd, no quorum guard.
func TestRecover418SingleNode(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 1, Version: "4.20.3", Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	r := run418(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertStepOrder(t, r.Output, []string{"preflight", "push-scripts", "copy-backup", "restore", "wait-api", "wait-stable", "verify-members"})
	for _, id := range []string{"disable-etcd", "quorum-guard"} {
		if strings.Contains(r.Output, "("+id) {
			t.Errorf("single-node ran %s", id)
		}
	}
	assertRestored418(t, c)
}

// TestRecover418OldOC: an oc without adm wait-for-stable-cluster (before 4.10): the
// preflight says so and step 8 polls oc get clusteroperators for the same condition.
func TestRecover418OldOC(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.19.4", OCClientVersion: "4.9.0", Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	r := run418(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	mustContain(t, "recover.sh", r.Output, "has no adm wait-for-stable-cluster: the kit polls oc get clusteroperators", "polling oc get clusteroperators")
	for _, e := range c.Events() {
		if strings.HasPrefix(e.Text, "wait-for-stable start") {
			t.Errorf("wait-for-stable-cluster ran with an oc that lacks it")
		}
	}
	assertRestored418(t, c)
}

// TestFault418HostUnreachable: a control-plane host unreachable at preflight stops
// everything before any change.
func TestFault418HostUnreachable(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	c.StopSSHD(c.Hosts[2])
	before := snapshotHosts(t, c)
	expectFault(t, c, k, 1, "", c.Hosts[2])
	assertNoChangeAnywhere(t, c, before)
}

// TestFault418VersionDiffers: P1, the kit's release must be the cluster's.
func TestFault418VersionDiffers(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.8", Timing: FastTiming})
	k := c.BuildKit(KitOptions{Version: "4.18.7"})
	before := snapshotHosts(t, c)
	r := expectFault(t, c, k, 1, "", nil)
	mustContain(t, "the failure message", r.Output, "P1", "4.18.8", "4.18.7")
	assertNoChangeAnywhere(t, c, before)
}

// TestFault418EtcdNeverStops: etcd never stops on one other host: disable-etcd.sh's
// bounded wait times out there naming what still runs, and the restore never starts.
func TestFault418EtcdNeverStops(t *testing.T) {
	t.Parallel() // mostly waiting for the timeout
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: FastTiming})
	c.SetFault(c.Hosts[2], "SIM_STUCK=etcd")
	k := c.BuildKit(KitOptions{})
	r := expectFault(t, c, k, 3, "3", c.Hosts[2])
	mustContain(t, "the failure message", r.Output, "still running: etcd (")
	for _, cmd := range c.Commands() {
		if cmd.Tool == "cluster-restore.sh" || (cmd.Tool == "oc" && len(cmd.Args) > 0 && cmd.Args[0] == "patch") {
			t.Errorf("a step after 3 ran: %s", cmd)
		}
	}
	if c.GuardOverride() || strings.Contains(r.Output, "STILL OPEN") {
		t.Errorf("the quorum guard was touched before the restore")
	}
}

// TestFault418EtcdDirNotEmpty: /var/lib/etcd on the recovery host holds something
// cluster-restore.sh would stop at after etcd is down: the preflight lists it and stops
// before any change; with --move-etcd-extras the restore moves it into its run
// directory and the recovery completes.
func TestFault418EtcdDirNotEmpty(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: FastTiming})
	c.PutInEtcdDir(c.Recovery(), "etcd.conf.orig")
	c.PutInEtcdDir(c.Recovery(), "etcd_perf_2025-03-01.fio")
	k := c.BuildKit(KitOptions{})
	before := snapshotHosts(t, c)
	r := expectFault(t, c, k, 1, "", c.Recovery())
	mustContain(t, "the failure message", r.Output, "/var/lib/etcd/etcd.conf.orig", "--move-etcd-extras")
	if strings.Contains(r.Output, "/var/lib/etcd/etcd_perf_2025-03-01.fio") {
		t.Errorf("etcd_perf* is listed as a problem, but cluster-restore.sh deletes it itself")
	}
	assertNoChangeAnywhere(t, c, before)
	r = run418(t, c, k, "--move-etcd-extras")
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes --move-etcd-extras: %s", r)
	}
	mustContain(t, "recover.sh", r.Output, "moved /var/lib/etcd/etcd.conf.orig to ")
	assertRestored418(t, c)
}

// TestFault418NeverStable: the cluster never becomes stable: step 8 fails at its
// timeout (exit 3) and the last lines say the quorum guard is still off, with the
// command that turns it on.
func TestFault418NeverStable(t *testing.T) {
	t.Parallel() // mostly waiting for the timeout
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: FastTiming})
	c.NeverStable("kube-apiserver")
	k := c.BuildKit(KitOptions{StableCluster: 30 * time.Second})
	r := expectFault(t, c, k, 3, "8", nil)
	mustContain(t, "the failure message", r.Output, "kube-apiserver", "did not become stable")
	lines := strings.Split(strings.TrimSpace(r.Output), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "STILL OPEN: the etcd quorum guard is still OFF") ||
		!strings.Contains(last, `oc patch etcd/cluster --type=merge -p '{"spec": {"unsupportedConfigOverrides": null}}'`) {
		t.Errorf("the last line must say the guard is off and how to turn it on: %q", last)
	}
	if !c.GuardOverride() {
		t.Errorf("the guard should still be off (as the message says)")
	}
}

// TestFault418InterruptedGuardOff: Ctrl-C while step 8 waits, the guard off: the run
// says the guard is still off; the resumed run turns it on at the end.
func TestFault418InterruptedGuardOff(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	// Interrupt once step 7 has recorded the guard off as done (recover.sh waits in step 8
	// then): an interruption inside step 7 is resumed by running step 7 again.
	guardOff := func() bool {
		_, err := os.Stat(filepath.Join(k.Dir+".state", "done", "quorum-guard-off"))
		return err == nil && c.GuardOverride()
	}
	r := c.Run(k, "recover.sh", RunOptions{Watch: guardOff}, "--yes")
	logRun(t, "recover.sh --yes (interrupted)", r)
	if r.ExitCode != 130 {
		t.Fatalf("interrupted recover.sh: want exit 130, got %s", r)
	}
	mustContain(t, "the interrupted run", r.Output, "STILL OPEN: the etcd quorum guard is still OFF", `{"spec": {"unsupportedConfigOverrides": null}}`)
	if !c.GuardOverride() {
		t.Fatalf("the guard should be off after the interruption")
	}
	r = run418(t, c, k)
	if r.ExitCode != 0 {
		t.Fatalf("the resumed recover.sh: %s", r)
	}
	mustContain(t, "the resumed run", r.Output, "(quorum-guard-off): done by an earlier run", "quorum guard on: etcd/cluster has no unsupportedConfigOverrides")
	if strings.Contains(r.Output, "STILL OPEN") {
		t.Errorf("the resumed, completed run still reports an open duty")
	}
	assertRestored418(t, c)
}

// TestRecover418ByHand: the host scripts run over ssh in the RUNBOOK's order, then
// redeploy.sh, reach the same end state as recover.sh.
func TestRecover418ByHand(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.20.3", Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	runbook := readFile(t, filepath.Join(k.Dir, "RUNBOOK.md"))
	order := []struct {
		hosts  []*Host
		script string
	}{
		{c.Others(), "03-disable-etcd.sh"},
		{[]*Host{c.Recovery()}, "05-restore-etcd.sh"},
	}
	last := -1
	for _, o := range order {
		i := strings.Index(runbook[max(last, 0):], "sudo bash ./"+o.script)
		if i < 0 {
			t.Errorf("RUNBOOK.md does not give %s after the previous script", o.script)
			continue
		}
		last = max(last, 0) + i
	}
	for _, w := range []string{"oc adm wait-for-stable-cluster", `"useUnsupportedUnsafeNonHANonProductionUnstableEtcd": true`, `{"spec": {"unsupportedConfigOverrides": null}}`} {
		if i := strings.Index(runbook, w); i < last {
			t.Errorf("RUNBOOK.md lacks %q after the host scripts", w)
		}
	}
	c.CopyBackup(c.Recovery())
	// The recovery host's script refuses to run on another host.
	before := snapshotHosts(t, c)
	if r := c.RunScriptOn(k, c.Recovery(), c.Hosts[1], "05-restore-etcd.sh", "--yes"); r.ExitCode != 2 {
		t.Errorf("%s's 05-restore-etcd.sh run on %s: want exit 2 (wrong host), got %s", c.Recovery().Hostname, c.Hosts[1].Hostname, r)
	}
	assertNoChangeAnywhere(t, c, before, "/home/core/kit/")
	for _, o := range order {
		for _, h := range o.hosts {
			r := c.RunOnHost(k, h, o.script, "--yes")
			logRun(t, h.Hostname+": "+o.script, r)
			if r.ExitCode != 0 {
				t.Fatalf("%s: sudo bash ./%s --yes: %s", h.Hostname, o.script, r)
			}
		}
	}
	r := c.Run(k, "redeploy.sh", RunOptions{}, "--yes")
	logRun(t, "redeploy.sh --yes", r)
	if r.ExitCode != 0 {
		t.Fatalf("redeploy.sh --yes: %s", r)
	}
	assertRestored418(t, c)
}
