package e2e

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tests of the 4.16 model itself: procedure-4.16.md run by hand over ssh and oc.

// assertNothingLost416 is assertNothingLost over every node, workers included.
func assertNothingLost416(t *testing.T, c *Cluster) {
	t.Helper()
	for _, h := range c.Nodes() {
		files := h.HostFiles(t)
		for sum, orig := range h.Originals {
			if len(files[sum]) == 0 {
				t.Errorf("%s: /%s (sha256 %s…) is lost: no file on the host has its content", h.Hostname, orig, sum[:12])
			}
		}
	}
}

// nodeStatus is the STATUS oc get nodes shows for a node ("" when it is not listed).
func nodeStatus(t *testing.T, c *Cluster, node string) string {
	t.Helper()
	out, err := c.OC("get", "nodes", "--no-headers")
	if err != nil {
		t.Fatalf("oc get nodes: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == node {
			return f[1]
		}
	}
	return ""
}

// csrsFor lists the names of the pending CSRs whose request names the node.
func csrsFor(t *testing.T, c *Cluster, node string) []string {
	t.Helper()
	var out []string
	for name, csr := range c.CSRs() {
		if csr.Node == node && csr.Pending() {
			out = append(out, name)
		}
	}
	return out
}

// The hosts and the API of a 4.16 cluster before the outage: the 4.16 container names,
// guard pods, keepalived and its VIPs, workers reachable over ssh, every node Ready, the
// OVN pods, the foreign CSR, the network type.
func TestSimulatedHosts416(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.21", V416: Sim416Config{Workers: 2, Keepalived: true}})
	rec, m1 := c.Recovery(), c.Hosts[1]
	out, err := c.SSH(m1, "sudo crictl ps --label io.kubernetes.pod.namespace=openshift-etcd -o json | grep -c '\"name\": \"etcd-readyz\"'; sudo crictl ps | grep etcd | egrep -v 'operator|etcd-guard' | awk '{print $(NF-2)}' | sort | tr '\\n' ' '")
	if err != nil || out != "1\netcd etcd-metrics etcd-readyz etcdctl " {
		t.Errorf("4.16 etcd containers (no etcd-rev): %v %q", err, out)
	}
	out, _ = c.SSH(m1, "sudo crictl ps --name keepalived -q | wc -l; sudo crictl ps --name '^guard$' -q | wc -l; sudo crictl ps --name kube-scheduler-operator -q | wc -l")
	if out != "2\n4\n1\n" {
		t.Errorf("keepalived (keepalived, keepalived-monitor), four guards, the scheduler operator: %q", out)
	}
	out, _ = c.SSH(m1, "ip -o address | egrep '192.0.2.5|192.0.2.4'")
	if !strings.Contains(out, " br-ex  inet 192.0.2.5/32 scope global br-ex") || strings.Contains(out, "192.0.2.4") {
		t.Errorf("%s holds the API VIP, not the ingress VIP:\n%s", m1.Hostname, out)
	}
	if h := c.VIPHolder("192.0.2.4"); h != c.Workers[0].Name {
		t.Errorf("the ingress VIP is on %q, want the first worker", h)
	}
	if out, err := c.SSH(rec, "sudo ip address del 192.0.2.5/32 dev br-ex"); err == nil || !strings.Contains(out, "RTNETLINK answers: Cannot assign requested address") {
		t.Errorf("deleting a VIP another node holds: %v %q", err, out)
	}
	for _, w := range c.Workers {
		out, err := c.SSH(w, "hostname; ls /var/lib/kubelet/pki /var/lib/ovn-ic/etc | tr '\\n' ' '; sudo crictl ps -q | wc -l; ls /etc/kubernetes/manifests | wc -l")
		want := w.Hostname + "\n/var/lib/kubelet/pki: kubelet-client-2020-08-04-18-40-21.pem kubelet-client-current.pem kubelet-server-2020-08-04-18-40-22.pem kubelet-server-current.pem  /var/lib/ovn-ic/etc: ovnnb_db.db ovnsb_db.db 0\n0\n"
		if err != nil || out != want {
			t.Errorf("%s: %v\n got %q\nwant %q", w.Hostname, err, out, want)
		}
	}
	out, _ = c.OC("get", "nodes")
	if strings.Count(out, " Ready ") != 5 || strings.Count(out, "control-plane,master") != 3 || strings.Count(out, "   worker   ") != 2 {
		t.Errorf("oc get nodes: five Ready nodes, three masters:\n%s", out)
	}
	out, _ = c.OC("-n", "openshift-ovn-kubernetes", "get", "pods", "-o", "wide")
	if strings.Count(out, "ovnkube-node-") != 5 || strings.Count(out, "ovnkube-control-plane-") != 3 || strings.Count(out, "Running") != 8 {
		t.Errorf("OVN pods: one ovnkube-node per node, one control-plane pod per master, Running:\n%s", out)
	}
	out, _ = c.OC("get", "csr")
	if !strings.Contains(out, ForeignCSRName) || !strings.Contains(out, "Pending") {
		t.Errorf("oc get csr: the foreign CSR pending:\n%s", out)
	}
	req, _ := c.OC("get", "csr", ForeignCSRName, "-o", "jsonpath={.spec.request}")
	der, _ := base64.StdEncoding.DecodeString(req)
	blk, _ := pem.Decode(der)
	if blk == nil {
		t.Fatalf("spec.request is not a PEM block: %q", req)
	}
	cr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || cr.Subject.CommonName != "system:node:"+ForeignNode || cr.CheckSignature() != nil {
		t.Errorf("the foreign CSR's request: %v %+v", err, cr)
	}
	out, _ = c.OC("get", "network.config/cluster", "-o", "jsonpath={.status.networkType}")
	if out != "OVNKubernetes" {
		t.Errorf("network type %q", out)
	}
	out, _ = c.OC("get", "infrastructure", "cluster", "-o", "jsonpath={.status.platformStatus.baremetal.apiServerInternalIPs[0]} {.status.platformStatus.baremetal.ingressIPs[0]}")
	if out != "192.0.2.5 192.0.2.4" {
		t.Errorf("infrastructure VIPs %q", out)
	}
	// A compact cluster with keepalived: the ingress VIP on the last master.
	compact := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.2", V416: Sim416Config{Keepalived: true}})
	if h := compact.VIPHolder("192.0.2.4"); h != compact.Hosts[2].Name || len(compact.Workers) != 0 {
		t.Errorf("compact: the ingress VIP on %q, %d workers", h, len(compact.Workers))
	}
	if out, _ := compact.OC("get", "nodes", "--no-headers"); strings.Count(out, " Ready ") != 3 {
		t.Errorf("compact: oc get nodes:\n%s", out)
	}
	// OpenShift SDN and no keepalived: no OVN pods, no VIPs, no keepalived pod.
	sdn := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.3", V416: Sim416Config{NetworkType: "OpenShiftSDN"}})
	out, _ = sdn.OC("-n", "openshift-ovn-kubernetes", "get", "pods")
	if out != "No resources found in openshift-ovn-kubernetes namespace.\n" {
		t.Errorf("OVN pods on OpenShift SDN: %q", out)
	}
	if out, _ := sdn.SSH(sdn.Hosts[1], "ls /etc/kubernetes/manifests; ip -o address | wc -l"); out != "etcd-pod.yaml\nkube-apiserver-pod.yaml\nkube-controller-manager-pod.yaml\nkube-scheduler-pod.yaml\n2\n" {
		t.Errorf("without keepalived: %q", out)
	}
}

// TestSimulatedRestore416 runs procedure-4.16.md by hand: the four static pods and
// keepalived stopped on the other masters one at a time with the VIPs removed, the API
// VIP on the recovery host, the 4.16 cluster-restore.sh, the kubelet restarts, a node
// NotReady until its PEM files are moved and its CSR approved (the foreign CSR left
// pending), the OVN databases node by node with one pod stuck Terminating, keepalived
// back, and the reboots (one that never comes back).
func TestSimulatedRestore416(t *testing.T) {
	tm := Timing{StopDelay: 500 * time.Millisecond, StartDelay: 300 * time.Millisecond, KubeletActivate: 200 * time.Millisecond,
		APIEOF: 1 * time.Second, RevisionDelay: 500 * time.Millisecond, NodeDelay: 300 * time.Millisecond}
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.9", Timing: tm, V416: Sim416Config{
		Workers: 2, Keepalived: true, RotatedCerts: []string{"worker-1.sim.example.test"}, StuckTerminating: "worker-0.sim.example.test",
		RebootDelay: time.Second}})
	rec := c.Recovery()
	w0, w1 := c.Workers[0], c.Workers[1]
	ssh := func(h *Host, cmd string) string {
		t.Helper()
		out, err := c.SSH(h, cmd)
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", h.Hostname, cmd, err, out)
		}
		return out
	}

	// Step 4, one other master after the other.
	for _, h := range c.Others() {
		for _, p := range []struct{ manifest, filter string }{
			{"etcd-pod.yaml", `grep etcd | egrep -v "operator|etcd-guard"`},
			{"kube-apiserver-pod.yaml", `grep kube-apiserver | egrep -v "operator|guard"`},
			{"kube-controller-manager-pod.yaml", `grep kube-controller-manager | egrep -v "operator|guard"`},
			{"kube-scheduler-pod.yaml", `grep kube-scheduler | egrep -v "operator|guard"`},
		} {
			ssh(h, "sudo mkdir -p /var/lib/aside && sudo mv -v /etc/kubernetes/manifests/"+p.manifest+" /var/lib/aside/")
			if out := ssh(h, "sudo crictl ps | "+p.filter+" || true"); out == "" {
				t.Errorf("%s: %s stopped at once, before the kubelet noticed", h.Hostname, p.manifest)
			}
			waitFor(t, 10*time.Second, h.Hostname+" "+p.manifest+" stopped", func() bool {
				return ssh(h, "sudo crictl ps | "+p.filter+" || true") == ""
			})
		}
		if n := ssh(h, "sudo crictl ps --name '^guard$' -q | wc -l"); n != "4\n" {
			t.Errorf("%s: the guard pods are not static pods and keep running: %q", h.Hostname, n)
		}
		ssh(h, "sudo mv -v /var/lib/etcd/ /var/lib/aside/")
		// 4.k: keepalived aside, the VIPs it leaves behind deleted by hand.
		ssh(h, "sudo mv -v /etc/kubernetes/manifests/keepalived.yaml /home/core/")
		waitFor(t, 10*time.Second, h.Hostname+" keepalived stopped", func() bool { return ssh(h, "sudo crictl ps --name keepalived -q") == "" })
		for _, line := range strings.Split(ssh(h, "ip -o address | egrep '192.0.2.5|192.0.2.4' || true"), "\n") {
			if f := strings.Fields(line); len(f) > 3 {
				ssh(h, "sudo ip address del "+f[3]+" dev "+f[1])
			}
		}
		if out := ssh(h, "ip -o address | egrep '192.0.2.5|192.0.2.4' || true"); out != "" {
			t.Errorf("%s still holds a VIP: %q", h.Hostname, out)
		}
	}
	if h := c.VIPHolder("192.0.2.5"); h != "" {
		t.Errorf("the API VIP is on %s after 4.k", h)
	}
	// Step 6: the recovery host's keepalived takes the API VIP.
	if out := ssh(rec, "ip -o address | grep 192.0.2.5"); !strings.Contains(out, "inet 192.0.2.5/32") {
		t.Errorf("the recovery host does not hold the API VIP: %q", out)
	}
	waitFor(t, 2*time.Second, "the vip-taken event", func() bool { _, ok := c.HasEvent("vip-taken 192.0.2.5 " + rec.Name); return ok })

	// Step 8: cluster-restore.sh stops all four static pods itself.
	c.CopyBackup(rec)
	writeFile(t, filepath.Join(rec.Root, etcdBackup, "member", "snap", "db"), "member of an earlier restore\n", 0o600)
	out := ssh(rec, "sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup")
	order := []string{"etcdctl version: 3.5.14", `{"hash":`, "...stopping kube-apiserver-pod.yaml\n", "...stopping kube-controller-manager-pod.yaml\n",
		"...stopping kube-scheduler-pod.yaml\n", "Waiting for container kube-controller-manager to stop\n", "Waiting for container kube-apiserver to stop\n",
		"Waiting for container kube-scheduler to stop\n", "...stopping etcd-pod.yaml\n", "Waiting for container etcd to stop\n",
		"Waiting for container etcdctl to stop\n", "Waiting for container etcd-metrics to stop\n", "Waiting for container etcd-readyz to stop\n",
		"removing previous backup /var/lib/etcd-backup/member\n", "Moving etcd data-dir /var/lib/etcd/member to /var/lib/etcd-backup\n",
		"starting restore-etcd static pod\n", "starting kube-apiserver-pod.yaml\n", "starting kube-controller-manager-pod.yaml\n", "starting kube-scheduler-pod.yaml\n"}
	last := 0
	for _, w := range order {
		i := strings.Index(out[last:], w)
		if i < 0 {
			t.Errorf("cluster-restore.sh: %q missing or out of order in:\n%s", w, out)
			break
		}
		last += i
	}
	for _, p := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if m := readFileOr(filepath.Join(rec.Root, manifestsDir, p+"-pod.yaml")); !strings.Contains(m, "backup manifest of "+p) {
			t.Errorf("%s-pod.yaml is not the backup's:\n%s", p, m)
		}
		if !fileExistsAt(rec, "home/core/assets/manifests-stopped/"+p+"-pod.yaml") {
			t.Errorf("%s-pod.yaml of before the restore is not in manifests-stopped", p)
		}
	}
	if !fileExistsAt(rec, etcdBackup+"/snapshot.db") {
		t.Errorf("the 4.16 restore pod leaves the snapshot copy in /var/lib/etcd-backup")
	}

	// Steps 9-10: the API comes back after the recovery host's kubelet restart; the
	// node whose certificates rotated stays NotReady.
	for _, h := range c.Hosts {
		ssh(h, "sudo systemctl restart kubelet.service")
	}
	waitFor(t, 20*time.Second, "the API after the restore", func() bool { _, err := c.OC("whoami"); return err == nil })
	if s := nodeStatus(t, c, w1.Name); s != "NotReady" {
		t.Errorf("%s after the restore: %q, want NotReady", w1.Name, s)
	}
	if s := nodeStatus(t, c, w0.Name); s != "Ready" {
		t.Errorf("%s after the restore: %q", w0.Name, s)
	}
	// Restarting its kubelet with its PEM files in place changes nothing.
	ssh(w1, "sudo systemctl restart kubelet.service")
	if s := nodeStatus(t, c, w1.Name); s != "NotReady" || len(csrsFor(t, c, w1.Name)) != 0 {
		t.Errorf("%s with its PEM files: %q, CSRs %v", w1.Name, s, csrsFor(t, c, w1.Name))
	}
	ssh(w1, "sudo mkdir -p /var/lib/aside/pki && sudo mv /var/lib/kubelet/pki/*.pem /var/lib/aside/pki/ && sudo systemctl restart kubelet.service")
	out, _ = c.OC("get", "csr")
	client := csrsFor(t, c, w1.Name)
	if len(client) != 1 || !strings.Contains(out, client[0]) || !strings.Contains(out, "kubernetes.io/kube-apiserver-client-kubelet") {
		t.Fatalf("a client CSR for %s after its kubelet bootstrapped: %v\n%s", w1.Name, client, out)
	}
	out, _ = c.OC("describe", "csr", client[0])
	mustContain(t, "oc describe csr", out, "Requesting User:    system:serviceaccount:openshift-machine-config-operator:node-bootstrapper",
		"Common Name:    system:node:"+w1.Name, "Status:             Pending")
	// Step 11: approve it (and only it); the node registers and files its serving CSR.
	if out, err := c.OC("adm", "certificate", "approve", client[0]); err != nil || out != "certificatesigningrequest.certificates.k8s.io/"+client[0]+" approved\n" {
		t.Errorf("approve: %v %q", err, out)
	}
	if s := nodeStatus(t, c, w1.Name); s != "Ready" {
		t.Errorf("%s after its CSR was approved: %q", w1.Name, s)
	}
	serving := csrsFor(t, c, w1.Name)
	if len(serving) != 1 || c.CSRs()[serving[0]].Signer != "kubernetes.io/kubelet-serving" || c.CSRs()[serving[0]].Requestor != "system:node:"+w1.Name {
		t.Fatalf("the serving CSR of %s: %v %+v", w1.Name, serving, c.CSRs())
	}
	_, _ = c.OC("adm", "certificate", "approve", serving[0])
	if p := c.PendingCSRs(); len(p) != 1 || p[0] != ForeignCSRName {
		t.Errorf("pending CSRs %v: only the foreign one must be left", p)
	}
	if out, _ := c.SSH(w1, "sudo cat /var/lib/kubelet/pki/kubelet-client-current.pem"); !strings.Contains(out, "issued by the restored cluster") {
		t.Errorf("the kubelet's new certificate: %q", out)
	}

	// Step 12: one etcd.
	if out := ssh(rec, `sudo crictl ps | grep etcd | egrep -v "operator|etcd-guard"`); !strings.Contains(out, " etcd ") {
		t.Errorf("no etcd running on the recovery host:\n%s", out)
	}

	// Step 13: the control-plane pods are replaced and run.
	before := c.OVNPods()
	if out, err := c.OC("-n", "openshift-ovn-kubernetes", "delete", "pod", "-l", "app=ovnkube-control-plane"); err != nil || strings.Count(out, " deleted") != 3 {
		t.Errorf("delete the ovnkube-control-plane pods: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "new ovnkube-control-plane pods", func() bool {
		out, _ := c.OC("-n", "openshift-ovn-kubernetes", "get", "pod", "-l", "app=ovnkube-control-plane", "--no-headers")
		return strings.Count(out, "Running") == 3
	})
	for name := range before {
		if _, still := c.OVNPods()[name]; still && strings.HasPrefix(name, "ovnkube-control-plane") {
			t.Errorf("%s was not replaced", name)
		}
	}

	// Step 14 on the recovery host, first done wrong: the pod deleted with the old
	// databases in place crash-loops; moving them and restarting Open vSwitch fixes it.
	podOn := func(h *Host) string {
		out, _ := c.OC("-n", "openshift-ovn-kubernetes", "get", "pod", "-l", "app=ovnkube-node", "--field-selector=spec.nodeName=="+h.Name, "--no-headers")
		return out
	}
	deleteOn := func(h *Host) string {
		out, err := c.OC("-n", "openshift-ovn-kubernetes", "delete", "pod", "-l", "app=ovnkube-node", "--field-selector=spec.nodeName=="+h.Name)
		if err != nil {
			t.Fatalf("delete the ovnkube-node pod of %s: %v\n%s", h.Hostname, err, out)
		}
		return out
	}
	deleteOn(rec)
	waitFor(t, 10*time.Second, "the pod on stale databases to crash-loop", func() bool { return strings.Contains(podOn(rec), "CrashLoopBackOff") })
	for _, h := range c.Nodes() {
		ssh(h, "sudo mkdir -p /var/lib/aside/ovn && sudo mv /var/lib/ovn-ic/etc/*.db /var/lib/aside/ovn/ && sudo systemctl restart ovs-vswitchd ovsdb-server")
		deleteOn(h)
		if h == w0 {
			waitFor(t, 5*time.Second, "the stuck pod", func() bool { return strings.Contains(podOn(h), "Terminating") })
			time.Sleep(3 * tm.StartDelay)
			if out := podOn(h); strings.Count(out, "\n") != 1 || !strings.Contains(out, "Terminating") {
				t.Errorf("the stuck pod is replaced before its node is deleted:\n%s", out)
			}
			// 14.d: delete the node, move its PEM files, restart its kubelet, approve.
			if out, err := c.OC("delete", "node", h.Name); err != nil || out != "node \""+h.Name+"\" deleted\n" {
				t.Errorf("oc delete node: %v %q", err, out)
			}
			if s := nodeStatus(t, c, h.Name); s != "" {
				t.Errorf("a deleted node is listed: %q", s)
			}
			ssh(h, "sudo mkdir -p /var/lib/aside/pki && sudo mv /var/lib/kubelet/pki/* /var/lib/aside/pki/ && sudo systemctl restart kubelet.service")
			_, _ = c.OC("get", "csr") // the model moves on oc calls: the kubelet's CSR is filed
			for _, n := range csrsFor(t, c, h.Name) {
				_, _ = c.OC("adm", "certificate", "approve", n)
			}
			for _, n := range csrsFor(t, c, h.Name) { // the serving CSR that follows
				_, _ = c.OC("adm", "certificate", "approve", n)
			}
			if s := nodeStatus(t, c, h.Name); s != "Ready" {
				t.Errorf("%s after 14.d: %q", h.Name, s)
			}
		}
		waitFor(t, 10*time.Second, "the ovnkube-node pod of "+h.Hostname, func() bool {
			out := podOn(h)
			return strings.Count(out, "\n") == 1 && strings.Contains(out, " Running ")
		})
		if db := readFileOr(filepath.Join(h.Root, ovnDBDir, "ovnnb_db.db")); !strings.Contains(db, "rebuilt by ovnkube-node-") {
			t.Errorf("%s: the new pod did not rebuild the database: %q", h.Hostname, db)
		}
	}
	if p := c.PendingCSRs(); len(p) != 1 || p[0] != ForeignCSRName {
		t.Errorf("pending CSRs after 14.d %v: only the foreign one", p)
	}
	if _, ok := c.HasEvent("csr-approved-foreign"); ok {
		t.Errorf("the foreign CSR was approved")
	}
	if _, ok := c.HasEvent("ovn-pod-stuck-terminating"); !ok {
		t.Errorf("no stuck-terminating event")
	}

	// Step 22: keepalived back on the other masters.
	for _, h := range c.Others() {
		ssh(h, "sudo cp -v /home/core/keepalived.yaml /etc/kubernetes/manifests/")
		waitFor(t, 5*time.Second, h.Hostname+" keepalived", func() bool { return ssh(h, "sudo crictl ps --name keepalived -q | wc -l") == "2\n" })
	}

	// Step 24: a reboot ends the session; the node is NotReady until it is back, and
	// its /tmp (tmpfs) is empty afterwards.
	ssh(w1, "touch /tmp/before-reboot")
	start := time.Now()
	rb := exec.Command("ssh", append(c.sshArgs(w1), "core@"+w1.Addr, "sudo systemctl reboot")...)
	rbOut, err := rb.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 255 {
		t.Errorf("the reboot's ssh session: %v %q, want it ended (255)", err, rbOut)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the session took %s to end", time.Since(start))
	}
	if !c.IsDown(w1) || nodeStatus(t, c, w1.Name) != "NotReady" {
		t.Errorf("%s right after its reboot: down %v, %q", w1.Name, c.IsDown(w1), nodeStatus(t, c, w1.Name))
	}
	if _, err := c.SSH(w1, "true"); err == nil {
		t.Errorf("ssh reaches a host that is rebooting")
	}
	waitFor(t, 10*time.Second, w1.Hostname+" back", func() bool { _, err := c.SSH(w1, "true"); return err == nil })
	if s := nodeStatus(t, c, w1.Name); s != "Ready" {
		t.Errorf("%s after its reboot: %q", w1.Name, s)
	}
	if out := ssh(w1, "ls -A /tmp"); out != "" {
		t.Errorf("/tmp survived the reboot: %q", out)
	}
	// A master's pods start again after its reboot.
	m2 := c.Hosts[2]
	_, _ = c.SSH(m2, "sudo reboot")
	waitFor(t, 10*time.Second, m2.Hostname+" back", func() bool { _, err := c.SSH(m2, "true"); return err == nil })
	waitFor(t, 5*time.Second, m2.Hostname+" pods", func() bool { return ssh(m2, "sudo crictl ps --name keepalived -q | wc -l") == "2\n" })
	// A host that never comes back.
	c.SetFault416(w0, NeverBootsAgain)
	_, _ = c.SSH(w0, "sudo shutdown -r now")
	time.Sleep(2 * c.Config.V416.RebootDelay)
	if _, err := c.SSH(w0, "true"); err == nil || !c.IsDown(w0) || nodeStatus(t, c, w0.Name) != "NotReady" {
		t.Errorf("%s should stay down: ssh %v, down %v", w0.Hostname, err, c.IsDown(w0))
	}
	if _, ok := c.HasEvent("never-boots " + w0.Name); !ok {
		t.Errorf("no never-boots event")
	}
	assertNothingLost416(t, c)
}

// The 4.16 cluster-restore.sh's refusals: a corrupt snapshot before any change, and a
// tarball without one of the three other pods after the etcd restore pod is in place.
func TestSimulatedRestore416Refusals(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.9", Timing: Timing{StopDelay: 200 * time.Millisecond}})
	rec := c.Recovery()
	c.DropFromBackup("kube-scheduler-pod.yaml")
	c.CopyBackup(rec)
	out, err := c.SSH(rec, "sudo /usr/local/bin/cluster-restore.sh /home/core/backup")
	want := "kube-scheduler-pod.yaml does not exist in /home/core/backup/" + c.Backup[1].Name + "\n"
	if err == nil || !strings.HasSuffix(out, "starting kube-controller-manager-pod.yaml\nstatic-pod-resources/kube-controller-manager-pod-5/kube-controller-manager-pod.yaml\n"+want) {
		t.Errorf("a tarball without kube-scheduler-pod.yaml: %v\n%s\nwant it to end with %q", err, out, want)
	}
	if fileExistsAt(rec, manifestsDir+"/kube-scheduler-pod.yaml") || !fileExistsAt(rec, manifestsDir+"/etcd-pod.yaml") {
		t.Errorf("the restore pod is in place, kube-scheduler is not")
	}
	c2 := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.9"})
	c2.CorruptSnapshot()
	c2.CopyBackup(c2.Recovery())
	before := snapshotHosts(t, c2)
	out, err = c2.SSH(c2.Recovery(), "sudo /usr/local/bin/cluster-restore.sh /home/core/backup")
	if err == nil || !strings.Contains(out, "Error: invalid database\n") || !strings.Contains(out, "Backup integrity verification failed. Backup appears corrupted. Aborting!\n") {
		t.Errorf("a corrupt snapshot: %v\n%s", err, out)
	}
	assertUnchanged(t, c2, before, "/etc/kubernetes/static-pod-resources/bin/")
}

// The 4.16 fakes pass ShellCheck as the others do.
func TestFakesShellcheck416(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("e2e: skipped: shellcheck is not installed")
	}
	var files []string
	for _, f := range []string{"cluster-restore-4.16.sh", "etcd-common-tools-4.16", "ip", "reboot", "sim416.bash", "systemctl", "sim-lib.bash"} {
		files = append(files, filepath.Join("testdata/fakes", f))
	}
	cmd := exec.Command("shellcheck", append([]string{"-x", "-P", "testdata/fakes", "-s", "bash"}, files...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// The rest of the procedure runs against the 4.5 model's API with a 4.16 client: the
// quorum guard's override, forced redeployments, wait-for-stable-cluster.
func TestSimulatedAPI416(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.21", Timing: FastTiming})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "Client Version: 4.16.21\nServer Version: 4.16.21\nKubernetes Version: v1.29.6\n"},
		{[]string{"patch", "etcd/cluster", "--type=merge", "-p", `{"spec": {"unsupportedConfigOverrides": {"useUnsupportedUnsafeNonHANonProductionUnstableEtcd": true}}}`}, "etcd.operator.openshift.io/cluster patched\n"},
		{[]string{"get", "etcd/cluster", "-o", "jsonpath={.spec.unsupportedConfigOverrides}"}, `{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd":true}`},
		{[]string{"patch", "etcd/cluster", "--type=merge", "-p", `{"spec": {"unsupportedConfigOverrides": null}}`}, "etcd.operator.openshift.io/cluster patched\n"},
		{[]string{"get", "etcd/cluster", "-o", "jsonpath={.spec.unsupportedConfigOverrides}"}, ""},
	} {
		if out, err := c.OC(tc.args...); err != nil || out != tc.want {
			t.Errorf("oc %s: %v\n got %q\nwant %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	if out, err := c.OC("adm", "wait-for-stable-cluster", "--minimum-stable-period=1s", "--timeout=10s"); err != nil || !strings.HasSuffix(out, "All clusteroperators are stable\n") {
		t.Errorf("wait-for-stable-cluster: %v\n%s", err, out)
	}
	if out, err := c.OC("patch", "kubeapiserver", "cluster", "--type=merge", "-p", `{"spec":{"forceRedeploymentReason":"recovery-1"}}`); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	waitFor(t, 20*time.Second, "the kube-apiserver rollout", func() bool {
		out, _ := c.OC("get", "kubeapiserver", "cluster", "-o", `jsonpath={.status.latestAvailableRevision} {range .status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason}{end}`)
		return out == "8 AllNodesAtLatestRevision"
	})
}
