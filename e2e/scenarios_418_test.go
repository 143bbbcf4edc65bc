package e2e

import (
	"path/filepath"
	"strings"
	"testing"
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
	if s := readFile(t, filepath.Join(k.Dir, "hosts", c.Hosts[1].Name, "disable-etcd.sh")); strings.Contains(s, "etcd-backup-server") {
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
