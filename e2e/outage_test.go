package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Scenarios of a real outage (issue "Ready for a real outage"): the API down, RHCOS's
// tmpfs /tmp, OpenSSH 7.4 with a jump host, masters NotReady after the restore.

// TestOutageAPIUnreachable: with no route to the API, recover.sh stops in its preflight
// naming the case and --api-unavailable, having changed nothing; with the flag it
// recovers the cluster, saying which facts it took from the kit unchecked.
func TestOutageAPIUnreachable(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	c.SetAPIUnreachable()
	k := c.BuildKit(KitOptions{})

	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (API unreachable)", r)
	if r.ExitCode != 1 {
		t.Errorf("exit %d, want 1", r.ExitCode)
	}
	mustContain(t, "the refusal", r.Output, "P2: the API does not answer: no route to it", "no route to host",
		"run recover.sh again with --api-unavailable", "without checking them against the live cluster",
		"nothing was changed on any host")
	for _, cmd := range c.Commands() {
		if cmd.Tool == "mv" || cmd.Tool == "cluster-restore.sh" {
			t.Fatalf("the refused run changed a host: %s", cmd)
		}
	}

	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--api-unavailable")
	logRun(t, "recover.sh --yes --api-unavailable", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes --api-unavailable: %s", r)
	}
	mustContain(t, "the run", r.Output, "--api-unavailable: the preflight may go on without the API",
		"NOT CHECKED against the live cluster", "P1: release 4.5.2", "kit.json facts",
		"NOTE: --api-unavailable: release, proxy and control-plane nodes were taken from the kit",
		"hostname "+c.Recovery().Hostname+", passwordless sudo", "P5: ", "the control plane is restored")
	if n := len(filter(c.Commands(), func(c Command) bool { return c.Tool == "cluster-restore.sh" })); n != 1 {
		t.Errorf("cluster-restore.sh ran %d times, want once", n)
	}
}

// TestOutageQuorumLost: etcd has lost quorum (two of three members stopped): the
// preflight says kube-apiserver answers but its etcd does not; --api-unavailable
// recovers.
func TestOutageQuorumLost(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	for _, h := range c.Others() {
		if out, err := c.SSH(h, "sudo mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp/"); err != nil {
			t.Fatal(err, out)
		}
	}
	// The kubelet stops them after its stop delay.
	for _, h := range c.Others() {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			out, err := c.SSH(h, "sudo crictl ps --name '^etcd$' --state running -q")
			if err == nil && strings.TrimSpace(out) == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: etcd still running: %v %s", h.Name, err, out)
			}
		}
	}
	k := c.BuildKit(KitOptions{})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (no quorum)", r)
	if r.ExitCode != 1 {
		t.Errorf("exit %d, want 1", r.ExitCode)
	}
	mustContain(t, "the refusal", r.Output, "kube-apiserver answers but its etcd does not", "[-]etcd failed", "--api-unavailable")

	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--api-unavailable")
	logRun(t, "recover.sh --yes --api-unavailable (no quorum)", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes --api-unavailable: %s", r)
	}
	mustContain(t, "the run", r.Output, "its etcd does not", "NOT CHECKED against the live cluster", "the control plane is restored")
}

// TestOutageTmpfsTmp: every master's /tmp is a tmpfs, as on RHCOS. A kit whose
// inventory sets quarantineDir /tmp is warned about at build and refused on the host
// before anything moves; the default quarantine (/var/lib/restorekit, on the
// filesystem of /var/lib/etcd) recovers, and what was set aside is there.
func TestOutageTmpfsTmp(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming, TmpfsTmp: true})
	if out, err := c.SSH(c.Recovery(), "stat -f -c %T /tmp"); err != nil || strings.TrimSpace(out) != "tmpfs" {
		t.Fatalf("the simulated /tmp is not a tmpfs: %v %q", err, out)
	}
	bad := c.BuildKit(KitOptions{QuarantineDir: "/tmp"})
	if w := bad.Inventory; w.QuarantineDir != "/tmp" {
		t.Fatalf("quarantineDir %q", w.QuarantineDir)
	}
	r := c.Run(bad, "recover.sh", RunOptions{}, "--yes", "--state-dir", filepath.Join(c.Work, "state-tmp"))
	logRun(t, "recover.sh --yes (quarantineDir /tmp on tmpfs)", r)
	if r.ExitCode == 0 {
		t.Fatalf("a quarantine on tmpfs was not refused")
	}
	mustContain(t, "the refusal", r.Output, "is on tmpfs", "lost at the next reboot", "Nothing was changed")
	for _, cmd := range c.Commands() {
		if cmd.Tool == "mv" || cmd.Tool == "cluster-restore.sh" {
			t.Fatalf("something was moved into the tmpfs: %s", cmd)
		}
	}

	k := c.BuildKit(KitOptions{})
	if k.Inventory.QuarantineDir != "/var/lib/restorekit" {
		t.Fatalf("default quarantineDir %q", k.Inventory.QuarantineDir)
	}
	r = c.Run(k, "recover.sh", RunOptions{}, "--yes", "--state-dir", filepath.Join(c.Work, "state-default"))
	logRun(t, "recover.sh --yes (default quarantineDir)", r)
	if r.ExitCode != 0 {
		t.Fatalf("recover.sh --yes: %s", r)
	}
	assertRestored(t, c, false)
	for _, h := range c.Hosts {
		runs, _ := filepath.Glob(filepath.Join(h.Root, "var/lib/restorekit", "restorekit-*"))
		if len(runs) == 0 {
			t.Errorf("%s: no run directory under /var/lib/restorekit", h.Name)
		}
	}
	if strings.Contains(r.Output, "on different filesystems") {
		t.Errorf("a move into /var/lib/restorekit copied instead of renaming:\n%s", r.Output)
	}
}

// TestOutageJumpHostResume: masters behind a jump host, with the workstation's ssh
// behaving as OpenSSH before 8.0 does (an ssh that may become a ControlPersist master
// leaves its ProxyJump child holding its stderr). The run is interrupted in step 4 and
// resumed: the resumed run must not stall on a pipe held open, every piped session must
// use an existing master connection, and none may start one.
func TestOutageJumpHostResume(t *testing.T) {
	t.Parallel()
	timing := FastTiming
	timing.StopDelay = 4 * time.Second
	c := NewCluster(t, ClusterConfig{Masters: 3, JumpHost: true, Timing: timing})
	log := c.EmulateOpenSSH74ProxyJump()
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
	r = c.Run(k, "recover.sh", RunOptions{Timeout: 4 * time.Minute}, "--yes")
	logRun(t, "recover.sh --yes (resumed)", r)
	if r.ExitCode != 0 {
		t.Fatalf("resumed recover.sh --yes: %s", r)
	}
	// A held pipe would hold the step until the emulated ProxyJump child ends (150s).
	if r.Elapsed > 120*time.Second {
		t.Errorf("the resumed run took %s: a step waited on a pipe held open", r.Elapsed)
	}
	assertRestored(t, c, false)
	if b, err := os.ReadFile(log); err == nil && len(b) > 0 {
		t.Errorf("piped ssh sessions that could start a master, or ran without one:\n%s", b)
	}
}

// TestOutageNotReadyMasters: the recovery host's kubelet certificate rotated after the
// backup, so after the restore its node stays NotReady with its CSR pending, and the
// etcd rollout never finishes. recover.sh reports the NotReady master and its pending
// CSR as soon as it sees them, lists the other pending CSR as left alone, and the
// timeout names the fix.
func TestOutageNotReadyMasters(t *testing.T) {
	t.Parallel()
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: FastTiming})
	rec := c.Recovery()
	c.RotatedKubeletCerts(rec, "system:serviceaccount:openshift-infra:someone")
	c.StuckRollouts("etcd")
	k := c.BuildKit(KitOptions{Rollout: 30 * time.Second})
	r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
	logRun(t, "recover.sh --yes (NotReady master)", r)
	if r.ExitCode != 3 {
		t.Errorf("exit %d, want 3 (the etcd rollout times out)", r.ExitCode)
	}
	short, _, _ := strings.Cut(rec.Name, ".")
	mustContain(t, "the node report", r.Output,
		fmt.Sprintf("NODES: masters NotReady: %s; pending CSRs of the masters: csr-%s (%s); other pending CSRs, left alone: csr-other (system:serviceaccount:openshift-infra:someone)", rec.Name, short, rec.Name),
		"what to do first: masters NotReady: "+rec.Name, "move the PEM files of /var/lib/kubelet/pki aside", "oc adm certificate approve NAME")
	first := strings.Index(r.Output, "NODES: masters NotReady")
	if i := strings.Index(r.Output, "TIMEOUT after"); first < 0 || i < first {
		t.Errorf("the NotReady master was first reported only at the timeout")
	}
}

// EmulateOpenSSH74ProxyJump puts an ssh first on the workstation's PATH that behaves as
// OpenSSH before 8.0 does with ProxyJump (sshconnect.c ssh_proxy_connect: the ProxyJump
// child, forked before a ControlPersist master detaches, keeps the stderr it was started
// with; 8.0 sends it to /dev/null): an ssh that may become a master (no
// ControlMaster=no, not a -O command) leaves a child holding its stderr for 150s. It
// also records, in the file it returns, every piped session that could start a master
// and every piped working session whose master socket was not there.
func (c *Cluster) EmulateOpenSSH74ProxyJump() string {
	real, err := exec.LookPath("ssh")
	if err != nil {
		c.t.Fatal(err)
	}
	log := filepath.Join(c.Work, "ssh74.log")
	script := fmt.Sprintf(`#!/usr/bin/env bash
# ssh as OpenSSH 7.4 behaves with ProxyJump and ControlPersist (see e2e/outage_test.go).
log=%s
args=" $* "
master=1
if [[ $args == *" ControlMaster=no "* || $args == *" -O "* || $args == *"ControlPath=none"* ]]; then
  master=0
fi
piped=0
if [[ -p /dev/stdout || -p /dev/stderr ]]; then
  piped=1
fi
if ((master && piped)); then
  printf 'may start a master with a pipe on stdout or stderr: ssh %%s\n' "$*" >>"$log"
fi
if ((!master && piped)) && [[ $args == *" ControlMaster=no "* && $args =~ ControlPath=([^ ]+) && ! -S ${BASH_REMATCH[1]} ]]; then
  printf 'piped session without a master connection: ssh %%s\n' "$*" >>"$log"
fi
if ((master)); then
  # The ProxyJump child of a master: it keeps stderr.
  (exec /bin/sleep 150 </dev/null >/dev/null) &
fi
exec %s "$@"
`, shellQuote(log), shellQuote(real))
	writeFile(c.t, filepath.Join(c.Bin, "ssh"), script, 0o755)
	return log
}
