package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers for 4.18+ clusters (ClusterConfig.Version 4.18.0 or later), for the tests
// of the simulation and the scenarios.

// OC runs the workstation's (fake) oc.
func (c *Cluster) OC(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(c.Bin, "oc"), args...).CombinedOutput()
	return string(out), err
}

// SetOCClientVersion changes the client version the workstation's oc reports; before
// 4.10 it has no `oc adm wait-for-stable-cluster`.
func (c *Cluster) SetOCClientVersion(v string) {
	c.Config.OCClientVersion = v
	c.writeSimFile()
}

// GuardOverride says whether etcd's spec.unsupportedConfigOverrides holds
// useUnsupportedUnsafeNonHANonProductionUnstableEtcd now (the quorum guard is off).
func (c *Cluster) GuardOverride() bool {
	var s opState
	if err := json.Unmarshal([]byte(readFileOr(filepath.Join(c.OCState, "etcd.json"))), &s); err != nil {
		return false
	}
	return guardOff(&s)
}

// HasEvent says whether the fake oc's model recorded an event starting with prefix,
// and when it first did.
func (c *Cluster) HasEvent(prefix string) (time.Time, bool) {
	for _, e := range c.Events() {
		if strings.HasPrefix(e.Text, prefix) {
			return e.Time, true
		}
	}
	return time.Time{}, false
}

// ExitedContainers lists the names of the containers of a static pod that have
// stopped on a host so far.
func (h *Host) ExitedContainers(pod string) []string {
	var out []string
	for _, line := range strings.Split(readFileOr(filepath.Join(h.State, "exited")), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[2] == pod {
			out = append(out, f[1])
		}
	}
	return out
}

// PodKind is the kind of the static pod the host's kubelet has for pod ("original",
// "restore", "restore-failed", "rollout"), or "" when it has none.
func (h *Host) PodKind(pod string) string {
	f := strings.Fields(readFileOr(filepath.Join(h.State, "pods", pod)))
	if len(f) != 3 {
		return ""
	}
	return f[2]
}

// assertControlPlaneUntouched checks what the 4.18+ procedure must leave alone on every
// host: kube-apiserver, kube-controller-manager and kube-scheduler never stopped or
// restarted, their manifests never moved or changed.
func assertControlPlaneUntouched(t *testing.T, c *Cluster) {
	t.Helper()
	cmds := c.Commands()
	for _, h := range c.Hosts {
		for _, pod := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			if ex := h.ExitedContainers(pod); len(ex) > 0 {
				t.Errorf("%s: %s was stopped (containers %v exited)", h.Hostname, pod, ex)
			}
			if got := readFileOr(filepath.Join(h.State, "pods", pod)); got != h.PodsAtStart[pod] {
				t.Errorf("%s: %s is not the pod that ran at the start (%q, was %q)", h.Hostname, pod, got, h.PodsAtStart[pod])
			}
			manifest := "/etc/kubernetes/manifests/" + pod + "-pod.yaml"
			if mv := movesOf(cmds, h, manifest); len(mv) > 0 {
				t.Errorf("%s: %s was moved: %v", h.Hostname, manifest, mv)
			}
			if got := readFileOr(filepath.Join(h.Root, manifest)); !strings.Contains(got, "# original manifest of "+pod+" on "+h.Name) {
				t.Errorf("%s: %s changed:\n%s", h.Hostname, manifest, got)
			}
		}
		for _, cmd := range filter(cmds, func(x Command) bool { return x.Host == h.Name && isKubeletRestart(x) }) {
			t.Errorf("%s: the kubelet was restarted: %s", h.Hostname, cmd)
		}
	}
}

// exitedAt lists when each container of a static pod exited on a host (ns).
func (h *Host) exitedAt(pod string) []int64 {
	var out []int64
	for _, line := range strings.Split(readFileOr(filepath.Join(h.State, "exited")), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[2] == pod {
			n, _ := strconv.ParseInt(f[3], 10, 64)
			out = append(out, n)
		}
	}
	return out
}

// assertRestored418 checks the end state and the order of a complete 4.18+ recovery
// against procedure-4.18.md: what every host holds, that etcd was down on every other
// host before the restore, the quorum guard off only between the API's return and the
// stable cluster (never on single-node), the final state, and that kube-apiserver,
// kube-controller-manager and kube-scheduler were never touched.
func assertRestored418(t *testing.T, c *Cluster) {
	t.Helper()
	cmds := c.Commands()
	rec := c.Recovery()
	where := assertNothingLost(t, c)

	// Step 5 ran once, on the recovery host, with the backup directory and the proxy.
	restores := filter(cmds, func(x Command) bool { return x.Tool == "cluster-restore.sh" })
	if len(restores) != 1 || restores[0].Host != rec.Name || strings.Join(restores[0].Args, " ") != "/home/core/backup" {
		t.Fatalf("step 5: want cluster-restore.sh /home/core/backup once on %s, got %v", rec.Name, restores)
	}
	wantEnv := "HTTP_PROXY= HTTPS_PROXY= NO_PROXY="
	if p := c.Config.Proxy; p != nil {
		wantEnv = "HTTP_PROXY=" + p.HTTPProxy + " HTTPS_PROXY=" + p.HTTPSProxy + " NO_PROXY=" + p.NoProxy
	}
	for _, e := range filter(cmds, func(x Command) bool { return strings.HasSuffix(x.Tool, ".sh-env") || x.Tool == "podman-env" }) {
		if got := strings.Join(e.Args, " "); got != wantEnv {
			t.Errorf("%s on %s ran with %q, want %q", strings.TrimSuffix(e.Tool, "-env"), e.Host, got, wantEnv)
		}
	}
	// Step 3: etcd stopped on every other host (disable-etcd.sh) before step 5 began.
	for _, h := range c.Others() {
		if len(filter(cmds, func(x Command) bool { return x.Host == h.Name && x.Tool == "disable-etcd.sh" })) == 0 {
			t.Errorf("step 3: disable-etcd.sh never ran on %s", h.Hostname)
		}
		stopped := h.exitedAt("etcd")
		if len(stopped) == 0 || time.Unix(0, stopped[0]).After(restores[0].Time) {
			t.Errorf("step 3: etcd on %s had not stopped when cluster-restore.sh started", h.Hostname)
		}
		if !contains(where[h]["/etc/kubernetes/manifests/etcd-pod.yaml"], "/home/core/assets/manifests-stopped/etcd-pod.yaml") {
			t.Errorf("step 3: %s's original etcd-pod.yaml should be in manifests-stopped, is at %v", h.Hostname, where[h]["/etc/kubernetes/manifests/etcd-pod.yaml"])
		}
		if archived, _ := filepath.Glob(filepath.Join(h.Root, etcdDataDir, "member-removed-archive-*")); len(archived) != 1 {
			t.Errorf("%s: the old member should have been archived by the rejoining etcd: %v", h.Hostname, archived)
		}
	}
	for _, f := range []string{"/var/lib/etcd/member/snap/db", "/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal"} {
		if want := strings.Replace(f, "/var/lib/etcd/", "/var/lib/etcd-backup/", 1); !contains(where[rec][f], want) {
			t.Errorf("step 5: %s should be at %s (cluster-restore.sh), is at %v", f, want, where[rec][f])
		}
	}
	// Every host runs etcd of the operator's new revision.
	for _, h := range c.Hosts {
		if k := h.PodKind("etcd"); k != "rollout" {
			t.Errorf("%s: etcd is %q, not the operator's new revision", h.Hostname, k)
		}
	}
	// Steps 7-9.
	evs := c.Events()
	first := func(prefix string) (time.Time, bool) {
		for _, e := range evs {
			if strings.HasPrefix(e.Text, prefix) {
				return e.Time, true
			}
		}
		return time.Time{}, false
	}
	back, okBack := first("api-back-after-restore")
	stable, okStable := first("cluster-stable")
	if !okBack || !okStable {
		t.Fatalf("the API never came back (%t) or the cluster never became stable (%t)", okBack, okStable)
	}
	var offs, ons []time.Time
	for _, e := range evs {
		switch e.Text {
		case "guard-off":
			offs = append(offs, e.Time)
		case "guard-on":
			ons = append(ons, e.Time)
		}
	}
	if len(c.Hosts) == 1 {
		if len(offs)+len(ons) > 0 {
			t.Errorf("single-node: the quorum guard is not to be touched (off %v, on %v)", offs, ons)
		}
	} else {
		if len(offs) == 0 || offs[0].Before(back) {
			t.Errorf("step 7: the guard must go off once the API is back (%s), got %v", back, offs)
		}
		if len(ons) == 0 || ons[len(ons)-1].Before(stable) {
			t.Errorf("step 9: the guard must go back on after the cluster became stable (%s), got %v", stable, ons)
		}
	}
	if c.GuardOverride() {
		t.Errorf("step 9: unsupportedConfigOverrides still holds the override at the end")
	}
	waited := false
	for _, e := range evs {
		if e.Time.After(stable) && (e.Text == "wait-for-stable stable" || e.Text == "clusteroperators-shown unstable=") {
			waited = true
		}
	}
	if !waited {
		t.Errorf("step 8: nobody saw the cluster stable (wait-for-stable-cluster, or oc get clusteroperators)")
	}
	final := false
	for _, e := range evs {
		if e.Text == fmt.Sprintf("etcd-pods-running %d", len(c.Hosts)) && e.Time.After(stable) {
			final = true
		}
	}
	if !final {
		t.Errorf("final check: oc never showed %d Running etcd pods after the cluster became stable", len(c.Hosts))
	}
	assertControlPlaneUntouched(t, c)
}
