package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Re-runs after a completed recovery (findings 4): restoring a recovered cluster again
// throws away everything written since, so the kit refuses it unless told --again.

// TestRerunAfterRecovery: after a completed recover.sh --yes, the same kit run from a
// fresh state directory (a colleague's workstation, or its state directory deleted) stops at
// preflight, naming every host with a completed run and the way forward, and changes
// nothing; a deliberate re-run with --again then recovers the cluster once more and
// loses nothing.
func TestRerunAfterRecovery(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	rec := c.Recovery()
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (first recovery)", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertRestored(t, c, false)
	if t.Failed() {
		t.FailNow()
	}
	recovered := snapshotHosts(t, c)
	recoveredFiles := map[*Host]map[string][]string{}
	for _, h := range c.Hosts {
		recoveredFiles[h] = h.HostFiles(t)
	}
	firstRun := len(c.Commands())
	state := filepath.Join(c.Work, "state-elsewhere")

	t.Run("refused without --again", func(t *testing.T) {
		start := time.Now()
		r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--state-dir", state)
		logRun(t, "recover.sh --yes --state-dir "+state, r)
		if r.ExitCode == 0 {
			t.Errorf("recover.sh --yes with a fresh state dir after a completed recovery: exit 0, want it refused at preflight: %s", r)
		}
		mustContain(t, "the refusal", r.Output, "an earlier recovery of this cluster completed", "--again", "oc get pods -n openshift-etcd")
		// Every host with a completed run is named, with the script and where its run went.
		prefix := filepath.Join(c.QuarantineDir, "restorekit-"+c.Config.Name+"-")
		mustContain(t, "the refusal", r.Output, rec.Name+": 05-restore.sh completed in "+prefix)
		for _, h := range c.Others() {
			mustContain(t, "the refusal", r.Output, h.Name+": 04-stop-static-pods.sh completed in "+prefix)
		}
		// It stopped at preflight: no other step began.
		mustContain(t, "the refusal", r.Output, "==> step P1-P5, 1, 2 (preflight)")
		for _, line := range strings.Split(r.Output, "\n") {
			if strings.Contains(line, "==> step ") && !strings.Contains(line, "(preflight)") {
				t.Errorf("the refused run went on past preflight: %q", line)
			}
		}
		assertNoChangeSince(t, c, firstRun, start, recovered)
		if n := len(filter(c.Commands(), func(c Command) bool { return c.Tool == "cluster-restore.sh" })); n != 1 {
			t.Errorf("cluster-restore.sh ran %d times, want once", n)
		}
	})

	t.Run("--again recovers again", func(t *testing.T) {
		start := time.Now()
		r := c.Run(k, "recover.sh", RunOptions{}, "--yes", "--again", "--state-dir", state)
		logRun(t, "recover.sh --yes --again --state-dir "+state, r)
		if r.ExitCode != 0 {
			t.Fatalf("recover.sh --yes --again: %s", r)
		}
		mustContain(t, "recover.sh --again", r.Output, "an earlier recovery completed here", "the control plane is restored")
		cmds := c.Commands()
		again := cmds[firstRun:]

		// The restore ran a second time, on the recovery host only, with the backup dir.
		restores := filter(cmds, func(c Command) bool { return c.Tool == "cluster-restore.sh" })
		if len(restores) != 2 || restores[1].Host != rec.Name || strings.Join(restores[1].Args, " ") != "/home/core/backup" || restores[1].Time.Before(start) {
			t.Errorf("--again: want cluster-restore.sh /home/core/backup once more on %s, got %v", rec.Name, restores)
		}
		// Step 4 again on every other host: each manifest and the etcd data moved once more.
		for _, h := range c.Others() {
			for _, p := range []string{"/etc/kubernetes/manifests/etcd-pod.yaml", "/etc/kubernetes/manifests/kube-apiserver-pod.yaml", "/var/lib/etcd"} {
				if n := len(movesOf(again, h, p)); n != 1 {
					t.Errorf("%s: --again: %s moved %d times in the second run, want once", h.Hostname, p, n)
				}
			}
		}
		// Kubelet restarted everywhere after the second restore, the recovery host first.
		var recRestart time.Time
		for _, h := range c.Hosts {
			rs := filter(again, func(c Command) bool { return c.Host == h.Name && isKubeletRestart(c) })
			if len(rs) == 0 {
				t.Errorf("%s: --again: kubelet not restarted", h.Hostname)
				continue
			}
			if len(restores) == 2 && rs[0].Time.Before(restores[1].Time) {
				t.Errorf("%s: --again: kubelet restarted before the second restore", h.Hostname)
			}
			if h == rec {
				recRestart = rs[0].Time
			} else if rs[0].Time.Before(recRestart) {
				t.Errorf("%s: --again: kubelet restarted before the recovery host's", h.Hostname)
			}
		}

		// The four operators patched again, in order, with reasons never used before.
		var accepted []string
		reasons := map[string]bool{}
		var lastComplete time.Time
		for _, e := range c.Events() {
			var op, reason string
			if n, _ := fmt.Sscanf(e.Text, "patch %s %q", &op, &reason); n == 2 {
				accepted = append(accepted, op)
				if reasons[reason] {
					t.Errorf("--again: forceRedeploymentReason %q used twice", reason)
				}
				reasons[reason] = true
			}
			if strings.HasPrefix(e.Text, "patch-no-change ") {
				t.Errorf("--again: a patch changed nothing (reason reused): %s", e.Text)
			}
			if strings.HasPrefix(e.Text, "rollout-complete kubescheduler ") {
				lastComplete = e.Time
			}
		}
		ops := "etcd kubeapiserver kubecontrollermanager kubescheduler"
		if got := strings.Join(accepted, " "); got != ops+" "+ops {
			t.Errorf("operators patched %q, want the four twice: %q", got, ops+" "+ops)
		}
		// End state: every host runs a rolled-out revision one further than the first
		// recovery's, and the final check saw one etcd pod per master.
		for _, h := range c.Hosts {
			for _, p := range staticPods {
				m := readFileOr(filepath.Join(h.Root, manifestsDir, p.Pod+"-pod.yaml"))
				if !strings.Contains(m, fmt.Sprintf("revision: \"%d\"", p.Revision+2)) || !strings.Contains(m, "revision-from-rollout") {
					t.Errorf("%s: %s-pod.yaml is not the rolled-out revision %d:\n%s", h.Hostname, p.Pod, p.Revision+2, m)
				}
			}
		}
		final := false
		for _, e := range c.Events() {
			if e.Text == fmt.Sprintf("etcd-pods-running %d", len(c.Hosts)) && !lastComplete.IsZero() && e.Time.After(lastComplete) {
				final = true
			}
		}
		if !final {
			t.Errorf("step 13: oc never showed %d Running etcd pods after the second round of rollouts", len(c.Hosts))
		}

		// Nothing lost: the originals from before the outage, and every file the first
		// recovery left (its quarantines, /var/lib/etcd-backup, the rolled-out manifests,
		// the joined members' data) are still on their host with the same sha256.
		assertNothingLost(t, c)
		for _, h := range c.Hosts {
			now := h.HostFiles(t)
			for sum, paths := range recoveredFiles[h] {
				if len(now[sum]) == 0 {
					t.Errorf("%s: %v (sha256 %s…) of the first recovery is lost after --again", h.Hostname, paths, sum[:12])
				}
			}
		}
	})
}

// TestRestoreByHandAfterRecovery: the RUNBOOK's host scripts after a completed recovery
// by hand. 05-restore.sh right after the restore (before the rollouts) finds its restore
// pod in place and does nothing; once the cluster has moved on it refuses (exit 2), and
// so does 04-stop-static-pods.sh on the other masters: nothing changes on any host.
func TestRestoreByHandAfterRecovery(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	k := c.BuildKit(KitOptions{})
	rec := c.Recovery()
	c.CopyBackup(rec)
	byHand := func(h *Host, script string, args ...string) Result {
		t.Helper()
		r := c.RunOnHost(k, h, script, args...)
		logRun(t, h.Hostname+": "+script+" "+strings.Join(args, " "), r)
		return r
	}
	for _, h := range c.Others() {
		if r := byHand(h, "04-stop-static-pods.sh", "--yes"); r.ExitCode != 0 {
			t.Fatalf("%s: 04-stop-static-pods.sh --yes: %s", h.Hostname, r)
		}
	}
	if r := byHand(rec, "05-restore.sh", "--yes"); r.ExitCode != 0 {
		t.Fatalf("%s: 05-restore.sh --yes: %s", rec.Hostname, r)
	}
	// At once again (a lost session, say): the restore pod it left is still in place.
	before := snapshotHosts(t, c)
	mark := len(c.Commands())
	start := time.Now()
	r := byHand(rec, "05-restore.sh", "--yes")
	if r.ExitCode != 0 {
		t.Errorf("05-restore.sh --yes right after a completed restore: want exit 0 (nothing to do), got %s", r)
	}
	mustContain(t, "05-restore.sh again before the rollouts", r.Output, "nothing to do")
	assertNoChangeSince(t, c, mark, start, before)

	for _, h := range c.Hosts {
		if r := byHand(h, "08-restart-kubelet.sh", "--yes"); r.ExitCode != 0 {
			t.Fatalf("%s: 08-restart-kubelet.sh --yes: %s", h.Hostname, r)
		}
	}
	if r := c.Run(k, "redeploy.sh", RunOptions{}, "--yes"); r.ExitCode != 0 {
		logRun(t, "redeploy.sh --yes", r)
		t.Fatalf("redeploy.sh --yes: %s", r)
	}
	assertRestored(t, c, true)
	if t.Failed() {
		t.FailNow()
	}

	// The cluster has moved on (etcd redeployed): a second restore is refused.
	before = snapshotHosts(t, c)
	mark = len(c.Commands())
	start = time.Now()
	r = byHand(rec, "05-restore.sh", "--yes")
	if r.ExitCode != 2 {
		t.Errorf("05-restore.sh --yes after a completed recovery: want exit 2 (refused), got %s", r)
	}
	mustContain(t, "the refusal of 05-restore.sh", r.Output, "an earlier run completed the restore", "has changed since",
		"Nothing was changed", "--again", filepath.Join(c.QuarantineDir, "restorekit-"+c.Config.Name+"-"))
	for _, h := range c.Others() {
		r := byHand(h, "04-stop-static-pods.sh", "--yes")
		if r.ExitCode != 2 {
			t.Errorf("%s: 04-stop-static-pods.sh --yes after a completed recovery: want exit 2 (refused), got %s", h.Hostname, r)
		}
		mustContain(t, h.Hostname+": the refusal of 04-stop-static-pods.sh", r.Output, "back in place", "Nothing was changed", "--again")
	}
	assertNoChangeSince(t, c, mark, start, before)
	if n := len(filter(c.Commands(), func(c Command) bool { return c.Tool == "cluster-restore.sh" })); n != 1 {
		t.Errorf("cluster-restore.sh ran %d times, want once", n)
	}
}

// assertNoChangeSince checks that the commands recorded after the first mark (and
// since start) changed nothing: no mv, no restore, no kubelet restart, no patch, no
// operator event beyond reads; and that every file on every host is as in before.
func assertNoChangeSince(t *testing.T, c *Cluster, mark int, start time.Time, before map[*Host]map[string]string) {
	t.Helper()
	cmds := c.Commands()
	if mark > len(cmds) {
		t.Fatalf("command log shrank: %d commands, %d before", len(cmds), mark)
	}
	for _, cmd := range cmds[mark:] {
		if cmd.Tool == "mv" || cmd.Tool == "cluster-restore.sh" || isKubeletRestart(cmd) || (cmd.Tool == "oc" && len(cmd.Args) > 0 && cmd.Args[0] == "patch") {
			t.Errorf("changed something: %s", cmd)
		}
	}
	for _, e := range c.Events() {
		if e.Time.After(start) && (strings.HasPrefix(e.Text, "patch") || strings.HasPrefix(e.Text, "revision ")) {
			t.Errorf("the API changed: %s", e.Text)
		}
	}
	assertUnchanged(t, c, before)
}
