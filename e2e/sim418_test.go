package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
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
