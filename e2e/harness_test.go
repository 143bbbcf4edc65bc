package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSimulatedCluster checks the simulation itself: each master is its own host over
// ssh, sudo behaves like RHEL CoreOS's, and the fakes model state, not canned output.
func TestSimulatedCluster(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: Timing{StopDelay: 300 * time.Millisecond}})
	for _, h := range c.Hosts {
		out, err := c.SSH(h, "hostname; id -un; sudo id -u; sudo sh -c 'echo $PATH'; ls /var/lib/etcd/member; cat /etc/kubernetes/manifests/etcd-pod.yaml | tail -1")
		if err != nil {
			t.Fatalf("%s: %v\n%s", h.Hostname, err, out)
		}
		user := "core"
		if c.FakeSudo {
			user = "root" // without sudo in the image, core is uid 0 inside the simulated host
		}
		want := []string{h.Hostname, user, "0", "/usr/local/sbin:/sbin:/bin:/usr/sbin:/usr/bin", "snap", "wal", "# original manifest of etcd on " + h.Name}
		if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", h.Hostname, got, want)
		}
	}

	h := c.Hosts[1]
	count := func(cmd string) int {
		t.Helper()
		out, err := c.SSH(h, cmd)
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return len(strings.Fields(out))
	}
	if n := count("sudo crictl ps --name '^etcd$' --state running -q"); n != 1 {
		t.Errorf("etcd containers before: %d, want 1", n)
	}
	if n := count("sudo crictl ps --label io.kubernetes.container.name=etcd -q"); n != 1 {
		t.Errorf("etcd containers by label: %d, want 1", n)
	}
	// grep etcd without -v operator also matches the operator (the procedure's pitfall).
	if n := count("sudo crictl ps | grep etcd | awk '{print $5}'"); n != 4 {
		t.Errorf("crictl ps | grep etcd: %d names, want etcdctl, etcd, etcd-metrics, etcd-operator", n)
	}
	if out, _ := exec.Command(filepath.Join(c.Bin, "oc"), "get", "pods", "-n", "openshift-etcd").CombinedOutput(); strings.Count(string(out), "Running") != 3 {
		t.Errorf("oc get pods before:\n%s", out)
	}

	if out, err := c.SSH(h, "sudo mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp/ && sudo crictl ps --name '^etcd$' -q"); err != nil || len(strings.Fields(out)) != 1 {
		t.Errorf("etcd should still run right after its manifest left: %v %q", err, out)
	}
	time.Sleep(400 * time.Millisecond)
	if n := count("sudo crictl ps --name '^etcd$' -q"); n != 0 {
		t.Errorf("etcd containers after the stop delay: %d, want 0", n)
	}
	if n := count("sudo crictl ps -a --state exited --name '^etcd$' -q"); n != 1 {
		t.Errorf("exited etcd containers: %d, want 1", n)
	}
	// The manifest comes back: the kubelet only notices after a restart.
	if out, err := c.SSH(h, "sudo mv /tmp/etcd-pod.yaml /etc/kubernetes/manifests/"); err != nil {
		t.Fatal(err, out)
	}
	if n := count("sudo crictl ps --name '^etcd$' -q"); n != 0 {
		t.Errorf("etcd started without a kubelet restart")
	}
	if out, err := c.SSH(h, "sudo systemctl restart kubelet.service && sudo systemctl is-active kubelet.service"); err != nil || strings.TrimSpace(out) != "active" {
		t.Errorf("kubelet restart: %v %q", err, out)
	}
	if n := count("sudo crictl ps --name '^etcd$' -q"); n != 1 {
		t.Errorf("etcd containers after the kubelet restart: %d, want 1", n)
	}
	if out, err := c.SSH(h, "sudo /usr/local/bin/cluster-restore.sh /home/core/backup"); err == nil || !strings.Contains(out, "Path to the directory containing backup files is required") {
		t.Errorf("cluster-restore.sh without a backup dir: %v\n%s", err, out)
	}
	if out, err := c.SSH(h, "cluster-restore.sh /tmp"); !c.FakeSudo && (err == nil || !strings.Contains(out, "must be run as root")) {
		t.Errorf("cluster-restore.sh as core: %v\n%s", err, out)
	}
	log := readFile(t, filepath.Join(h.State, "commands.log"))
	for _, want := range []string{"\tcrictl\tps\t--name\t\\^etcd\\$", "\tsystemctl\trestart\tkubelet.service", "\tmv\t/etc/kubernetes/manifests/etcd-pod.yaml\t/tmp/"} {
		if !strings.Contains(log, want) {
			t.Errorf("command log lacks %q:\n%s", want, log)
		}
	}
}
