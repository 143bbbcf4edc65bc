package e2e

import (
	"encoding/json"
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
	// -o json is what a script parses: valid JSON, the operator included, labels set.
	if out, err := c.SSH(h, "sudo crictl ps -o json --label io.kubernetes.pod.namespace=openshift-etcd"); err != nil {
		t.Errorf("crictl ps -o json: %v\n%s", err, out)
	} else {
		var ps struct {
			Containers []struct {
				ID       string
				State    string
				Metadata struct{ Name string }
				Labels   map[string]string
			}
		}
		if err := json.Unmarshal([]byte(out), &ps); err != nil {
			t.Errorf("crictl ps -o json: %v\n%s", err, out)
		}
		var names []string
		for _, ct := range ps.Containers {
			names = append(names, ct.Metadata.Name)
			if len(ct.ID) != 64 || ct.State != "CONTAINER_RUNNING" || ct.Labels["io.kubernetes.pod.name"] != "etcd-"+h.Name {
				t.Errorf("crictl ps -o json: container %+v", ct)
			}
		}
		if strings.Join(names, " ") != "etcdctl etcd etcd-metrics" {
			t.Errorf("crictl ps -o json in openshift-etcd: %v, want etcdctl etcd etcd-metrics", names)
		}
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

// TestSimulatedAPI checks the fake oc's model of the API: quorum, the EOF window after
// the restore, forced redeployments (a reused reason changes nothing; the new revision
// appears late and nodes reach it one by one) and the etcd pods it lists.
func TestSimulatedAPI(t *testing.T) {
	tm := Timing{APIEOF: 3 * time.Second, RevisionDelay: 2 * time.Second, NodeDelay: time.Second}
	c := NewCluster(t, ClusterConfig{Masters: 3, Timing: tm})
	oc := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(c.Bin, "oc"), args...).CombinedOutput()
		return string(out), err
	}
	want := func(wantOut string, args ...string) {
		t.Helper()
		out, err := oc(args...)
		if err != nil || out != wantOut {
			t.Errorf("oc %s: %v\n got %q\nwant %q", strings.Join(args, " "), err, out, wantOut)
		}
	}
	want("4.5.2", "get", "clusterversion", "version", "-o", "jsonpath={.status.desired.version}")
	want("yes\n", "auth", "can-i", "*", "*", "--all-namespaces")
	want("", "get", "proxy", "cluster", "-o", "jsonpath={.status.httpProxy}")
	cond := `jsonpath={range .status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason}{"\n"}{.message}{"\n"}{end}`
	want("AllNodesAtLatestRevision\n3 nodes are at revision 3\n", "get", "etcd", "cluster", "-o", cond)
	want("AllNodesAtLatestRevision\n3 nodes are at revision 3\n", "get", "etcd", "-o", `jsonpath={range .items[0].status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason}{"\n"}{.message}{"\n"}{end}`)
	if out, err := oc("patch", "etcd", "cluster", "-p", `{"spec":{"forceRedeploymentReason":"x"}}`); err == nil || !strings.Contains(out, "UnsupportedMediaType") {
		t.Errorf("a strategic merge patch of an operator resource must fail: %v %s", err, out)
	}
	want("etcd.operator.openshift.io/cluster patched\n", "patch", "etcd", "cluster", "--type=merge", "-p", `{"spec":{"forceRedeploymentReason":"r1"}}`)
	want("etcd.operator.openshift.io/cluster patched (no change)\n", "patch", "etcd", "cluster", "--type=merge", "-p", `{"spec":{"forceRedeploymentReason":"r1"}}`)
	// Until the operator has created the new revision, the old condition still says done.
	want("3", "get", "etcd", "cluster", "-o", "jsonpath={.status.latestAvailableRevision}")
	want("AllNodesAtLatestRevision\n3 nodes are at revision 3\n", "get", "etcd", "cluster", "-o", cond)
	// Then the new revision appears and the nodes reach it one by one: watch it happen.
	progression := []string{
		"3 AllNodesAtLatestRevision 3 nodes are at revision 3",
		"4 NodeInstaller 3 nodes are at revision 3; 0 nodes have achieved new revision 4",
		"4 NodeInstaller 2 nodes are at revision 3; 1 nodes are at revision 4",
		"4 NodeInstaller 1 nodes are at revision 3; 2 nodes are at revision 4",
		"4 AllNodesAtLatestRevision 3 nodes are at revision 4",
	}
	var seen []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := oc("get", "etcd", "cluster", "-o", `jsonpath={.status.latestAvailableRevision} {range .status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason} {.message}{end}`)
		if err != nil {
			t.Fatalf("oc get etcd: %v %s", err, out)
		}
		if len(seen) == 0 || seen[len(seen)-1] != out {
			seen = append(seen, out)
		}
		if out == progression[len(progression)-1] {
			break
		}
	}
	// Every state seen is one of the progression, in its order, from the first to the last.
	next := 0
	for _, s := range seen {
		for next < len(progression) && progression[next] != s {
			next++
		}
		if next == len(progression) {
			t.Fatalf("etcd rollout: states %q do not follow the progression %q", seen, progression)
		}
	}
	if seen[0] != progression[0] || seen[len(seen)-1] != progression[len(progression)-1] || len(seen) < 3 {
		t.Errorf("etcd rollout: saw %q, want the progression %q", seen, progression)
	}
	out, _ := oc("get", "pods", "-n", "openshift-etcd")
	if n := strings.Count(out, " Running "); n != 3 || !strings.Contains(out, "installer-4-") || !strings.Contains(out, "Completed") {
		t.Errorf("oc get pods -n openshift-etcd:\n%s", out)
	}

	// Quorum lost: two etcds stop.
	for _, h := range c.Others() {
		if out, err := c.SSH(h, "sudo mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp/ && sudo crictl ps -q >/dev/null"); err != nil {
			t.Fatal(err, out)
		}
	}
	if out, err := oc("get", "pods", "-n", "openshift-etcd"); err == nil || !strings.Contains(out, "etcdserver: request timed out") {
		t.Errorf("without quorum oc must fail: %v\n%s", err, out)
	}
	// The restore on the recovery host; its kubelet restart; the EOF window; one member.
	rec := c.Recovery()
	c.CopyBackup(rec)
	if out, err := c.SSH(rec, "sudo /usr/local/bin/cluster-restore.sh /home/core/backup && sudo systemctl restart kubelet.service"); err != nil {
		t.Fatal(err, out)
	}
	if out, err := oc("get", "pods", "-n", "openshift-etcd"); err == nil || strings.TrimSpace(out) != "Unable to connect to the server: EOF" {
		t.Errorf("right after the restore oc must see EOF: %v\n%s", err, out)
	}
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out, err = oc("get", "pods", "-n", "openshift-etcd", "-l", "app=etcd", "-o", "name"); err == nil {
			break
		}
	}
	if err != nil || strings.TrimSpace(out) != "pod/etcd-"+rec.Name {
		t.Errorf("once the API is back, one etcd pod: %v\n%s", err, out)
	}
	if m := readFile(t, filepath.Join(rec.Root, etcdDataDir, "member/snap/db")); !strings.Contains(m, "restored member on "+rec.Name) {
		t.Errorf("the restore pod did not restore the snapshot into /var/lib/etcd: %q", m)
	}
}

// TestFakesShellcheck keeps the simulated tools and the namespace wrapper clean bash.
func TestFakesShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("e2e: skipped: shellcheck is not installed")
	}
	files := []string{"testdata/ns-init.sh"}
	for _, f := range []string{"crictl", "systemctl", "cluster-restore.sh", "sudo", "mv", "sleep", "sim-lib.bash",
		"cluster-restore-4.18.sh", "disable-etcd.sh", "etcd-common-tools", "etcdutl"} {
		files = append(files, filepath.Join("testdata/fakes", f))
	}
	cmd := exec.Command("shellcheck", append([]string{"-x", "-P", "testdata/fakes", "-s", "bash"}, files...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
