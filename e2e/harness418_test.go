package e2e

import (
	"encoding/json"
	"fmt"

	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tests of the 4.18+ simulation itself: the fakes run by hand over ssh in the order of
// procedure-4.18.md, the refusals and messages of the real scripts, the API's model.

// TestSimulatedHosts418 checks a 4.18 host: the scripts the etcd operator installs,
// the 4.18 etcd containers beside guard and operator containers (only exact names
// tell them apart), and disable-etcd.sh's refusals, messages and effect.
func TestSimulatedHosts418(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", AutomatedBackup: true, Timing: Timing{StopDelay: 1500 * time.Millisecond}})
	h := c.Hosts[1]
	ssh := func(cmd string) string {
		t.Helper()
		out, err := c.SSH(h, cmd)
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return out
	}
	count := func(cmd string) int { t.Helper(); return len(strings.Fields(ssh(cmd))) }
	for _, f := range []string{"/usr/local/bin/disable-etcd.sh", "/usr/local/bin/cluster-restore.sh", "/var/lib/etcd/revision.json",
		"/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd.env",
		"/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts/etcd-common-tools",
		"/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/restore-etcd-pod/pod.yaml"} {
		ssh("test -f " + f)
	}
	etcdPod := "etcdctl etcd etcd-metrics etcd-readyz etcd-rev etcd-backup-server"
	if got := strings.Join(strings.Fields(ssh("sudo crictl ps --label io.kubernetes.pod.name=etcd-"+h.Name+" -o json | grep '\"name\":' | grep -v attempt | sed 's/.*: \"//; s/\".*//' | sort -u")), " "); got != "etcd etcd-backup-server etcd-metrics etcd-readyz etcd-rev etcdctl" {
		t.Errorf("containers of the etcd pod: %q, want %s", got, etcdPod)
	}
	// A regex name filter also catches the operator; guard pods have a container "guard".
	if n := count("sudo crictl ps --name etcd -q"); n != 7 {
		t.Errorf("crictl ps --name etcd: %d containers, want 7 (six of the etcd pod and etcd-operator)", n)
	}
	if n := count("sudo crictl ps --label io.kubernetes.container.name=etcd -q"); n != 1 {
		t.Errorf("exact name etcd: %d, want 1", n)
	}
	if n := count("sudo crictl ps --name '^guard$' -q"); n != 4 {
		t.Errorf("guard containers: %d, want 4 (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)", n)
	}
	if n := count("sudo crictl ps --label io.kubernetes.pod.name=etcd-guard-" + h.Name + " --label io.kubernetes.pod.namespace=openshift-etcd -q"); n != 1 {
		t.Errorf("etcd-guard-%s: %d containers, want 1", h.Name, n)
	}

	// Refusals before any change.
	if out, err := c.SSH(h, "/usr/local/bin/disable-etcd.sh"); !c.FakeSudo && (err == nil || !strings.Contains(out, "This script must be run as root")) {
		t.Errorf("disable-etcd.sh as core: %v\n%s", err, out)
	}
	scripts := "/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts"
	out, err := c.SSH(h, "sudo mv "+scripts+"/etcd-common-tools /tmp/ && { sudo /usr/local/bin/disable-etcd.sh; rc=$?; sudo mv /tmp/etcd-common-tools "+scripts+"/; exit $rc; }")
	if err == nil || strings.TrimSpace(out) != "required dependencies not found, please ensure this script is run on a node with a functional etcd static pod" {
		t.Errorf("disable-etcd.sh without etcd-common-tools: %v\n%s", err, out)
	}
	if !fileExistsAt(h, "etc/kubernetes/manifests/etcd-pod.yaml") {
		t.Fatalf("a refused disable-etcd.sh moved etcd-pod.yaml")
	}

	// The real run: the manifest goes to manifests-stopped, every container of the list
	// is awaited in turn, nothing else changes.
	before := snapshotHosts(t, c)
	start := time.Now()
	out = ssh("sudo -E /usr/local/bin/disable-etcd.sh")
	if time.Since(start) < 1500*time.Millisecond {
		t.Errorf("disable-etcd.sh returned after %s, before etcd stopped", time.Since(start))
	}
	want := "...stopping etcd-pod.yaml\nWaiting for container etcd to stop\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("disable-etcd.sh output starts %q, want %q", out, want)
	}
	for _, name := range strings.Fields(etcdPod) {
		mustContain(t, "disable-etcd.sh", out, "Waiting for container "+name+" to stop")
	}
	if n := strings.Count(out, "complete\n"); n != 6 {
		t.Errorf("disable-etcd.sh: %d \"complete\", want 6:\n%s", n, out)
	}
	if n := count("sudo crictl ps --label io.kubernetes.pod.name=etcd-" + h.Name + " -q"); n != 0 {
		t.Errorf("%d containers of the etcd pod still run", n)
	}
	if got := h.ExitedContainers("etcd"); len(got) != 6 {
		t.Errorf("exited etcd containers %v, want the six", got)
	}
	// Nothing else changed: the manifest moved, that is all.
	moved := before[h]["/etc/kubernetes/manifests/etcd-pod.yaml"]
	delete(before[h], "/etc/kubernetes/manifests/etcd-pod.yaml")
	before[h]["/home/core/assets/manifests-stopped/etcd-pod.yaml"] = moved
	assertUnchanged(t, c, before)
	if n := count("sudo crictl ps --name '^guard$' -q"); n != 4 {
		t.Errorf("guard containers after disable-etcd.sh: %d, want 4 (not static pods)", n)
	}
	// Again: nothing to move, nothing to wait for.
	out = ssh("sudo /usr/local/bin/disable-etcd.sh")
	if !strings.HasPrefix(out, "...stopping etcd-pod.yaml\nWaiting for container etcd to stop\ncomplete\n") {
		t.Errorf("a second disable-etcd.sh:\n%s", out)
	}
	// The API keeps quorum with two of three; the etcd operator says which is missing.
	out, err = c.OC("get", "clusteroperator", "etcd", "-o", `jsonpath={range .status.conditions[?(@.type=="Degraded")]}{.status} {.message}{end}`)
	if err != nil || out != fmt.Sprintf("True EtcdMembersDegraded: 2 of 3 members are available, %s is unhealthy", h.Name) {
		t.Errorf("clusteroperator etcd with one etcd stopped: %v %q", err, out)
	}
	assertControlPlaneUntouched(t, c)
	// 4.21 dropped etcd-backup-server from the scripts' list and the pod.
	c21 := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.21.2", AutomatedBackup: true})
	out, err = c21.SSH(c21.Hosts[2], "sudo crictl ps --label io.kubernetes.container.name=etcd-backup-server -q; sudo /usr/local/bin/disable-etcd.sh")
	if err != nil || strings.Contains(out, "etcd-backup-server") || strings.Count(out, "complete") != 5 {
		t.Errorf("4.21 disable-etcd.sh: %v\n%s", err, out)
	}
}

func fileExistsAt(h *Host, rel string) bool { return fileExists(filepath.Join(h.Root, rel)) }

// TestSimulatedRestore418 runs procedure-4.18.md by hand over ssh and oc: etcd off on
// the other hosts, cluster-restore.sh on the recovery host, the EOF window, the etcd
// operator held back until the quorum guard is off, the new revision and the members
// rejoining, the cluster operators settling, wait-for-stable-cluster, the guard on.
func TestSimulatedRestore418(t *testing.T) {
	tm := Timing{StopDelay: 500 * time.Millisecond, StartDelay: 300 * time.Millisecond, APIEOF: 2 * time.Second,
		RevisionDelay: 1 * time.Second, NodeDelay: 500 * time.Millisecond, Settle: 300 * time.Millisecond}
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: tm})
	rec := c.Recovery()
	wantOC := func(want string, args ...string) {
		t.Helper()
		if out, err := c.OC(args...); err != nil || out != want {
			t.Errorf("oc %s: %v\n got %q\nwant %q", strings.Join(args, " "), err, out, want)
		}
	}
	wantOC("3", "get", "etcd", "cluster", "-o", "jsonpath={.status.latestAvailableRevision}")
	out, _ := c.OC("get", "co")
	if strings.Count(out, " True        False         False ") != len(clusterOperatorNames) {
		t.Errorf("oc get co before the outage: every operator stable:\n%s", out)
	}

	// Step 3 on the other hosts: quorum is gone.
	for _, h := range c.Others() {
		if out, err := c.SSH(h, "sudo -E /usr/local/bin/disable-etcd.sh"); err != nil {
			t.Fatalf("%s: disable-etcd.sh: %v\n%s", h.Hostname, err, out)
		}
	}
	if out, err := c.OC("get", "co"); err == nil || !strings.Contains(out, "etcdserver: request timed out") {
		t.Errorf("without quorum oc must fail: %v\n%s", err, out)
	}
	// Step 5 on the recovery host, with what the real script deletes or moves there.
	c.CopyBackup(rec)
	c.PutInEtcdDir(rec, "etcd_perf_2025-03-01.fio")
	writeFile(t, filepath.Join(rec.Root, etcdBackup, "member", "snap", "db"), "member of an earlier restore\n", 0o600)
	out, err := c.SSH(rec, "sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup")
	if err != nil {
		t.Fatalf("cluster-restore.sh: %v\n%s", err, out)
	}
	order := []string{"etcdctl version: ", `{"hash":`, "...stopping etcd-pod.yaml\n", "Waiting for container etcd to stop\n",
		"Waiting for container etcd-backup-server to stop\n",
		"removing previous backup /var/lib/etcd-backup/member\n", "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup\n",
		"starting restore-etcd static pod\n"}
	last := 0
	for _, w := range order {
		i := strings.Index(out[last:], w)
		if i < 0 {
			t.Errorf("cluster-restore.sh: %q missing or out of order in:\n%s", w, out)
			break
		}
		last += i
	}
	if strings.Contains(out, "SNAPSHOT RESTORE COMPLETED") {
		t.Errorf("the 4.22 banner on 4.18:\n%s", out)
	}
	where := assertNothingLost(t, c)
	for _, f := range []string{"/var/lib/etcd/member/snap/db", "/var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal"} {
		if want := strings.Replace(f, "/etcd/", "/etcd-backup/", 1); !contains(where[rec][f], want) {
			t.Errorf("%s should be at %s, is at %v", f, want, where[rec][f])
		}
	}
	if strings.Contains(readFileOr(filepath.Join(rec.Root, etcdBackup, "member/snap/db")), "earlier restore") {
		t.Errorf("the earlier /var/lib/etcd-backup/member should have been removed")
	}
	if !contains(where[rec]["/var/lib/etcd/revision.json"], "/var/lib/etcd-backup/revision.json") {
		t.Errorf("revision.json should be in /var/lib/etcd-backup: %v", where[rec]["/var/lib/etcd/revision.json"])
	}
	if !contains(where[rec]["/etc/kubernetes/manifests/etcd-pod.yaml"], "/home/core/assets/manifests-stopped/etcd-pod.yaml") {
		t.Errorf("etcd-pod.yaml should be in manifests-stopped: %v", where[rec]["/etc/kubernetes/manifests/etcd-pod.yaml"])
	}
	if left, _ := filepath.Glob(filepath.Join(rec.Root, etcdDataDir, "etcd_perf*")); len(left) > 0 {
		t.Errorf("etcd_perf* left: %v", left)
	}
	if m := readFileOr(filepath.Join(rec.Root, manifestsDir, "etcd-pod.yaml")); !strings.Contains(m, "restore pod for "+rec.Name) {
		t.Errorf("manifests/etcd-pod.yaml is not the restore pod:\n%s", m)
	}
	// The kubelet starts the restore pod by itself; the API answers after the EOF window.
	if out, err := c.OC("get", "co"); err == nil || strings.TrimSpace(out) != "Unable to connect to the server: EOF" {
		t.Errorf("right after the restore: want EOF, got %v %q", err, out)
	}
	waitFor(t, 20*time.Second, "the API after the restore", func() bool { _, err := c.OC("whoami"); return err == nil })
	wantOC("pod/etcd-"+rec.Name+"\n", "-n", "openshift-etcd", "get", "pods", "-l", "k8s-app=etcd", "-o", "name")
	if m := readFileOr(filepath.Join(rec.Root, etcdDataDir, "member/snap/db")); !strings.Contains(m, "restored member on "+rec.Name) {
		t.Errorf("the restore pod did not restore the snapshot: %q", m)
	}
	if fileExistsAt(rec, etcdBackup+"/snapshot.db") || !fileExistsAt(rec, etcdDataDir+"/revision.json") {
		t.Errorf("the restore pod removes the snapshot copy and copies revision.json back")
	}

	// The guard is on: the operator's new revision is held back, etcd is Degraded.
	waitFor(t, 10*time.Second, "the revision controller to give up", func() bool {
		_, _ = c.OC("whoami") // the model moves on oc calls
		_, ok := c.HasEvent("revision-blocked etcd")
		return ok
	})
	time.Sleep(2 * tm.RevisionDelay)
	wantOC("3", "get", "etcd", "cluster", "-o", "jsonpath={.status.latestAvailableRevision}")
	out, _ = c.OC("get", "etcd", "cluster", "-o", `jsonpath={range .status.conditions[?(@.type=="RevisionControllerDegraded")]}{.status} {.message}{end}`)
	if !strings.HasPrefix(out, "True etcd cluster has quorum of 1 which is not fault tolerant: [{Member:name:\""+rec.Name+"\"") {
		t.Errorf("RevisionControllerDegraded: %q", out)
	}
	out, _ = c.OC("get", "co", "etcd")
	if !strings.Contains(out, "True        False         True") || !strings.Contains(out, "1 of 3 members are available") {
		t.Errorf("oc get co etcd while held back:\n%s", out)
	}

	// Step 7: guard off. Step 8: the members rejoin, wait-for-stable-cluster succeeds.
	guardOffPatch := `{"spec": {"unsupportedConfigOverrides": {"useUnsupportedUnsafeNonHANonProductionUnstableEtcd": true}}}`
	wantOC("etcd.operator.openshift.io/cluster patched\n", "patch", "etcd/cluster", "--type=merge", "-p", guardOffPatch)
	wantOC("etcd.operator.openshift.io/cluster patched (no change)\n", "patch", "etcd/cluster", "--type=merge", "-p", guardOffPatch)
	wantOC(`{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd":true}`, "get", "etcd/cluster", "-o", "jsonpath={.spec.unsupportedConfigOverrides}")
	if !c.GuardOverride() {
		t.Errorf("GuardOverride() false after the patch")
	}
	start := time.Now()
	out, err = c.OC("adm", "wait-for-stable-cluster", "--minimum-stable-period=2s", "--timeout", "60s")
	if err != nil {
		t.Fatalf("wait-for-stable-cluster: %v\n%s", err, out)
	}
	logRun(t, "oc adm wait-for-stable-cluster", Result{Output: out})
	mustContain(t, "wait-for-stable-cluster", out, "clusteroperators/etcd is ", "clusteroperators/etcd stabilized at ",
		"clusteroperators/kube-apiserver ", "clusteroperators/monitoring stabilized at ", "All clusteroperators became stable at ",
		"All clusteroperators are still stable after ", "\nAll clusteroperators are stable\n")
	if time.Since(start) < 2*time.Second {
		t.Errorf("wait-for-stable-cluster returned after %s, within the stable period", time.Since(start))
	}
	for _, h := range c.Hosts {
		if k := h.PodKind("etcd"); k != "rollout" {
			t.Errorf("%s: etcd is %q, want the new revision", h.Hostname, k)
		}
		if m := readFileOr(filepath.Join(h.Root, manifestsDir, "etcd-pod.yaml")); !strings.Contains(m, `revision: "4"`) {
			t.Errorf("%s: etcd-pod.yaml is not revision 4:\n%s", h.Hostname, m)
		}
	}
	for _, h := range c.Others() {
		archived, _ := filepath.Glob(filepath.Join(h.Root, etcdDataDir, "member-removed-archive-*"))
		if len(archived) != 1 || !strings.Contains(readFileOr(filepath.Join(h.Root, etcdDataDir, "member/snap/db")), "joined the restored cluster") {
			t.Errorf("%s: the old member should be archived (%v) and a new one joined", h.Hostname, archived)
		}
	}
	assertNothingLost(t, c)
	out, _ = c.OC("-n", "openshift-etcd", "get", "pods", "-l", "k8s-app=etcd")
	if strings.Count(out, " 5/5     Running ") != 3 {
		t.Errorf("three etcd pods 5/5 Running:\n%s", out)
	}
	out, _ = c.OC("get", "co", "etcd", "-o", `jsonpath={range .status.conditions[?(@.type=="Upgradeable")]}{.status} {.message}{end}`)
	if out != "False UnsupportedConfigOverridesUpgradeable: setting: [useUnsupportedUnsafeNonHANonProductionUnstableEtcd]" {
		t.Errorf("etcd Upgradeable with the override left set: %q", out)
	}

	// Step 9: guard on; the override is gone from the spec.
	wantOC("etcd.operator.openshift.io/cluster patched\n", "patch", "etcd/cluster", "--type=merge", "-p", `{"spec": {"unsupportedConfigOverrides": null}}`)
	if out, _ := c.OC("get", "etcd/cluster", "-oyaml"); strings.Contains(out, "unsupportedConfigOverrides") || c.GuardOverride() {
		t.Errorf("the override is still there:\n%s", out)
	}
	var co struct {
		Items []map[string]any `json:"items"`
	}
	out, _ = c.OC("get", "clusteroperators", "-o", "json")
	if err := json.Unmarshal([]byte(out), &co); err != nil || len(co.Items) != len(clusterOperatorNames) {
		t.Fatalf("oc get clusteroperators -o json: %v\n%s", err, out)
	}
	for _, it := range co.Items {
		if r := unstableReason(it); r != "" {
			t.Errorf("%s is %s at the end", jget(it, "metadata", "name"), r)
		}
	}
	// The order the model saw.
	var seq []string
	for _, e := range c.Events() {
		for _, k := range []string{"api-back-after-restore", "revision-blocked", "guard-off", "revision-unblocked", "revision etcd 4", "etcd-members-back", "cluster-stable", "guard-on"} {
			if strings.HasPrefix(e.Text, k) {
				seq = append(seq, k)
			}
		}
	}
	if got := strings.Join(seq, ", "); got != "api-back-after-restore, revision-blocked, guard-off, revision-unblocked, revision etcd 4, etcd-members-back, cluster-stable, guard-on" {
		t.Errorf("events: %s", got)
	}
	assertRestored418(t, c)
	// Forcing a revision still works as in 4.5 (the troubleshooting path).
	wantOC("etcd.operator.openshift.io/cluster patched\n", "patch", "etcd", "cluster", "--type=merge", "-p", `{"spec":{"forceRedeploymentReason":"recovery-1"}}`)
	waitFor(t, 20*time.Second, "the forced revision 5", func() bool {
		out, _ := c.OC("get", "etcd", "cluster", "-o", `jsonpath={range .status.conditions[?(@.type=="NodeInstallerProgressing")]}{.message}{end}`)
		return out == "3 nodes are at revision 5"
	})
}

// TestSimulatedRestore418Refusals checks cluster-restore.sh's refusals: before any
// change (usage, missing dependencies, a corrupt snapshot) and after etcd is already
// down (anything else in /var/lib/etcd); and the newest-by-name choice.
func TestSimulatedRestore418Refusals(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.22.1", Timing: Timing{StopDelay: 300 * time.Millisecond}})
	rec := c.Recovery()
	c.CopyBackup(rec)
	before := snapshotHosts(t, c)
	out, err := c.SSH(rec, "sudo /usr/local/bin/cluster-restore.sh")
	if err == nil || !strings.HasPrefix(out, "Path to the directory containing backup files is required: ./cluster-restore.sh <path-to-backup>\nThe backup directory is expected to be contain two files:\n") {
		t.Errorf("no argument: %v\n%s", err, out)
	}
	scripts := "/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts"
	out, err = c.SSH(rec, "sudo mv "+scripts+"/etcd.env /tmp/ && { sudo /usr/local/bin/cluster-restore.sh /home/core/backup; rc=$?; sudo mv /tmp/etcd.env "+scripts+"/; exit $rc; }")
	if err == nil || strings.TrimSpace(out) != "required dependencies not found, please ensure this script is run on a node with a functional etcd static pod" {
		t.Errorf("without etcd.env: %v\n%s", err, out)
	}
	assertUnchanged(t, c, before, "/home/core/backup/", "/etc/kubernetes/static-pod-resources/bin/", "/tmp/")

	// A corrupt snapshot: the integrity check stops it before etcd is touched.
	c.CorruptSnapshot()
	c.CopyBackup(rec)
	out, err = c.SSH(rec, "sudo /usr/local/bin/cluster-restore.sh /home/core/backup")
	if err == nil || !strings.Contains(out, "Backup integrity verification failed. Backup appears corrupted. Aborting!") || strings.Contains(out, "stopping") {
		t.Errorf("corrupt snapshot: %v\n%s", err, out)
	}
	assertUnchanged(t, c, before, "/home/core/backup/", "/etc/kubernetes/static-pod-resources/bin/", "/tmp/")

	// Newest by name, pairs or not: a newer snapshot alone is taken with the old tarball.
	out, err = c.SSH(rec, "cp /home/core/backup/snapshot_2025-03-04_101530.db /home/core/backup/snapshot_2025-03-10_080000.db && sudo /usr/local/bin/cluster-restore.sh /home/core/backup")
	picked := filter(c.Commands(), func(x Command) bool { return x.Tool == "cluster-restore.sh-picked" })
	if len(picked) == 0 || strings.Join(picked[len(picked)-1].Args, " ") != "/home/core/backup/static_kuberesources_2025-03-04_101530.tar.gz /home/core/backup/snapshot_2025-03-10_080000.db" {
		t.Errorf("picked %v", picked)
	}
	_ = out
	_ = err

	// Anything else in /var/lib/etcd: the script stops after etcd is down and member/ moved.
	c2 := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.22.1", Timing: Timing{StopDelay: 300 * time.Millisecond}})
	rec = c2.Recovery()
	c2.CopyBackup(rec)
	c2.PutInEtcdDir(rec, "lost+found/")
	c2.PutInEtcdDir(rec, "etcd_perf_results.json")
	out, err = c2.SSH(rec, "sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup")
	if err == nil || !strings.HasSuffix(out, "folder /var/lib/etcd is not empty, please review and remove all files in it\n") {
		t.Errorf("/var/lib/etcd not empty: %v\n%s", err, out)
	}
	mustContain(t, "cluster-restore.sh", out, "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup")
	if fileExistsAt(rec, manifestsDir+"/etcd-pod.yaml") || rec.PodKind("etcd") != "" {
		t.Errorf("etcd should be down and no restore pod installed")
	}
	if !fileExistsAt(rec, etcdDataDir+"/lost+found/left-here") || fileExistsAt(rec, etcdDataDir+"/etcd_perf_results.json") {
		t.Errorf("lost+found stays, etcd_perf* is deleted")
	}
	// The 4.22 banner after a restore that goes through.
	if out, err := c2.SSH(rec, "sudo mv /var/lib/etcd/lost+found /home/core/ && sudo /usr/local/bin/cluster-restore.sh /home/core/backup"); err != nil ||
		!strings.Contains(out, "starting restore-etcd static pod\n===") || !strings.Contains(out, "SNAPSHOT RESTORE COMPLETED") {
		t.Errorf("4.22 cluster-restore.sh: %v\n%s", err, out)
	}
}

// TestSimulatedFaults418 checks the selectable faults and the older oc: etcd that never
// stops (disable-etcd.sh waits forever), a cluster that never becomes stable
// (wait-for-stable-cluster times out), and a client without wait-for-stable-cluster.
func TestSimulatedFaults418(t *testing.T) {
	tm := Timing{StopDelay: 300 * time.Millisecond, StartDelay: 200 * time.Millisecond, APIEOF: time.Second,
		RevisionDelay: 500 * time.Millisecond, NodeDelay: 300 * time.Millisecond, Settle: 200 * time.Millisecond}
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.19.3", Timing: tm})
	c.SetFault(c.Hosts[2], "SIM_STUCK=etcd")
	out, err := c.SSH(c.Hosts[2], "timeout 4 sudo /usr/local/bin/disable-etcd.sh")
	if err == nil || !regexp.MustCompile(`\nWaiting for container etcd to stop\n\.{2,}$`).MatchString(out) {
		t.Errorf("disable-etcd.sh with etcd stuck: want it still waiting after 4s: %v\n%q", err, out)
	}
	c.SetFault(c.Hosts[2], "")
	c.NeverStable("authentication")

	// The older client.
	c.SetOCClientVersion("4.9.0")
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--help"); err != nil || strings.Contains(out, "wait-for-stable-cluster") || !strings.Contains(out, "oc adm [flags]") {
		t.Errorf("old oc: --help prints oc adm's help and exits 0: %v\n%s", err, out)
	}
	if out, err := c.OC("adm", "wait-for-stable-cluster"); err == nil || !strings.HasPrefix(out, `error: unknown command "wait-for-stable-cluster"`) {
		t.Errorf("old oc: %v\n%s", err, out)
	}
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--timeout=1m"); err == nil || !strings.HasPrefix(out, "Error: unknown flag: --timeout") {
		t.Errorf("old oc with flags: %v\n%s", err, out)
	}
	if out, _ := c.OC("adm", "--help"); strings.Contains(out, "wait-for-stable-cluster") {
		t.Errorf("old oc adm --help lists wait-for-stable-cluster")
	}
	c.SetOCClientVersion("4.19.3")
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--help"); err != nil || !strings.Contains(out, "oc adm wait-for-stable-cluster [flags] [options]") {
		t.Errorf("new oc --help: %v\n%s", err, out)
	}
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--timeout=5s", "--minimum-stable-period=5s"); err == nil || strings.TrimSpace(out) != "error: --timeout must be greater than the --minimum-stable-period" {
		t.Errorf("timeout <= period: %v\n%s", err, out)
	}

	// The whole procedure, then a cluster that never settles.
	for _, h := range c.Others() {
		if out, err := c.SSH(h, "sudo /usr/local/bin/disable-etcd.sh"); err != nil {
			t.Fatal(err, out)
		}
	}
	c.CopyBackup(c.Recovery())
	if out, err := c.SSH(c.Recovery(), "sudo /usr/local/bin/cluster-restore.sh /home/core/backup"); err != nil {
		t.Fatal(err, out)
	}
	waitFor(t, 20*time.Second, "the API", func() bool { _, err := c.OC("whoami"); return err == nil })
	if out, err := c.OC("patch", "etcd", "cluster", "--type=json", "-p", `[{"op":"add","path":"/spec/unsupportedConfigOverrides","value":{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd":true}}]`); err != nil || !c.GuardOverride() {
		t.Fatalf("guard off (json patch): %v %s", err, out)
	}
	start := time.Now()
	out, err = c.OC("adm", "wait-for-stable-cluster", "--minimum-stable-period", "1s", "--timeout", "8s")
	if err == nil || !strings.HasSuffix(out, "error: context deadline exceeded\n") || !strings.Contains(out, "clusteroperators/authentication is still degraded after ") {
		t.Errorf("never stable: %v\n%s", err, out)
	}
	if d := time.Since(start); d < 8*time.Second || d > 15*time.Second {
		t.Errorf("wait-for-stable-cluster --timeout 8s took %s", d)
	}
	if _, ok := c.HasEvent("etcd-members-back"); !ok {
		t.Errorf("the members should be back even though the cluster never settles")
	}
	if _, ok := c.HasEvent("cluster-stable"); ok {
		t.Errorf("cluster-stable recorded for a cluster that never settles")
	}
	out, _ = c.OC("get", "co", "authentication", "--no-headers")
	if f := strings.Fields(out); len(f) < 5 || strings.Join(f[2:5], " ") != "True False True" {
		t.Errorf("authentication: %s", out)
	}
}

// TestSimulatedSingleNode418 checks single-node OpenShift: no guard pods, no quorum
// guard needed (the operator's revision goes ahead), the same restore.
func TestSimulatedSingleNode418(t *testing.T) {
	tm := Timing{StopDelay: 300 * time.Millisecond, StartDelay: 200 * time.Millisecond, APIEOF: time.Second,
		RevisionDelay: 500 * time.Millisecond, NodeDelay: 300 * time.Millisecond, Settle: 100 * time.Millisecond}
	c := NewCluster(t, ClusterConfig{Masters: 1, Version: "4.20.5", Timing: tm})
	h := c.Recovery()
	if len(c.Others()) != 0 {
		t.Fatalf("one master, Others() = %v", c.Others())
	}
	if out, _ := c.OC("get", "infrastructure", "cluster", "-o", "jsonpath={.status.controlPlaneTopology}"); out != "SingleReplica" {
		t.Errorf("controlPlaneTopology %q", out)
	}
	if out, err := c.SSH(h, "sudo crictl ps --name '^guard$' -q"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("guard pods on single-node: %v %q", err, out)
	}
	c.CopyBackup(h)
	if out, err := c.SSH(h, "sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup"); err != nil {
		t.Fatal(err, out)
	}
	out, err := c.OC("adm", "wait-for-stable-cluster", "--minimum-stable-period=1s", "--timeout=40s")
	if err != nil || !strings.Contains(out, "failed to list clusteroperators: ") || !strings.HasSuffix(out, "All clusteroperators are stable\n") {
		t.Errorf("wait-for-stable-cluster through the EOF window: %v\n%s", err, out)
	}
	if c.GuardOverride() || h.PodKind("etcd") != "rollout" {
		t.Errorf("single-node: the new revision rolls out without the override (override %t, etcd %q)", c.GuardOverride(), h.PodKind("etcd"))
	}
	if _, ok := c.HasEvent("revision-blocked"); ok {
		t.Errorf("single-node: the revision controller must not be held back")
	}
	if out, _ := c.OC("-n", "openshift-etcd", "get", "pods", "-l", "k8s-app=etcd", "--no-headers"); len(strings.Fields(out)) != 5 || !strings.Contains(out, " 5/5 ") {
		t.Errorf("one etcd pod, 5/5 Running:\n%s", out)
	}
	assertRestored418(t, c)
}

// waitFor polls cond every 100ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// TestSimulatedGuardTooEarly418 checks the consequence of turning the quorum guard
// back on before the etcd operator has created its post-restore revision: the
// revision controller's precondition fails again, the revision never comes, the other
// members never rejoin, and etcd stays Degraded until the guard goes off again.
func TestSimulatedGuardTooEarly418(t *testing.T) {
	tm := Timing{StopDelay: 300 * time.Millisecond, StartDelay: 200 * time.Millisecond, APIEOF: time.Second,
		RevisionDelay: 1500 * time.Millisecond, NodeDelay: 300 * time.Millisecond, Settle: 100 * time.Millisecond}
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.18.7", Timing: tm})
	for _, h := range c.Others() {
		if out, err := c.SSH(h, "sudo /usr/local/bin/disable-etcd.sh"); err != nil {
			t.Fatal(err, out)
		}
	}
	c.CopyBackup(c.Recovery())
	if out, err := c.SSH(c.Recovery(), "sudo /usr/local/bin/cluster-restore.sh /home/core/backup"); err != nil {
		t.Fatal(err, out)
	}
	waitFor(t, 20*time.Second, "the API", func() bool { _, err := c.OC("whoami"); return err == nil })
	for _, p := range []string{`{"spec":{"unsupportedConfigOverrides":{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd":true}}}`, `{"spec":{"unsupportedConfigOverrides":null}}`} {
		if out, err := c.OC("patch", "etcd/cluster", "--type=merge", "-p", p); err != nil {
			t.Fatal(err, out)
		}
	}
	time.Sleep(2 * tm.RevisionDelay)
	out, _ := c.OC("get", "etcd", "cluster", "-o", `jsonpath={.status.latestAvailableRevision} {range .status.conditions[?(@.type=="RevisionControllerDegraded")]}{.status}{end}`)
	if out != "3 True" {
		t.Errorf("guard on too early: want no new revision and RevisionControllerDegraded, got %q", out)
	}
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--minimum-stable-period=1s", "--timeout=4s"); err == nil || !strings.Contains(out, "clusteroperators/etcd is still degraded after") {
		t.Errorf("the cluster cannot become stable: %v\n%s", err, out)
	}
	if _, ok := c.HasEvent("etcd-members-back"); ok {
		t.Errorf("the members rejoined although the revision was held back")
	}
	// Off again: the revision comes and the cluster settles.
	if out, err := c.OC("patch", "etcd/cluster", "--type=merge", "-p", `{"spec":{"unsupportedConfigOverrides":{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd":true}}}`); err != nil {
		t.Fatal(err, out)
	}
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--minimum-stable-period=1s", "--timeout=30s"); err != nil {
		t.Errorf("after the guard went off again: %v\n%s", err, out)
	}
}
