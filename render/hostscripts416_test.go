package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// The host scripts of profile ocp-4.16 (procedure-4.16.md), run by real bash against
// the fake host of hostfake_test.go. These tests are not parallel: offer416 swaps the
// profile in Profiles for their length.

// offer416 makes ocp-4.16 buildable for the length of a test: a copy of the profile,
// offered, with its host steps whose kinds are implemented and the workstation steps
// every kit starts with, in place of the profile in Profiles.
func offer416(t *testing.T) {
	t.Helper()
	funcs := definedFunctions(t, renderExample(t, "three-masters").File("recover.sh").Data)
	p := profile416
	p.Offered = true
	p.Steps = nil
	for _, s := range profile416.Steps {
		first := s.Kind == "preflight" || s.Kind == "push-scripts" || s.Kind == "copy-backup"
		if len(kindImplemented(s, funcs)) == 0 && (s.Where.OnHosts() || first) {
			p.Steps = append(p.Steps, s)
		}
	}
	for i, q := range Profiles {
		if q == &profile416 {
			Profiles[i] = &p
			t.Cleanup(func() { Profiles[i] = &profile416 })
		}
	}
}

// newFakeHost416 is a fake host of the three-master example made a 4.16 on-premise
// cluster: API VIP 192.0.2.5, ingress VIP 192.0.2.4, OVN-Kubernetes, no workers, short
// waits, keepalived.yaml in the manifests.
func newFakeHost416(t *testing.T, node string, tune func(inv *inventory.Inventory)) *fakeHost {
	t.Helper()
	offer416(t)
	h := newFakeHost(t, node, func(inv *inventory.Inventory) {
		inv.Cluster.Version = "4.16.21"
		inv.Cluster.NetworkType = inventory.NetworkOVNKubernetes
		inv.Cluster.APIVIPs = inventory.IPs{"192.0.2.5"}
		inv.Cluster.IngressVIPs = inventory.IPs{"192.0.2.4"}
		inv.Workers = inventory.Workers{}
		inv.Timeouts.StaticPodStop = inventory.Duration(3 * time.Second)
		if tune != nil {
			tune(inv)
		}
	})
	h.write("etc/kubernetes/manifests/keepalived.yaml", "kind: Pod\nmetadata: {name: keepalived, namespace: openshift-kni-infra}\n# of "+node+"\n")
	return h
}

// addresses sets what the fake ip lists: "DEVICE ADDRESS/PREFIX" lines.
func (h *fakeHost) addresses(lines ...string) {
	h.write(".fakehost/addresses", strings.Join(lines, "\n")+"\n")
}

func (h *fakeHost) read(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.root, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// rootSnapshot is snapshot without the quarantine directory (run logs, state).
func (h *fakeHost) rootSnapshot() map[string]string {
	out := map[string]string{}
	for p, d := range h.snapshot() {
		if strings.HasPrefix(p, h.root+"/") || p == h.root {
			out[p] = d
		}
	}
	return out
}

// stateFile is the newest run directory's record of key (state.<key>).
func (h *fakeHost) stateFile(key string) string {
	h.t.Helper()
	found := ""
	for _, d := range h.runDirs() {
		if _, err := os.Stat(filepath.Join(d, "state."+key)); err == nil {
			found = filepath.Join(d, "state."+key)
		}
	}
	if found == "" {
		h.t.Fatalf("no run directory records %s", key)
	}
	return found
}

// Step 4.b-4.j on 4.16: the four static pods, each waited for by its exact container
// names within its namespace (the guard pods' containers keep running beside them),
// then the etcd data, all into the run directory.
func TestStopStaticPods416(t *testing.T) {
	h := newFakeHost416(t, otherNode, nil)
	before := h.snapshot()
	r := h.run(otherNode, "04-stop-static-pods.sh", []string{"FAKEHOST_STOP_POLLS=2"}, "--yes")
	wantCode(t, r, 0, "step 4.c: no etcd container runs", "step 4.e:", "step 4.g:", "step 4.i: no kube-scheduler container runs", "step 4.j: moved", "still waiting")
	run := h.runDirs()[0]
	for _, m := range []string{"etcd-pod.yaml", "kube-apiserver-pod.yaml", "kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml"} {
		gone := "etc/kubernetes/manifests/" + m
		if h.exists(gone) {
			t.Errorf("%s is still in place", gone)
		}
		if _, err := os.Stat(filepath.Join(run, h.root, gone)); err != nil {
			t.Errorf("%s is not in the run directory: %v", m, err)
		}
	}
	if h.exists("var/lib/etcd") || !h.exists("etc/kubernetes/manifests/keepalived.yaml") {
		t.Errorf("step 4.j moves the etcd data; keepalived.yaml is step 4.k's")
	}
	h.assertNothingLost(before, true)
	cmds := h.commands()
	for _, want := range []string{
		"crictl ps --label io.kubernetes.pod.namespace=openshift-etcd --name ^etcd-readyz$ --state running -q",
		"crictl ps --label io.kubernetes.pod.namespace=openshift-kube-controller-manager --name ^kube-controller-manager-recovery-controller$ --state running -q",
		"crictl ps --label io.kubernetes.pod.namespace=openshift-kube-scheduler --name ^kube-scheduler-cert-syncer$ --state running -q",
	} {
		if !strings.Contains(cmds, want) {
			t.Errorf("never ran %q", want)
		}
	}
	if strings.Contains(cmds, "etcd-rev") {
		t.Errorf("waited for etcd-rev, which 4.16 has not")
	}

	// Run again: it reports where everything is and changes nothing.
	again := h.snapshot()
	r = h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes")
	wantCode(t, r, 0, "an earlier run completed step 4 here", "already moved to")
	h.assertNothingLost(again, true)
}

func TestStopStaticPods416DryRun(t *testing.T) {
	h := newFakeHost416(t, otherNode, nil)
	before := h.snapshot()
	r := h.run(otherNode, "04-stop-static-pods.sh", nil, "--dry-run")
	wantCode(t, r, 0, "dry-run: would run: mv -T --", "would wait until no kube-scheduler container runs")
	h.assertUnchanged(before)
}

// Step 4.k: keepalived.yaml into the run directory (recorded), keepalived stopped, then
// the VIPs this host holds removed, and only they.
func TestStopKeepalived(t *testing.T) {
	h := newFakeHost416(t, otherNode, nil)
	h.addresses("lo 127.0.0.1/8", "br-ex 10.0.0.11/24", "br-ex 192.0.2.5/32", "br-ex 192.0.2.50/32")
	before := h.snapshot()
	r := h.run(otherNode, "04.k-stop-keepalived.sh", []string{"FAKEHOST_STOP_POLLS=2"}, "--yes")
	wantCode(t, r, 0, "step 4.k: no keepalived container runs (keepalived keepalived-monitor): yes",
		"run: ip address del 192.0.2.5/32 dev br-ex", "removed VIP 192.0.2.5/32 (br-ex)")
	moved := filepath.Join(h.runDirs()[0], h.root, "etc/kubernetes/manifests/keepalived.yaml")
	if h.exists("etc/kubernetes/manifests/keepalived.yaml") {
		t.Errorf("keepalived.yaml is still in the manifests")
	}
	if _, err := os.Stat(moved); err != nil {
		t.Errorf("keepalived.yaml is not in the run directory: %v", err)
	}
	if rec, err := os.ReadFile(h.stateFile("keepalived-manifest")); err != nil || string(rec) != moved+"\n" {
		t.Errorf("where it went is not recorded: %q %v", rec, err)
	}
	if got := h.read(".fakehost/addresses"); got != "lo 127.0.0.1/8\nbr-ex 10.0.0.11/24\nbr-ex 192.0.2.50/32\n" {
		t.Errorf("addresses after step 4.k: %q: only the VIP may go", got)
	}
	if strings.Contains(h.commands(), "192.0.2.4") {
		t.Errorf("the ingress VIP, not held here, was touched")
	}
	h.assertNothingLost(before, true)

	// Re-run after keepalived took the VIP again: says where the manifest is, removes it.
	h.addresses("br-ex 10.0.0.11/24", "br-ex 192.0.2.4/32")
	r = h.run(otherNode, "04.k-stop-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "was already moved to "+moved, "removed VIP 192.0.2.4/32 (br-ex)")
	if _, err := os.Stat(moved); err != nil || h.exists("etc/kubernetes/manifests/keepalived.yaml") {
		t.Errorf("the re-run moved keepalived.yaml: %v", err)
	}
	// And once more with nothing left to remove.
	r = h.run(otherNode, "04.k-stop-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "this host holds none of the VIPs 192.0.2.5 192.0.2.4: nothing to remove")
}

func TestStopKeepalivedNothingToDoDryRunTimeout(t *testing.T) {
	h := newFakeHost416(t, otherNode, nil)
	h.addresses("br-ex 10.0.0.11/24", "br-ex 192.0.2.5/32")
	before := h.snapshot()
	r := h.run(otherNode, "04.k-stop-keepalived.sh", nil, "--dry-run")
	wantCode(t, r, 0, "dry-run: would run: mv -T", "dry-run: would run: ip address del 192.0.2.5/32 dev br-ex", "dry-run: would record in")
	h.assertUnchanged(before)

	r = h.run(otherNode, "04.k-stop-keepalived.sh", []string{"FAKEHOST_STUCK=keepalived-monitor"}, "--yes")
	wantCode(t, r, 3, "step 4.k: timed out after", "Expected: no keepalived container runs", "Seen: still running: keepalived-monitor")
	if !strings.Contains(h.read(".fakehost/addresses"), "192.0.2.5/32") {
		t.Errorf("a VIP was removed while keepalived still ran")
	}

	h2 := newFakeHost416(t, otherNode, nil)
	must(t, os.Remove(filepath.Join(h2.root, "etc/kubernetes/manifests/keepalived.yaml")))
	before = h2.snapshot()
	r = h2.run(otherNode, "04.k-stop-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "this host runs no keepalived, nothing to do")
	h2.assertUnchanged(before)
}

// Steps 5-6: the recovery host holds the API VIP, or the script says where to look.
func TestCheckAPIVIP(t *testing.T) {
	h := newFakeHost416(t, recoveryNode, nil)
	h.addresses("br-ex 10.0.0.10/24", "br-ex 192.0.2.5/32")
	before := h.rootSnapshot()
	r := h.run(recoveryNode, "05-check-api-vip.sh", nil, "--yes")
	wantCode(t, r, 0, "this host holds the API VIP: here: 192.0.2.5/32 on br-ex")

	h.addresses("br-ex 10.0.0.10/24", "br-ex 192.0.2.4/32")
	before = h.rootSnapshot()
	r = h.run(recoveryNode, "05-check-api-vip.sh", nil, "--yes")
	wantCode(t, r, 1, "the API VIP is still not on this host", "Seen: not on this host: 192.0.2.5",
		"repeat step 4.k (sudo bash ./04.k-stop-keepalived.sh there)", "ip-10-0-154-194.ec2.internal ip-10-0-173-171.ec2.internal")
	if strings.Contains(h.commands(), "ip address del") {
		t.Errorf("check-api-vip changed an address")
	}
	for p, d := range h.rootSnapshot() {
		if before[p] != d && !strings.Contains(p, ".fakehost") {
			t.Errorf("changed: %s", p)
		}
	}

	must(t, os.Remove(filepath.Join(h.root, "etc/kubernetes/manifests/keepalived.yaml")))
	r = h.run(recoveryNode, "05-check-api-vip.sh", nil, "--yes")
	wantCode(t, r, 0, "no keepalived here to take the API VIP, nothing to check")
}

// Steps 7-8 with the 4.16 checks: the etcd data directory and the tarball's pods.
func TestRestore416(t *testing.T) {
	h := newFakeHost416(t, recoveryNode, nil)
	before := h.snapshot()
	r := h.run(recoveryNode, "07-restore.sh", nil, "--yes")
	wantCode(t, r, 0, "step 8: "+filepath.Join(h.root, "var/lib/etcd")+" holds nothing but member", "holds kube-scheduler-pod.yaml",
		"step 7: the inventory has no cluster-wide proxy", "restore complete", "steps 7 and 8 are done on "+recoveryNode)
	h.assertNothingLost(before, false)
	r = h.run(recoveryNode, "07-restore.sh", nil, "--yes")
	wantCode(t, r, 0, "an earlier run completed the restore here")
}

func TestRestore416Refusals(t *testing.T) {
	h := newFakeHost416(t, recoveryNode, nil)
	h.write("var/lib/etcd/etcd_perf.fio", "left by a disk test\n")
	before := h.snapshot()
	r := h.run(recoveryNode, "07-restore.sh", nil, "--yes")
	wantCode(t, r, 1, "holds "+filepath.Join(h.root, "var/lib/etcd/etcd_perf.fio")+": the restore pod stops on anything but member there", "nothing was changed")
	h.assertUnchanged(before)
	if strings.Contains(h.commands(), "cluster-restore.sh") {
		t.Errorf("cluster-restore.sh ran")
	}

	// A tarball without kube-scheduler-pod.yaml.
	h2 := newFakeHost416(t, recoveryNode, nil)
	dropFromTarball(t, h2, "kube-scheduler-pod.yaml")
	before = h2.snapshot()
	r = h2.run(recoveryNode, "07-restore.sh", nil, "--yes")
	wantCode(t, r, 1, "kube-scheduler-pod.yaml does not exist in "+filepath.Join(h2.inv.Backup.RemoteDir, h2.inv.Backup.Files[1].Name), "holds kube-apiserver-pod.yaml")
	h2.assertUnchanged(before)
}

// dropFromTarball rewrites the backup's static resources without a pod's manifest,
// on the host and in the inventory (size and sha256), and renders the kit again.
func dropFromTarball(t *testing.T, h *fakeHost, pod string) {
	t.Helper()
	f := &h.inv.Backup.Files[1]
	p := filepath.Join(h.root, "home/core/backup", f.Name)
	raw, err := os.ReadFile(p)
	must(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	must(t, err)
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		body, err := io.ReadAll(tr)
		must(t, err)
		if strings.HasSuffix(hdr.Name, "/"+pod) {
			continue
		}
		must(t, tw.WriteHeader(hdr))
		_, err = tw.Write(body)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	must(t, os.WriteFile(p, out.Bytes(), 0o644))
	f.Size, f.SHA256 = int64(out.Len()), sha256Hex(out.Bytes())
	h.render()
}

// Steps 16-17 on the recovery host: one patch with a recorded, unique reason.
func TestForceRedeployOnHost(t *testing.T) {
	h := newFakeHost416(t, recoveryNode, nil)
	kubeconfig := "etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost-recovery.kubeconfig"

	r := h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes")
	wantCode(t, r, 1, "there is no "+h.paths.OC+" on this host")
	// An oc on PATH only is not used: sudo resets PATH.
	copyFile(t, "testdata/fakehost/oc", filepath.Join(h.bin, "oc"))
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes")
	wantCode(t, r, 1, "(there is "+filepath.Join(h.bin, "oc")+" on root's PATH, but sudo resets PATH and this script runs "+h.paths.OC+" only)")
	copyFile(t, "testdata/fakehost/oc", h.paths.OC)
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes")
	wantCode(t, r, 1, "the recovery kubeconfig "+filepath.Join(h.root, kubeconfig)+" does not exist")
	h.write(kubeconfig, "apiVersion: v1\nkind: Config\n")

	before := h.snapshot()
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--dry-run")
	wantCode(t, r, 0, "dry-run: would record in", "dry-run: would run: "+h.paths.OC+" --request-timeout=30s patch etcd cluster")
	h.assertUnchanged(before)

	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes")
	wantCode(t, r, 0, "step 17: patched etcd/cluster: forceRedeploymentReason is recovery-")
	reason := strings.TrimSpace(h.read(".fakehost/etcd-reason"))
	if !strings.HasPrefix(reason, "recovery-") || !strings.HasSuffix(r.stdout, "\nforceRedeploymentReason="+reason+"\n") {
		t.Errorf("reason %q, stdout %q", reason, r.stdout)
	}
	if rec, _ := os.ReadFile(h.stateFile("etcd-force-redeployment-reason")); string(rec) != reason+"\n" {
		t.Errorf("recorded %q, patched %q", rec, reason)
	}
	// Run again: the recorded reason is in place, no second patch.
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes")
	wantCode(t, r, 0, "an earlier run already patched etcd/cluster with forceRedeploymentReason "+reason+": nothing to do")
	if n := strings.Count(h.read(".fakehost/etcd-patches"), "\n"); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}
	// A run killed after recording, before its patch landed: the next one patches with
	// the recorded reason.
	must(t, os.WriteFile(h.stateFile("etcd-force-redeployment-reason"), []byte("recovery-killed-run\n"), 0o600))
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes")
	wantCode(t, r, 0, "it was stopped before its patch landed; patching with the same reason")
	if got := h.read(".fakehost/etcd-reason"); got != "recovery-killed-run" {
		t.Errorf("patched %q, want the recorded reason", got)
	}
	// --again patches anew.
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", nil, "--yes", "--again")
	wantCode(t, r, 0, "patched etcd/cluster")
	if got := h.read(".fakehost/etcd-reason"); got == "recovery-killed-run" || strings.Count(h.read(".fakehost/etcd-patches"), "\n") != 3 {
		t.Errorf("--again did not patch with a new reason: %q", got)
	}
	// The API down: nothing is patched, the message says so.
	must(t, os.Remove(filepath.Join(h.root, ".fakehost/etcd-reason")))
	r = h.run(recoveryNode, "16-force-redeploy-on-host.sh", []string{"FAKEHOST_OC_DOWN=1"}, "--yes")
	wantCode(t, r, 1, "oc get etcd cluster failed with the recovery kubeconfig")
}

// Step 22: keepalived.yaml copied back from where step 4.k recorded it.
func TestRestoreKeepalived(t *testing.T) {
	h := newFakeHost416(t, otherNode, nil)
	r := h.run(otherNode, "22-restore-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "no run of 04.k-stop-keepalived.sh moved keepalived.yaml on this host, and", "nothing to do")

	h.addresses("br-ex 10.0.0.11/24")
	original := h.read("etc/kubernetes/manifests/keepalived.yaml")
	wantCode(t, h.run(otherNode, "04.k-stop-keepalived.sh", nil, "--yes"), 0)
	moved := strings.TrimSpace(string(must1(os.ReadFile(h.stateFile("keepalived-manifest")))))

	before := h.snapshot()
	r = h.run(otherNode, "22-restore-keepalived.sh", nil, "--dry-run")
	wantCode(t, r, 0, "dry-run: would run: cp -p -- "+moved)
	h.assertUnchanged(before)

	r = h.run(otherNode, "22-restore-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "copied "+moved+" to "+filepath.Join(h.root, "etc/kubernetes/manifests/keepalived.yaml")+" (the moved copy stays)")
	if h.read("etc/kubernetes/manifests/keepalived.yaml") != original {
		t.Errorf("keepalived.yaml back is not the original")
	}
	if b, err := os.ReadFile(moved); err != nil || string(b) != original {
		t.Errorf("the moved copy is gone: %v", err)
	}
	r = h.run(otherNode, "22-restore-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "is already back and identical to "+moved+": nothing to do")

	// A different keepalived.yaml in place is not overwritten.
	h.write("etc/kubernetes/manifests/keepalived.yaml", "another keepalived\n")
	r = h.run(otherNode, "22-restore-keepalived.sh", nil, "--yes")
	wantCode(t, r, 2, "differs from "+moved, "it is not overwritten")
	if h.read("etc/kubernetes/manifests/keepalived.yaml") != "another keepalived\n" {
		t.Errorf("overwritten")
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A dual-stack cluster: the IPv6 API VIP, written in capitals in the inventory, is
// found as ip prints it and removed; the host's own IPv6 address stays.
func TestStopKeepalivedIPv6(t *testing.T) {
	h := newFakeHost416(t, otherNode, func(inv *inventory.Inventory) {
		inv.Cluster.APIVIPs = inventory.IPs{"192.0.2.5", "FD00::5"}
	})
	h.addresses("br-ex 10.0.0.11/24", "br-ex fd00::11/64", "br-ex fd00::5/128")
	r := h.run(otherNode, "04.k-stop-keepalived.sh", nil, "--yes")
	wantCode(t, r, 0, "run: ip address del fd00::5/128 dev br-ex", "removed VIP fd00::5/128 (br-ex)")
	if got := h.read(".fakehost/addresses"); got != "br-ex 10.0.0.11/24\nbr-ex fd00::11/64\n" {
		t.Errorf("addresses: %q", got)
	}
}
