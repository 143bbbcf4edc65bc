package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The coordinator's 4.16 kinds (repair-node, approve-csrs, ovn-control-plane, ovn-node,
// reboot-node) run by a kit's recover.sh --only STEP against the 4.16 simulation, after
// steps 4-8 and 10 were done by hand as in TestSimulatedRestore416.

// restoredCluster416 is a 4.16 cluster after steps 4-8 and 10 done by hand: the other
// masters stopped, the backup restored on the recovery host, every kubelet restarted,
// the API back. The kit's scripts are pushed.
func restoredCluster416(t *testing.T, v Sim416Config) (*Cluster, *Kit) {
	t.Helper()
	tm := Timing{StopDelay: 300 * time.Millisecond, StartDelay: 300 * time.Millisecond, KubeletActivate: 200 * time.Millisecond,
		APIEOF: time.Second, RevisionDelay: 500 * time.Millisecond, NodeDelay: 300 * time.Millisecond}
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.9", Timing: tm, V416: v})
	k := c.BuildKit(KitOptions{})
	rec := c.Recovery()
	ssh := func(h *Host, cmd string) string {
		t.Helper()
		out, err := c.SSH(h, cmd)
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", h.Hostname, cmd, err, out)
		}
		return out
	}
	for _, h := range c.Others() {
		ssh(h, "sudo mkdir -p /var/lib/aside && for p in etcd kube-apiserver kube-controller-manager kube-scheduler; do sudo mv /etc/kubernetes/manifests/$p-pod.yaml /var/lib/aside/; done")
		waitFor(t, 10*time.Second, h.Hostname+" static pods stopped", func() bool {
			return ssh(h, `sudo crictl ps | egrep 'etcd|kube-apiserver|kube-controller-manager|kube-scheduler' | egrep -v "operator|guard" || true`) == ""
		})
		ssh(h, "sudo mv /var/lib/etcd/ /var/lib/aside/")
	}
	c.CopyBackup(rec)
	ssh(rec, "sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup")
	for _, h := range c.Hosts {
		ssh(h, "sudo systemctl restart kubelet.service")
	}
	waitFor(t, 20*time.Second, "the API after the restore", func() bool { _, err := c.OC("whoami"); return err == nil })
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "push-scripts")
	if r.ExitCode != 0 {
		t.Fatalf("push-scripts: %s", r)
	}
	return c, k
}

// movedUnder reports whether a file of rel's name is under the node's kit run
// directories at rel (moved there, not deleted).
func movedUnder(t *testing.T, c *Cluster, h *Host, rel string) bool {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(h.Root, c.QuarantineDir, "restorekit-"+c.Config.Name+"-*", rel))
	return len(matches) > 0
}

// Steps 9 and 11: the node whose certificates rotated stays NotReady and is the only
// one repaired (its PEM files moved into the run directory, kubelet restarted); then
// only its CSRs are approved, the foreign one stays pending, and every node is Ready.
func TestKit416RepairsTheNotReadyNodeAndApprovesOnlyItsCSRs(t *testing.T) {
	c, k := restoredCluster416(t, Sim416Config{Workers: 2, RotatedCerts: []string{"worker-1.sim.example.test"}})
	w0, w1 := c.Workers[0], c.Workers[1]
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "repair-nodes")
	logRun(t, "recover.sh --only repair-nodes", r)
	if r.ExitCode != 0 {
		t.Fatalf("repair-nodes: exit %d", r.ExitCode)
	}
	mustContain(t, "repair-nodes", r.Output, "still NotReady after 30s: "+w1.Name, "repaired: "+w1.Name)
	if !movedUnder(t, c, w1, "var/lib/kubelet/pki/kubelet-client-current.pem") {
		t.Errorf("%s: the PEM files are not in a run directory", w1.Name)
	}
	for _, h := range []*Host{c.Recovery(), c.Hosts[1], w0} {
		if movedUnder(t, c, h, "var/lib/kubelet/pki") {
			t.Errorf("%s (Ready) was repaired too", h.Name)
		}
	}
	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "approve-csrs")
	logRun(t, "recover.sh --only approve-csrs", r)
	if r.ExitCode != 0 {
		t.Fatalf("approve-csrs: exit %d", r.ExitCode)
	}
	mustContain(t, "approve-csrs", r.Output, "left pending: "+ForeignCSRName, ForeignNode+" is not a node of this cluster")
	if s := nodeStatus(t, c, w1.Name); s != "Ready" {
		t.Errorf("%s after step 11: %q", w1.Name, s)
	}
	if p := c.PendingCSRs(); len(p) != 1 || p[0] != ForeignCSRName {
		t.Errorf("pending CSRs %v: only the foreign one must be left", p)
	}
	if _, ok := c.HasEvent("csr-approved-foreign"); ok {
		t.Errorf("the foreign CSR was approved")
	}
	assertNothingLost416(t, c)
}

// Steps 13 and 14: the control-plane pods replaced; node by node the databases moved
// into the run directory, Open vSwitch restarted and the pod replaced; the pod stuck
// Terminating on worker-0 gets 14.d (node deleted, repaired, its CSRs approved).
func TestKit416RebuildsOVNNodeByNode(t *testing.T) {
	c, k := restoredCluster416(t, Sim416Config{Workers: 2, StuckTerminating: "worker-0.sim.example.test"})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "ovn-control-plane")
	logRun(t, "recover.sh --only ovn-control-plane", r)
	if r.ExitCode != 0 {
		t.Fatalf("ovn-control-plane: exit %d", r.ExitCode)
	}
	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "ovn-nodes")
	logRun(t, "recover.sh --only ovn-nodes", r)
	if r.ExitCode != 0 {
		t.Fatalf("ovn-nodes: exit %d", r.ExitCode)
	}
	order := []string{}
	for _, h := range c.Nodes() {
		order = append(order, "step 14: node "+h.Name)
		if !movedUnder(t, c, h, ovnDBDir+"/ovnnb_db.db") {
			t.Errorf("%s: its OVN databases are not in a run directory", h.Name)
		}
		if db := readFileOr(filepath.Join(h.Root, ovnDBDir, "ovnnb_db.db")); !strings.Contains(db, "rebuilt by ovnkube-node-") {
			t.Errorf("%s: the database was not rebuilt: %q", h.Name, db)
		}
	}
	last := 0
	for _, w := range order {
		i := strings.Index(r.Output[last:], w)
		if i < 0 {
			t.Errorf("%q missing or out of order (recovery host, masters, workers)", w)
			break
		}
		last += i
	}
	mustContain(t, "14.d", r.Output, "step 14.d: worker-0.sim.example.test: its ovnkube-node pod is stuck Terminating")
	if _, ok := c.HasEvent("node-deleted worker-0.sim.example.test"); !ok {
		t.Errorf("14.d did not delete the node")
	}
	if p := c.PendingCSRs(); len(p) != 1 || p[0] != ForeignCSRName {
		t.Errorf("pending CSRs %v: only the foreign one must be left", p)
	}
	assertNothingLost416(t, c)
}

// Step 24: every node rebooted, masters first, one at a time, each back and Ready
// before the next; a node that never comes back stops the run naming it.
func TestKit416RebootsNodeByNode(t *testing.T) {
	c, k := restoredCluster416(t, Sim416Config{Workers: 1, RebootDelay: time.Second})
	// Steps 15-21 by hand: etcd redeployed on every master (the restore pod replaced),
	// as before step 24 of a real run.
	if out, err := c.OC("patch", "etcd", "cluster", "--type=merge", "-p", `{"spec":{"forceRedeploymentReason":"recovery-e2e"}}`); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	waitFor(t, 30*time.Second, "the etcd rollout", func() bool {
		out, _ := c.OC("get", "etcd", "cluster", "-o", `jsonpath={range .status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason}{end}`)
		return out == "AllNodesAtLatestRevision" && !strings.Contains(readFileOr(filepath.Join(c.Recovery().Root, manifestsDir, "etcd-pod.yaml")), "restore pod")
	})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "reboot-nodes")
	logRun(t, "recover.sh --only reboot-nodes", r)
	if r.ExitCode != 0 {
		t.Fatalf("reboot-nodes: exit %d", r.ExitCode)
	}
	last := 0
	for _, h := range c.Nodes() {
		w := "[" + h.Name + "] step 24: rebooted, back and Ready"
		i := strings.Index(r.Output[last:], w)
		if i < 0 {
			t.Errorf("%q missing or out of order", w)
			break
		}
		last += i
	}
	w0 := c.Workers[0]
	c.SetFault416(w0, NeverBootsAgain)
	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--from", "reboot-nodes")
	logRun(t, "recover.sh --from reboot-nodes (a node never comes back)", r)
	if r.ExitCode != 3 {
		t.Errorf("exit %d, want 3", r.ExitCode)
	}
	mustContain(t, "the node that does not come back", r.Output, "step 24: "+w0.Name+" did not come back after its reboot", "FAILED: step 24 (reboot-nodes) on "+w0.Name)
}

// 4.5's troubleshooting step: after a recovery that leaves the recovery host NotReady
// (its kubelet certificates rotated after the backup), recover.sh --only repair-nodes
// NODE runs 08-repair-node.sh on that master alone and approves only its CSR; the other
// pending CSR is listed and left, and the master is Ready. A normal run never does it.
func TestKit45RepairsANamedNotReadyMaster(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	rec := c.Recovery()
	c.RotatedKubeletCerts(rec, "system:serviceaccount:openshift-infra:someone")
	k := c.BuildKit(KitOptions{})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (a NotReady master)", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh: exit %d", r.ExitCode)
	}
	if strings.Contains(r.Output, "08-repair-node.sh --yes") {
		t.Errorf("a normal run ran the troubleshooting step")
	}
	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "repair-nodes", rec.Name)
	logRun(t, "recover.sh --only repair-nodes "+rec.Name, r)
	if r.ExitCode != 0 {
		t.Fatalf("repair-nodes: exit %d", r.ExitCode)
	}
	short, _, _ := strings.Cut(rec.Name, ".")
	mustContain(t, "repair-nodes", r.Output, "repairing the node(s) named: "+rec.Name,
		"["+rec.Name+"] running sudo bash restorekit/"+k.Render.Name+"/08-repair-node.sh --yes",
		"approved csr-"+short+" ("+rec.Name+", kubernetes.io/kube-apiserver-client-kubelet, requested by system:node:"+rec.Name+")",
		"left pending: csr-other (requested by system:serviceaccount:openshift-infra:someone",
		"Ready: "+rec.Name+"; no CSR of theirs pending")
	for _, h := range c.Others() {
		if strings.Contains(r.Output, "["+h.Name+"] running") {
			t.Errorf("08-repair-node.sh ran on %s too", h.Name)
		}
	}
	if _, ok := c.HasEvent("csr-approved csr-other"); ok {
		t.Errorf("the other CSR was approved")
	}
	if s := nodeStatus(t, c, rec.Name); s != "Ready" {
		t.Errorf("%s after the repair: %q", rec.Name, s)
	}
}
