package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Scenarios of issue 6: each runs a kit built by the real code against a simulated
// cluster and checks the end state and the order of what ran.

// TestRecoverHappyPath is scenario 1: recover.sh --yes on three masters. A second
// recover.sh started while the first is in step 4 is refused.
func TestRecoverHappyPath(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	var second *Result
	inStep4 := func() bool {
		if second == nil && len(filter(c.Commands(), func(c Command) bool { return c.Tool == "mv" })) > 0 {
			r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
			second = &r
		}
		return false
	}
	r := c.Run(k, "recover.sh", RunOptions{Watch: inStep4}, "--yes")
	logRun(t, "recover.sh --yes", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertRestored(t, c, false)
	if second == nil {
		t.Errorf("the second recover.sh never ran")
	} else if second.ExitCode != 2 || !strings.Contains(second.Output, "another recover.sh") {
		t.Errorf("a second recover.sh during the first: want exit 2 naming the other run, got %s", second)
	}
	if left, _ := filepath.Glob(filepath.Join(c.Work, "tmp", "*")); len(left) > 0 {
		t.Errorf("recover.sh left %v in TMPDIR", left)
	}
	if pids := c.clientLeftovers(); len(pids) > 0 {
		t.Errorf("recover.sh left %d ssh processes running (pids %v)", len(pids), pids)
	}
	// ControlMaster: one ssh login per master would be ideal; allow a few more.
	if n := c.AcceptedLogins(); n > 3*len(c.Hosts) {
		t.Errorf("recover.sh opened %d ssh connections to %d masters: the persistent connections are not reused", n, len(c.Hosts))
	}
}

// TestRecoverFiveMastersProxyJumpHost is scenario 2: five masters behind a cluster-wide
// proxy, reached only through a jump host, with the backup inside the kit, run from what
// the kit's self-extracting .run unpacked.
func TestRecoverFiveMastersProxyJumpHost(t *testing.T) {
	proxy := &SimProxy{HTTPProxy: "http://proxy.sim.example.test:3128", HTTPSProxy: "http://proxy.sim.example.test:3128",
		NoProxy: ".cluster.local,.svc,10.128.0.0/14,127.0.0.1,172.30.0.0/16,api-int.sim.example.test,localhost"}
	c := NewCluster(t, ClusterConfig{Masters: 5, Proxy: proxy, JumpHost: true, ShortHostnames: true, Timing: FastTiming})
	k := c.BuildKit(KitOptions{IncludeBackup: true, ViaRun: true, QuarantineDir: "/home/core/quarantine"})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertRestored(t, c, false)
	// Every connection to a master went through the jump host.
	if jumps := strings.Count(readFileOr(c.Jump.SSHDLog), "Accepted publickey for core"); jumps < c.AcceptedLogins() {
		t.Errorf("%d logins on the masters but only %d on the jump host", c.AcceptedLogins(), jumps)
	}
}

// TestRecoverByHand is scenario 3: each host script run over ssh in the RUNBOOK's order,
// then redeploy.sh, reaches the same end state as recover.sh.
func TestRecoverByHand(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	runbook := readFile(t, filepath.Join(k.Dir, "RUNBOOK.md"))
	order := []struct {
		hosts  []*Host
		script string
	}{
		{c.Others(), "04-stop-static-pods.sh"},
		{[]*Host{c.Recovery()}, "05-restore.sh"},
		{[]*Host{c.Recovery()}, "08-restart-kubelet.sh"},
		{c.Others(), "08-restart-kubelet.sh"},
	}
	// The RUNBOOK must give the scripts in this order.
	last := -1
	for _, o := range order {
		i := strings.Index(runbook[max(last, 0):], o.script)
		if i < 0 {
			t.Errorf("RUNBOOK.md does not name %s after the previous script", o.script)
			continue
		}
		last = max(last, 0) + i
	}
	c.CopyBackup(c.Recovery())

	// Mistakes a person can make are refused before anything changes (exit 2): the
	// recovery host's 05-restore.sh on another master, and no --yes without a terminal.
	before := snapshotHosts(t, c)
	if r := c.RunScriptOn(k, c.Recovery(), c.Hosts[1], "05-restore.sh", "--yes"); r.ExitCode != 2 {
		t.Errorf("%s's 05-restore.sh run on %s: want exit 2 (wrong host), got %s", c.Recovery().Hostname, c.Hosts[1].Hostname, r)
	}
	if r := c.RunOnHost(k, c.Hosts[1], "04-stop-static-pods.sh"); r.ExitCode != 2 {
		t.Errorf("04-stop-static-pods.sh without --yes and without a terminal: want exit 2, got %s", r)
	}
	// The refused runs copied their scripts to ~/kit; nothing else may differ.
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
	assertRestored(t, c, true)
}

// TestRecoverDryRun is scenario 4: --dry-run changes nothing on any host.
func TestRecoverDryRun(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	before := snapshotHosts(t, c)
	r := c.Run(k, "recover.sh", RunOptions{}, "--dry-run")
	logRun(t, "recover.sh --dry-run", r)
	if r.ExitCode != 0 {
		t.Errorf("recover.sh --dry-run: %s", r)
	}
	assertNoChangeAnywhere(t, c, before)
	// It shows what it would do on each host.
	for _, h := range c.Hosts {
		mustContain(t, "recover.sh --dry-run", r.Output, h.Name)
	}
	mustContain(t, "recover.sh --dry-run", r.Output, "cluster-restore.sh", "oc patch etcd")
}

// expectFault runs recover.sh --yes and checks the failure: a non-zero exit (want, when
// not 0), a message naming the step and the host, and nothing lost.
func expectFault(t *testing.T, c *Cluster, k *Kit, want int, step string, host *Host) Result {
	t.Helper()
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes", r)
	if r.ExitCode == 0 || (want != 0 && r.ExitCode != want) {
		t.Errorf("recover.sh --yes: exit %d, want %d", r.ExitCode, want)
	}
	mustContain(t, "the failure message", r.Output, "step "+step)
	if host != nil && !strings.Contains(r.Output, host.Name) && !strings.Contains(r.Output, host.Hostname) {
		t.Errorf("the failure message does not name the host %s", host.Name)
	}
	assertNothingLost(t, c)
	return r
}

// TestFaultHostUnreachable: a master unreachable at preflight stops everything before
// any change.
func TestFaultHostUnreachable(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	c.StopSSHD(c.Hosts[2])
	before := snapshotHosts(t, c)
	expectFault(t, c, k, 1, "", c.Hosts[2])
	assertNoChangeAnywhere(t, c, before)
}

// TestFaultWrongHostname: a host whose hostname is not the inventory's is refused.
func TestFaultWrongHostname(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{Hostnames: map[string]string{c.Hosts[1].Name: "master-9.sim.example.test"}})
	before := snapshotHosts(t, c)
	r := expectFault(t, c, k, 0, "", c.Hosts[1])
	mustContain(t, "the failure message", r.Output, "master-9.sim.example.test")
	assertNoChangeAnywhere(t, c, before)
}

// TestFaultClusterVersionDiffers: P1, the backup's release must be the cluster's.
func TestFaultClusterVersionDiffers(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.5.3", Timing: FastTiming})
	k := c.BuildKit(KitOptions{Version: "4.5.2"})
	before := snapshotHosts(t, c)
	r := expectFault(t, c, k, 1, "", nil)
	mustContain(t, "the failure message", r.Output, "P1", "4.5.3", "4.5.2")
	assertNoChangeAnywhere(t, c, before)
}

// TestFaultProxyDiffers: step 6, the cluster's proxy must be the inventory's.
func TestFaultProxyDiffers(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming,
		Proxy: &SimProxy{HTTPProxy: "http://proxy-new.sim.example.test:3128", HTTPSProxy: "http://proxy-new.sim.example.test:3128", NoProxy: ".svc,localhost"}})
	k := c.BuildKit(KitOptions{Proxy: &SimProxy{HTTPProxy: "http://proxy.sim.example.test:3128", HTTPSProxy: "http://proxy.sim.example.test:3128", NoProxy: ".svc,localhost"}})
	before := snapshotHosts(t, c)
	r := expectFault(t, c, k, 1, "6", nil)
	mustContain(t, "the failure message", r.Output, "proxy-new.sim.example.test")
	assertNoChangeAnywhere(t, c, before)
}

// TestFaultBackupChecksumDiffers: the backup copied to the recovery host is damaged
// there after the copy; 05-restore.sh refuses it before cluster-restore.sh runs.
func TestFaultBackupChecksumDiffers(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--only", "copy-backup")
	logRun(t, "recover.sh --yes --only copy-backup", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --only copy-backup: %s", r)
	}
	snap := filepath.Join(c.Recovery().Root, "home/core/backup", c.Backup[0].Name)
	f, err := os.OpenFile(snap, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("bit rot"), 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r = expectFault(t, c, k, 1, "", c.Recovery())
	mustContain(t, "the failure message", r.Output, c.Backup[0].Name)
	for _, cmd := range c.Commands() {
		if cmd.Tool == "cluster-restore.sh" || (cmd.Host == c.Recovery().Name && cmd.Tool == "mv") {
			t.Errorf("the recovery host was changed despite the damaged backup: %s", cmd)
		}
	}
}

// TestFaultEtcdNeverStops: step 4 times out on the host whose etcd does not stop, and no
// later step runs.
func TestFaultEtcdNeverStops(t *testing.T) {
	t.Parallel() // mostly waiting for the timeout
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.SetFault(c.Hosts[2], "SIM_STUCK=etcd")
	k := c.BuildKit(KitOptions{})
	expectFault(t, c, k, 3, "4", c.Hosts[2])
	for _, cmd := range c.Commands() {
		if cmd.Tool == "cluster-restore.sh" || isKubeletRestart(cmd) || (cmd.Tool == "oc" && len(cmd.Args) > 0 && cmd.Args[0] == "patch") {
			t.Errorf("a step after 4 ran: %s", cmd)
		}
	}
	if n := len(movesOf(c.Commands(), c.Hosts[2], "/var/lib/etcd")); n != 0 {
		t.Errorf("%s: etcd data moved while etcd still runs", c.Hosts[2].Hostname)
	}
}

// TestFaultClusterRestoreFails: cluster-restore.sh fails on the recovery host (after it
// stopped the static pods); recover.sh stops there.
func TestFaultClusterRestoreFails(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.SetFault(c.Recovery(), "SIM_RESTORE_FAIL=late")
	k := c.BuildKit(KitOptions{})
	expectFault(t, c, k, 1, "7", c.Recovery())
	for _, cmd := range c.Commands() {
		if isKubeletRestart(cmd) || (cmd.Tool == "oc" && len(cmd.Args) > 0 && cmd.Args[0] == "patch") {
			t.Errorf("a step after 7 ran: %s", cmd)
		}
	}
}

// TestFaultRolloutNeverCompletes: the kube-apiserver rollout never reaches the latest
// revision on one node: step 12.1 times out and 12.2 never starts.
func TestFaultRolloutNeverCompletes(t *testing.T) {
	t.Parallel() // mostly waiting for the timeout
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.StuckRollouts("kubeapiserver")
	k := c.BuildKit(KitOptions{Rollout: 30 * time.Second})
	r := expectFault(t, c, k, 3, "12.1", nil)
	mustContain(t, "the failure message", r.Output, "kubeapiserver")
	for _, cmd := range c.Commands() {
		if cmd.Tool == "oc" && len(cmd.Args) > 1 && cmd.Args[0] == "patch" && (cmd.Args[1] == "kubecontrollermanager" || cmd.Args[1] == "kubescheduler") {
			t.Errorf("a step after 12.1 ran: %s", cmd)
		}
	}
}

// TestResumeAfterInterrupt: the coordinator is interrupted (Ctrl-C) in the middle of
// step 4 and killed (SIGKILL) in step 11; each re-run resumes, and the end state is scenario 1's with nothing
// moved twice and no rollout forced twice.
func TestResumeAfterInterrupt(t *testing.T) {
	timing := FastTiming
	timing.StopDelay = 4 * time.Second
	timing.NodeDelay = 2 * time.Second
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: timing})
	k := c.BuildKit(KitOptions{})

	inStep4 := func() bool {
		for _, cmd := range c.Commands() {
			if cmd.Tool == "mv" && cmd.Host != c.Recovery().Name && strings.Contains(cmd.Line(), "/etcd-pod.yaml") {
				return true
			}
		}
		return false
	}
	r := c.Run(k, "recover.sh", RunOptions{Watch: inStep4}, "--yes")
	logRun(t, "recover.sh --yes (interrupted in step 4)", r)
	if r.ExitCode == 0 {
		t.Fatalf("the interrupted run exited 0")
	}
	for _, cmd := range c.Commands() {
		if cmd.Tool == "cluster-restore.sh" {
			t.Fatalf("the run interrupted in step 4 went on to step 7")
		}
	}
	// Ctrl-C stops the host scripts too: none may go on working behind a re-run.
	deadline := time.Now().Add(5 * time.Second)
	for _, h := range c.Others() {
		for len(h.Processes("04-stop-static-pods.sh")) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if pids := h.Processes("04-stop-static-pods.sh"); len(pids) > 0 {
			t.Errorf("%s: 04-stop-static-pods.sh still running 5s after recover.sh was interrupted (pids %v)", h.Hostname, pids)
		}
	}

	inStep11 := func() bool {
		patched, done := false, false
		for _, e := range c.Events() {
			patched = patched || strings.HasPrefix(e.Text, "patch etcd ")
			done = done || strings.HasPrefix(e.Text, "rollout-complete etcd")
		}
		return patched && !done
	}
	r = c.Run(k, "recover.sh", RunOptions{Watch: inStep11, Signal: syscall.SIGKILL}, "--yes")
	logRun(t, "recover.sh --yes (killed in step 11)", r)
	if r.ExitCode == 0 {
		t.Fatalf("the run interrupted in step 11 exited 0")
	}

	r = c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (resumed)", r)
	if r.ExitCode != 0 {
		t.Fatalf("resumed recover.sh --yes: %s", r)
	}
	assertRestored(t, c, false)
}

// TestRestoreTwiceKeepsEtcdBackup: 05-restore.sh run a second time (after the kubelet
// brought up the restored member) must not let cluster-restore.sh delete the first
// run's /var/lib/etcd-backup, which holds the original data.
func TestRestoreTwiceKeepsEtcdBackup(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	rec := c.Recovery()
	c.CopyBackup(rec)
	for _, h := range c.Others() {
		if r := c.RunOnHost(k, h, "04-stop-static-pods.sh", "--yes"); r.ExitCode != 0 {
			t.Fatalf("%s: 04-stop-static-pods.sh: %s", h.Hostname, r)
		}
	}
	r := c.RunOnHost(k, rec, "05-restore.sh", "--yes")
	logRun(t, "05-restore.sh --yes (first)", r)
	if r.ExitCode != 0 {
		t.Fatalf("05-restore.sh: %s", r)
	}
	first := treeSums(t, filepath.Join(rec.Root, etcdBackup))
	if r := c.RunOnHost(k, rec, "08-restart-kubelet.sh", "--yes"); r.ExitCode != 0 {
		t.Fatalf("08-restart-kubelet.sh: %s", r)
	}
	r = c.RunOnHost(k, rec, "05-restore.sh", "--yes")
	logRun(t, "05-restore.sh --yes (second)", r)
	files := rec.HostFiles(t)
	for rel, sum := range first {
		if len(files[sum]) == 0 {
			t.Errorf("/var/lib/etcd-backup/%s of the first run is gone after the second run (exit %d)", rel, r.ExitCode)
		}
	}
	assertNothingLost(t, c)
}

// TestFaultRestoreHangs: on the recovery host etcd never stops, so cluster-restore.sh
// waits for it forever (as the real one does); 05-restore.sh ends it at its timeout
// (step 7, exit 3) and nothing after step 7 runs.
func TestFaultRestoreHangs(t *testing.T) {
	t.Parallel() // mostly waiting for the timeout
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.SetFault(c.Recovery(), "SIM_STUCK=etcd")
	k := c.BuildKit(KitOptions{Restore: 30 * time.Second})
	expectFault(t, c, k, 3, "7", c.Recovery())
	for _, cmd := range c.Commands() {
		if isKubeletRestart(cmd) || (cmd.Tool == "oc" && len(cmd.Args) > 0 && cmd.Args[0] == "patch") {
			t.Errorf("a step after 7 ran: %s", cmd)
		}
	}
	// The hung cluster-restore.sh was stopped, not left running on the host.
	if pids := c.Recovery().Processes("cluster-restore.sh"); len(pids) > 0 {
		t.Errorf("cluster-restore.sh still running on the recovery host after the timeout (pids %v)", pids)
	}
}
