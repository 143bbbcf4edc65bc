package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// assertRestored checks the end state and the order of a complete recovery against
// procedure.md: what every host holds, what ran where, and in which order.
// byHand skips the preflight checks only the coordinator makes.
func assertRestored(t *testing.T, c *Cluster, byHand bool) {
	t.Helper()
	cmds := c.Commands()
	rec := c.Recovery()
	quarantine := filepath.Join(c.QuarantineDir, "restorekit-"+c.Config.Name+"-")

	// Nothing lost, and each original is where the procedure puts it.
	where := assertNothingLost(t, c)
	for _, h := range c.Others() {
		for _, f := range []string{"/etc/kubernetes/manifests/etcd-pod.yaml", "/etc/kubernetes/manifests/kube-apiserver-pod.yaml",
			"/var/lib/etcd/member/snap/db", "/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal"} {
			if !anyHasPrefix(where[h][f], quarantine) {
				t.Errorf("%s: step 4: the original %s should be in the quarantine %s*, is at %v", h.Hostname, f, quarantine, where[h][f])
			}
		}
	}
	for _, f := range []string{"/var/lib/etcd/member/snap/db", "/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal"} {
		want := strings.Replace(f, "/var/lib/etcd/", "/var/lib/etcd-backup/", 1)
		if !contains(where[rec][f], want) {
			t.Errorf("%s: step 7: the original %s should be at %s (cluster-restore.sh), is at %v", rec.Hostname, f, want, where[rec][f])
		}
	}
	for _, p := range staticPods {
		f := "/etc/kubernetes/manifests/" + p.Pod + "-pod.yaml"
		if !contains(where[rec][f], "/home/core/assets/manifests-stopped/"+p.Pod+"-pod.yaml") {
			t.Errorf("%s: step 7: the original %s should be in /home/core/assets/manifests-stopped (cluster-restore.sh), is at %v", rec.Hostname, f, where[rec][f])
		}
	}

	// Each host runs the new revisions of all four static pods, etcd among them.
	for _, h := range c.Hosts {
		for _, p := range staticPods {
			m := readFileOr(filepath.Join(h.Root, manifestsDir, p.Pod+"-pod.yaml"))
			if !strings.Contains(m, fmt.Sprintf("revision: \"%d\"", p.Revision+1)) || !strings.Contains(m, "revision-from-rollout") {
				t.Errorf("%s: %s-pod.yaml is not the rolled-out revision %d:\n%s", h.Hostname, p.Pod, p.Revision+1, m)
			}
		}
		if got := readFileOr(filepath.Join(h.State, "pods", "etcd")); !strings.HasSuffix(strings.TrimSpace(got), " rollout") {
			t.Errorf("%s: the kubelet does not run the new etcd pod (%q)", h.Hostname, got)
		}
	}

	// Step 7 ran once, on the recovery host, with the backup directory.
	restores := filter(cmds, func(c Command) bool { return c.Tool == "cluster-restore.sh" })
	if len(restores) != 1 || restores[0].Host != rec.Name || strings.Join(restores[0].Args, " ") != "/home/core/backup" {
		t.Errorf("step 7: want cluster-restore.sh /home/core/backup once on %s, got %v", rec.Name, restores)
	}

	// Step 6: the restore ran with the cluster's proxy in its environment.
	wantEnv := "HTTP_PROXY= HTTPS_PROXY= NO_PROXY="
	if p := c.Config.Proxy; p != nil {
		wantEnv = "HTTP_PROXY=" + p.HTTPProxy + " HTTPS_PROXY=" + p.HTTPSProxy + " NO_PROXY=" + p.NoProxy
	}
	for _, e := range filter(cmds, func(c Command) bool { return c.Tool == "cluster-restore.sh-env" }) {
		if got := strings.Join(e.Args, " "); got != wantEnv {
			t.Errorf("step 6: cluster-restore.sh ran with %q, want %q", got, wantEnv)
		}
	}

	// Step 4 on each other host: etcd manifest, wait, kube-apiserver manifest, wait, data.
	var lastStep4 time.Time
	for _, h := range c.Others() {
		etcdMv := movesOf(cmds, h, "/etc/kubernetes/manifests/etcd-pod.yaml")
		apiMv := movesOf(cmds, h, "/etc/kubernetes/manifests/kube-apiserver-pod.yaml")
		dataMv := movesOf(cmds, h, "/var/lib/etcd")
		if len(etcdMv) != 1 || len(apiMv) != 1 || len(dataMv) != 1 {
			t.Errorf("%s: step 4: want one mv each of etcd-pod.yaml, kube-apiserver-pod.yaml and /var/lib/etcd, got %v %v %v", h.Hostname, etcdMv, apiMv, dataMv)
			continue
		}
		if !(etcdMv[0].Time.Before(apiMv[0].Time) && apiMv[0].Time.Before(dataMv[0].Time)) {
			t.Errorf("%s: step 4 out of order: %v, %v, %v", h.Hostname, etcdMv[0], apiMv[0], dataMv[0])
		}
		polls := filter(cmds, func(x Command) bool {
			return x.Host == h.Name && x.Tool == "crictl" && x.Time.After(etcdMv[0].Time) && x.Time.Before(apiMv[0].Time)
		})
		if len(polls) == 0 {
			t.Errorf("%s: step 4.2: no crictl ps between moving etcd-pod.yaml and kube-apiserver-pod.yaml", h.Hostname)
		}
		polls = filter(cmds, func(x Command) bool {
			return x.Host == h.Name && x.Tool == "crictl" && x.Time.After(apiMv[0].Time) && x.Time.Before(dataMv[0].Time)
		})
		if len(polls) == 0 {
			t.Errorf("%s: step 4.4: no crictl ps between moving kube-apiserver-pod.yaml and /var/lib/etcd", h.Hostname)
		}
		if dataMv[0].Time.After(lastStep4) {
			lastStep4 = dataMv[0].Time
		}
	}

	// Preflight reads everything from the API before step 4 takes quorum away.
	firstMv := filter(cmds, func(c Command) bool { return c.Tool == "mv" })
	for _, want := range []string{"oc whoami", "oc get clusterversion", "oc get proxy"} {
		if byHand {
			break
		}
		got := filter(cmds, func(c Command) bool { return strings.HasPrefix(c.Line(), want) })
		if len(got) == 0 {
			t.Errorf("preflight: no %q", want)
		} else if len(firstMv) > 0 && !got[0].Time.Before(firstMv[0].Time) {
			t.Errorf("preflight: %q came after the first change (%v)", want, firstMv[0])
		}
	}
	if len(restores) == 1 && !lastStep4.Before(restores[0].Time) {
		t.Errorf("step 7 (%v) started before step 4 finished on every other host (%v)", restores[0], lastStep4)
	}

	// Step 8: kubelet restarted on every host, the recovery host first, after step 7.
	restarts := filter(cmds, isKubeletRestart)
	firstRestart := map[string]time.Time{}
	for _, r := range restarts {
		if _, ok := firstRestart[r.Host]; !ok {
			firstRestart[r.Host] = r.Time
		}
	}
	var lastRestart time.Time
	for _, h := range c.Hosts {
		at, ok := firstRestart[h.Name]
		if !ok {
			t.Errorf("step 8: kubelet never restarted on %s", h.Hostname)
			continue
		}
		if len(restores) == 1 && at.Before(restores[0].Time) {
			t.Errorf("step 8 on %s (%s) before step 7", h.Hostname, at)
		}
		if h != rec && at.Before(firstRestart[rec.Name]) {
			t.Errorf("step 8: kubelet restarted on %s before the recovery host", h.Hostname)
		}
		if at.After(lastRestart) {
			lastRestart = at
		}
	}

	// Step 9: crictl on the recovery host, then a single etcd pod, before any patch.
	events := c.Events()
	patches := filter(cmds, func(c Command) bool { return c.Tool == "oc" && len(c.Args) > 0 && c.Args[0] == "patch" })
	if len(patches) == 0 {
		t.Fatalf("steps 10-12: no oc patch at all")
	}
	check91 := filter(cmds, func(x Command) bool {
		return x.Host == rec.Name && x.Tool == "crictl" && x.Time.After(firstRestart[rec.Name]) && x.Time.Before(patches[0].Time)
	})
	if len(check91) == 0 {
		t.Errorf("step 9.1: no crictl on the recovery host between its kubelet restart and the first patch")
	}
	single := false
	for _, e := range events {
		if e.Text == "etcd-pods-running 1" && e.Time.After(lastRestart) && e.Time.Before(patches[0].Time) {
			single = true
		}
	}
	if !single {
		t.Errorf("step 9.2: oc never showed exactly one Running etcd pod between step 8 and the first patch")
	}

	// Steps 10-12: the four operators in order, unique reasons, each rollout awaited.
	wantOps := []string{"etcd", "kubeapiserver", "kubecontrollermanager", "kubescheduler"}
	var accepted []string
	reasons := map[string]bool{}
	for _, e := range events {
		var op, reason string
		if n, _ := fmt.Sscanf(e.Text, "patch %s %q", &op, &reason); n == 2 {
			accepted = append(accepted, op)
			if reasons[reason] {
				t.Errorf("steps 10-12: forceRedeploymentReason %q used twice", reason)
			}
			reasons[reason] = true
		}
		if strings.HasPrefix(e.Text, "patch-no-change ") {
			t.Errorf("steps 10-12: a patch changed nothing (reason reused): %s", e.Text)
		}
	}
	if strings.Join(accepted, " ") != strings.Join(wantOps, " ") {
		t.Errorf("steps 10-12: operators patched %v, want %v", accepted, wantOps)
	}
	complete := map[string]time.Time{}
	seenDone := map[string]time.Time{}
	patchedAt := map[string]time.Time{}
	for _, e := range events {
		f := strings.Fields(e.Text)
		switch {
		case len(f) == 3 && f[0] == "rollout-complete":
			complete[f[1]] = e.Time
		case len(f) == 4 && f[0] == "shown" && f[3] == "complete=true" && !complete[f[1]].IsZero():
			if _, ok := seenDone[f[1]]; !ok {
				seenDone[f[1]] = e.Time
			}
		case len(f) == 3 && f[0] == "patch":
			patchedAt[f[1]] = e.Time
		}
	}
	for i, op := range wantOps {
		if complete[op].IsZero() {
			t.Errorf("step %s: the %s rollout never completed", []string{"11", "12.1", "12.2", "12.3"}[i], op)
			continue
		}
		if seenDone[op].IsZero() {
			t.Errorf("the coordinator never saw the %s rollout complete (AllNodesAtLatestRevision at the new revision)", op)
		}
		if i+1 < len(wantOps) {
			next := patchedAt[wantOps[i+1]]
			if !next.IsZero() && next.Before(seenDone[op]) {
				t.Errorf("%s was patched before the %s rollout was seen complete", wantOps[i+1], op)
			}
		}
	}

	// Step 13: one Running etcd pod per master, seen after the last rollout.
	final := false
	last := complete["kubescheduler"]
	for _, e := range events {
		if e.Text == fmt.Sprintf("etcd-pods-running %d", len(c.Hosts)) && e.Time.After(complete["etcd"]) && !last.IsZero() && e.Time.After(last) {
			final = true
		}
	}
	if !final {
		t.Errorf("step 13: oc never showed %d Running etcd pods after the rollouts", len(c.Hosts))
	}
}

func anyHasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// assertNoChangeAnywhere checks that no host was changed: no mv, no kubelet restart, no
// restore, no patch, and every file as it was (paths under an ignored prefix aside).
func assertNoChangeAnywhere(t *testing.T, c *Cluster, before map[*Host]map[string]string, ignore ...string) {
	t.Helper()
	for _, cmd := range c.Commands() {
		changes := cmd.Tool == "mv" || cmd.Tool == "cluster-restore.sh" || isKubeletRestart(cmd) || (cmd.Tool == "oc" && len(cmd.Args) > 0 && cmd.Args[0] == "patch")
		// What the 4.16 steps change beyond: VIPs, Open vSwitch, reboots, nodes, pods, CSRs.
		line := " " + cmd.Line() + " "
		for _, w := range []string{" ip address del ", " systemctl restart ", " systemctl reboot ", " oc delete ", " oc adm certificate "} {
			changes = changes || strings.Contains(line, w)
		}
		if changes {
			t.Errorf("changed something: %s", cmd)
		}
	}
	assertUnchanged(t, c, before, ignore...)
}

// mustContain fails unless out contains every string.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q", what, w)
		}
	}
}

// logRun writes the output of a run to the test log when the test fails or -v is set.
func logRun(t *testing.T, what string, r Result) {
	t.Helper()
	if testing.Verbose() || t.Failed() {
		t.Logf("%s: %s", what, r)
	}
}
