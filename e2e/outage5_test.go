package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Scenarios of the smaller things found in the same review (issue "Ready for a real
// outage", item 5): the proxy as install-config gives it, a cluster mid-upgrade, and a
// leftover of an interrupted restore in /var/lib/etcd.

// installConfigProxy is a proxy as install-config.yaml (and so the Proxy's spec) holds
// it: the network operator adds the cluster's own entries to status.noProxy.
var installConfigProxy = &SimProxy{HTTPProxy: "http://proxy.sim.example.test:3128", HTTPSProxy: "http://proxy.sim.example.test:3128",
	NoProxy: ".corp.example.test,192.168.10.0/24"}

// TestRecover45ProxyFromInstallConfig: an inventory whose proxy is install-config's
// passes the preflight of a 4.5 cluster whose status.noProxy the operator expanded
// (with the etcd-<i> names 4.5 still adds); the status values are logged and kept in
// the state directory, and the restore runs with the inventory's proxy.
func TestRecover45ProxyFromInstallConfig(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Proxy: installConfigProxy, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	mustContain(t, "the preflight", r.Output,
		"step 6: proxy noProxy: every entry of the inventory's (.corp.example.test 192.168.10.0/24) is in the cluster's status.noProxy",
		"step 6: the cluster's proxy status, for the restore: httpProxy=http://proxy.sim.example.test:3128 httpsProxy=http://proxy.sim.example.test:3128 noProxy=.cluster.local,.corp.example.test,.svc,10.0.0.0/16,10.128.0.0/14,127.0.0.1,172.30.0.0/16,192.168.10.0/24,api-int.sim.example.test,etcd-0.sim.example.test,etcd-1.sim.example.test,etcd-2.sim.example.test,localhost",
		"proxy.env")
	assertRestored(t, c, false)
}

// TestRecover418ProxyFromInstallConfig: the same on 4.21, whose operator no longer adds
// etcd-<i> names.
func TestRecover418ProxyFromInstallConfig(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.21.2", Proxy: installConfigProxy, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	mustContain(t, "the preflight", r.Output,
		"step 5: proxy noProxy: every entry of the inventory's (.corp.example.test 192.168.10.0/24) is in the cluster's status.noProxy",
		"noProxy=.cluster.local,.corp.example.test,.svc,10.0.0.0/16,10.128.0.0/14,127.0.0.1,172.30.0.0/16,192.168.10.0/24,api-int.sim.example.test,localhost")
	assertRestored418(t, c)
}

// SetVersionHistory makes the cluster's clusterversion status.history these
// "state version" entries, newest first (a cluster mid-upgrade: "Partial 4.5.2").
func (c *Cluster) SetVersionHistory(entries ...string) {
	writeFile(c.t, filepath.Join(c.OCState, "clusterversion-history"), strings.Join(entries, "\n")+"\n", 0o644)
}

// TestRecover45MidUpgrade: a cluster whose newest history entry is a Partial update to
// the kit's release is refused in P1, naming the versions seen, before any change.
func TestRecover45MidUpgrade(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.SetVersionHistory("Partial 4.5.2", "Completed 4.5.1")
	k := c.BuildKit(KitOptions{})
	before := snapshotHosts(t, c)
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (mid-upgrade)", r)
	if r.ExitCode != 1 {
		t.Errorf("exit %d, want 1", r.ExitCode)
	}
	mustContain(t, "the refusal", r.Output,
		"P1: the cluster is not settled at 4.5.2: its newest clusterversion history entry is Partial 4.5.2 (desired 4.5.2; history, newest first: Partial 4.5.2, Completed 4.5.1)",
		"nothing was changed on any host")
	assertNoChangeAnywhere(t, c, before)
}

// TestRecover45EtcdDirLeftover: a restore-<id> directory an interrupted 4.5 restore pod
// left in the recovery host's /var/lib/etcd stops recover.sh in its preflight, before
// step 4 takes etcd down anywhere; 05-restore.sh run by hand stops on it too, listing what
// is there, before any change.
func TestRecover45EtcdDirLeftover(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.PutInEtcdDir(c.Recovery(), "restore-5f2a8c1e/")
	k := c.BuildKit(KitOptions{})
	before := snapshotHosts(t, c)
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (restore-<id> in /var/lib/etcd)", r)
	if r.ExitCode != 1 {
		t.Errorf("exit %d, want 1", r.ExitCode)
	}
	mustContain(t, "the preflight", r.Output,
		"P3: /var/lib/etcd on "+c.Recovery().Name+" must hold nothing but member, but it also holds /var/lib/etcd/restore-5f2a8c1e",
		"nothing was changed on any host")
	assertNoChangeAnywhere(t, c, before)

	c.CopyBackup(c.Recovery())
	before = snapshotHosts(t, c)
	r = c.RunOnHost(k, c.Recovery(), "05-restore.sh", "--yes")
	logRun(t, "05-restore.sh --yes by hand", r)
	if r.ExitCode != 1 {
		t.Errorf("05-restore.sh: exit %d, want 1", r.ExitCode)
	}
	mustContain(t, "05-restore.sh", r.Output, "step 7: /var/lib/etcd holds /var/lib/etcd/restore-5f2a8c1e: the restore pod stops on anything but member there",
		"nothing was changed")
	for _, cmd := range c.Commands() {
		if cmd.Tool == "cluster-restore.sh" {
			t.Errorf("cluster-restore.sh ran although /var/lib/etcd holds a leftover")
		}
	}
	assertNoChangeAnywhere(t, c, before, "/home/core/kit/")
}

// TestRedeploy45WaitOnly: the kubeapiserver rollout of recover.sh times out; once the
// lagging node has moved, redeploy.sh --from 12.1 --wait-only waits for that rollout
// without a second patch, then runs the later steps.
func TestRedeploy45WaitOnly(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.StuckRollouts("kubeapiserver")
	k := c.BuildKit(KitOptions{Rollout: 30 * time.Second})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (kubeapiserver rollout stuck)", r)
	if r.ExitCode != 3 {
		t.Fatalf("exit %d, want 3 (the kubeapiserver rollout times out)", r.ExitCode)
	}
	mustContain(t, "the timeout", r.Output, "FAILED: step 12.1 (redeploy-kubeapiserver), exit 3")
	c.StuckRollouts()
	r = c.Run(k, "redeploy.sh", RunOptions{}, "--yes", "--from", "12.1", "--wait-only")
	logRun(t, "redeploy.sh --yes --from 12.1 --wait-only", r)
	if r.ExitCode != 0 {
		t.Fatalf("redeploy.sh --from 12.1 --wait-only: %s", r)
	}
	mustContain(t, "redeploy.sh", r.Output, "step 12.1: --wait-only: not patching kubeapiserver; waiting for its newest revision")
	patches := map[string]int{}
	for _, cmd := range c.Commands() {
		if cmd.Tool == "oc" && len(cmd.Args) > 1 && cmd.Args[0] == "patch" {
			patches[cmd.Args[1]]++
		}
	}
	for _, op := range []string{"etcd", "kubeapiserver", "kubecontrollermanager", "kubescheduler"} {
		if patches[op] != 1 {
			t.Errorf("%s patched %d times over both runs, want once", op, patches[op])
		}
	}
}
