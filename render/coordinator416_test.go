package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// The coordinator's part of the 4.16 kinds, run against the fakes of testdata/coord
// with the 4.16 inventory of testdata/inventory (three masters, two workers). These
// tests do not run in parallel: the profile is rendered before it is offered.

const (
	w0 = "worker-0.ocp416.example.com"
	w1 = "worker-1.ocp416.example.com"
)

// newCoordEnv416 renders the 4.16 kit with short waits and sets up its fake hosts.
func newCoordEnv416(t *testing.T, tweak func(*inventory.Inventory)) *coordEnv {
	t.Helper()
	dir := t.TempDir()
	inv := render.LoadInventory416(t)
	sec := inventory.Duration(time.Second)
	inv.Timeouts.PollInterval = sec
	inv.Timeouts.KubeletRestart = 3 * sec
	inv.Backup.RemoteDir = filepath.Join(dir, "recovery-host-backup")
	inv.QuarantineDir = filepath.Join(dir, "quarantine")
	if tweak != nil {
		tweak(inv)
	}
	kit := render.RenderInventory(t, inv)
	e := newCoordEnvFor(t, dir, inv, kit, filepath.Join("..", "examples", "backup-3"))
	var nodes []string
	for _, n := range inv.Nodes() {
		nodes = append(nodes, n.Name)
	}
	e.env = append(e.env, "FAKE_NODES="+strings.Join(nodes, " "))
	e.mustRun(0, "recover.sh", "--yes", "--only", "push-scripts")
	e.calls()
	return e
}

// hostRuns are the addresses a host script ran on, in order.
func hostRuns(calls []coordCall, script string) []string {
	var out []string
	for _, c := range calls {
		if c.Tool == "host" && len(c.Args) > 1 && c.Args[1] == script {
			out = append(out, c.Args[0])
		}
	}
	return out
}

// approved are the CSRs oc adm certificate approve was called for.
func approved(calls []coordCall) []string {
	var out []string
	for _, c := range calls {
		if c.Tool == "oc" && len(c.Args) > 3 && c.Args[0] == "adm" && c.Args[2] == "approve" {
			out = append(out, c.Args[3])
		}
	}
	return out
}

// The workers are hosts of a 4.16 kit: after the masters in the plan, in ssh_config,
// with their scripts (the steps on every node only), every node step going over them
// last.
func TestPlan416WorkersAreHosts(t *testing.T) {
	inv := render.LoadInventory416(t)
	kit := render.RenderInventory(t, inv)
	var names []string
	for _, h := range kit.Plan.Hosts {
		names = append(names, h.Name)
		if h.IsWorker != strings.HasPrefix(h.Name, "worker-") {
			t.Errorf("%s: IsWorker %v", h.Name, h.IsWorker)
		}
	}
	want := []string{"master-0.ocp416.example.com", "master-1.ocp416.example.com", "master-2.ocp416.example.com", w0, w1}
	if !slices.Equal(names, want) {
		t.Errorf("hosts %v, want %v", names, want)
	}
	for _, s := range kit.Plan.Steps {
		got := s.HostNames(kit.Plan)
		switch s.Where {
		case render.OnAllNodes:
			if !slices.Equal(got, want) {
				t.Errorf("%s runs on %v, want every node %v", s.ID, got, want)
			}
		case render.OnOtherMasters, render.OnAllMasters:
			if slices.Contains(got, w0) {
				t.Errorf("%s (on %s) runs on a worker: %v", s.ID, s.Where, got)
			}
		}
	}
	cfg := string(kit.File("ssh_config").Data)
	if !strings.Contains(cfg, "# worker 3\nHost "+w0+"\n  HostName 10.0.16.20\n") {
		t.Errorf("ssh_config has no block for %s:\n%s", w0, cfg)
	}
	for _, f := range []string{"09-repair-node.sh", "14-ovn-node.sh", "24-reboot-node.sh"} {
		if kit.File("hosts/"+w1+"/"+f) == nil {
			t.Errorf("%s has no %s", w1, f)
		}
	}
	if kit.File("hosts/"+w1+"/10-restart-kubelet.sh") != nil || kit.File("hosts/"+w1+"/04-stop-static-pods.sh") != nil {
		t.Errorf("a worker got a control-plane script")
	}
	rec := string(kit.File("recover.sh").Data)
	if !strings.Contains(rec, "HOST_NAME[4]="+w1+"\n") || !strings.Contains(rec, "OTHER_INDEXES=(1 2)") {
		t.Errorf("recover.sh host tables: workers listed, OTHER_INDEXES the other masters only")
	}
	script := string(kit.File("hosts/" + w0 + "/14-ovn-node.sh").Data)
	if !strings.Contains(script, "on one worker node.") || !strings.Contains(script, "# Role:     a worker node") {
		t.Errorf("a worker's script header does not say it is a worker's")
	}
}

// Step 11 approves the pending client and serving CSRs of the inventory's nodes only,
// and lists every other pending CSR, with why it is left.
func TestApproveCSRs416ApprovesOnlyTheClustersNodes(t *testing.T) {
	e := newCoordEnv416(t, nil)
	e.env = append(e.env, "FAKE_NOTREADY="+w1, "FAKE_CSR416="+strings.Join([]string{
		"csr-client|kubernetes.io/kube-apiserver-client-kubelet|system:serviceaccount:openshift-machine-config-operator:node-bootstrapper|system:node:" + w1,
		"csr-serving|kubernetes.io/kubelet-serving|system:node:" + w1 + "|system:node:" + w1,
		"csr-foreign|kubernetes.io/kube-apiserver-client-kubelet|system:serviceaccount:openshift-machine-config-operator:node-bootstrapper|system:node:intruder.example.test",
		"csr-crossed|kubernetes.io/kubelet-serving|system:node:" + w0 + "|system:node:" + w1,
		"csr-app|example.com/app|system:serviceaccount:apps:builder|system:node:" + w0,
	}, ";"))
	out := e.mustRun(0, "recover.sh", "--yes", "--only", "approve-csrs")
	calls := e.calls()
	if got := approved(calls); !slices.Equal(got, []string{"csr-client", "csr-serving"}) {
		t.Errorf("approved %v, want the client and serving CSRs of %s only\n%s", got, w1, out)
	}
	for _, want := range []string{
		"left pending: csr-foreign (requested by system:serviceaccount:openshift-machine-config-operator:node-bootstrapper, signer kubernetes.io/kube-apiserver-client-kubelet, system:node:intruder.example.test): intruder.example.test is not a node of this cluster (the inventory)",
		"left pending: csr-crossed (requested by system:node:" + w0 + ", signer kubernetes.io/kubelet-serving, system:node:" + w1 + "): requested by system:node:" + w0 + ", who may not ask for system:node:" + w1,
		"left pending: csr-app (requested by system:serviceaccount:apps:builder, signer example.com/app, system:node:" + w0 + "): signer example.com/app is not a kubelet signer",
		"approved: csr-client (" + w1 + ", kubernetes.io/kube-apiserver-client-kubelet, requested by system:serviceaccount:openshift-machine-config-operator:node-bootstrapper); csr-serving (" + w1 + ", kubernetes.io/kubelet-serving, requested by system:node:" + w1 + ")",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "  left pending: csr-foreign") != 1 {
		t.Errorf("the foreign CSR is listed more than once:\n%s", out)
	}
}

// A node that stays NotReady without a CSR of its own stops step 11 at its timeout,
// naming it.
func TestApproveCSRs416StopsNamingANodeThatStaysNotReady(t *testing.T) {
	e := newCoordEnv416(t, nil)
	e.env = append(e.env, "FAKE_NOTREADY="+w0)
	out := e.mustRun(3, "recover.sh", "--yes", "--only", "approve-csrs")
	if !strings.Contains(out, "not Ready: "+w0) || !strings.Contains(out, "--only repair-nodes NODE") {
		t.Errorf("the timeout does not name %s and the repair:\n%s", w0, out)
	}
	if got := approved(e.calls()); len(got) != 0 {
		t.Errorf("approved %v", got)
	}
}

// Step 9 watches the nodes and runs 09-repair-node.sh only on the node that stays
// NotReady; every Ready node is left alone. Named after --only, exactly that node.
func TestRepairNode416RunsOnlyOnNotReadyNodes(t *testing.T) {
	e := newCoordEnv416(t, nil)
	e.env = append(e.env, "FAKE_NOTREADY="+w1)
	out := e.mustRun(0, "recover.sh", "--yes", "--only", "repair-nodes")
	if got := hostRuns(e.calls(), "09-repair-node.sh"); !slices.Equal(got, []string{"10.0.16.21"}) {
		t.Errorf("09-repair-node.sh ran on %v, want %s (10.0.16.21) only\n%s", got, w1, out)
	}
	if !strings.Contains(out, "still NotReady after 3s: "+w1) || !strings.Contains(out, "repaired: "+w1+"; their CSRs are approved in a later step") {
		t.Errorf("the step does not name the node it repaired:\n%s", out)
	}

	e = newCoordEnv416(t, nil)
	out = e.mustRun(0, "recover.sh", "--yes", "--only", "repair-nodes")
	if got := hostRuns(e.calls(), "09-repair-node.sh"); len(got) != 0 || !strings.Contains(out, "every node is Ready: nothing to repair") {
		t.Errorf("every node Ready: 09-repair-node.sh ran on %v\n%s", got, out)
	}

	e = newCoordEnv416(t, nil)
	out = e.mustRun(0, "recover.sh", "--yes", "--only", "repair-nodes", "master-2.ocp416.example.com")
	if got := hostRuns(e.calls(), "09-repair-node.sh"); !slices.Equal(got, []string{"10.0.16.12"}) {
		t.Errorf("--only repair-nodes master-2: ran on %v\n%s", got, out)
	}
	out = e.mustRun(2, "recover.sh", "--yes", "--only", "repair-nodes", "intruder.example.test")
	if !strings.Contains(out, "intruder.example.test is not one of this step's nodes") {
		t.Errorf("a node not in the inventory: %s", out)
	}
}

// ocFake runs the fake oc of testdata/coord in the test's world (what the on-host
// redeployment does to the cluster, here done by the test).
func (e *coordEnv) ocFake(args ...string) {
	e.t.Helper()
	bin, err := filepath.Abs(filepath.Join("testdata", "coord", "bin", "oc"))
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "FAKE_ROOT="+e.fake), e.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("oc %v: %v\n%s", args, err, out)
	}
}

// Steps 16-17 run on the recovery host, step 20 waits from the workstation: the etcd
// revision is read before the on-host step is dispatched, and step 20 waits for a
// higher one on every node; without a recorded revision it stops and says what to do.
func TestWaitRollout416WaitsAboveTheRevisionReadBeforeTheRedeployment(t *testing.T) {
	e := newCoordEnv416(t, nil)
	out := e.mustRun(1, "recover.sh", "--yes", "--only", "wait-etcd")
	if !strings.Contains(out, "no etcd revision was recorded before the redeployment: run ./recover.sh --from redeploy-etcd") {
		t.Errorf("wait-etcd without a recorded revision:\n%s", out)
	}
	out = e.mustRun(0, "recover.sh", "--yes", "--only", "redeploy-etcd")
	calls := e.calls()
	read, ran := -1, -1
	for i, c := range calls {
		if c.Tool == "oc" && strings.Contains(c.String(), "get etcd cluster -o jsonpath={.status.latestAvailableRevision}") && read < 0 {
			read = i
		}
		if c.Tool == "host" && len(c.Args) > 1 && c.Args[1] == "16-force-redeploy-on-host.sh" {
			ran = i
		}
	}
	if read < 0 || ran < 0 || read > ran || !strings.Contains(out, "etcd latestAvailableRevision before the redeployment: 7") {
		t.Fatalf("the revision is not read before force-redeploy-on-host.sh (read at %d, ran at %d):\n%s", read, ran, out)
	}
	e.ocFake("patch", "etcd", "cluster", "--type=merge", "-p", `{"spec":{"forceRedeploymentReason":"recovery-by-the-host"}}`)
	out = e.mustRun(0, "recover.sh", "--yes", "--only", "wait-etcd")
	if !strings.Contains(out, "revision 8 (was 7); NodeInstallerProgressing: AllNodesAtLatestRevision") {
		t.Errorf("wait-etcd does not wait for the new revision:\n%s", out)
	}
}
