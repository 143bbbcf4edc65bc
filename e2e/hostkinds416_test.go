package e2e

import (
	"strings"
	"testing"
	"time"
)

// The host scripts of a 4.16 kit run over ssh on the 4.16 simulation, one by one as
// the RUNBOOK says, with the exact container names, keepalived and its VIPs on br-ex.
// (recover.sh's runs of them are the coordinator's scenarios.)

// Steps 4, 4.k, 5-6, 7-8 and 22 on a compact cluster with keepalived: the API VIP
// starts on the first other master, the ingress VIP on the last one.
func TestHostKinds416(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.16.21", Timing: Timing{StopDelay: 300 * time.Millisecond, StartDelay: 200 * time.Millisecond},
		V416: Sim416Config{Keepalived: true}})
	k := c.BuildKit(KitOptions{})
	rec, m1, m2 := c.Recovery(), c.Hosts[1], c.Hosts[2]
	api, ingress := c.Config.V416.APIVIP, c.Config.V416.IngressVIP
	ok := func(h *Host, script string, wants ...string) Result {
		t.Helper()
		r := c.RunOnHost(k, h, script, "--yes")
		if r.ExitCode != 0 {
			t.Fatalf("%s %s: %s", h.Hostname, script, r)
		}
		mustContain(t, h.Hostname+" "+script, r.Output, wants...)
		return r
	}

	for _, h := range c.Others() {
		ok(h, "04-stop-static-pods.sh", "step 4.c: no etcd container runs", "step 4.i: no kube-scheduler container runs", "step 4.j: moved /var/lib/etcd to ")
		if out, _ := c.SSH(h, `sudo crictl ps | grep -E 'etcd|kube-' | grep -Ev 'operator' | awk '{print $(NF-2)}' | sort -u | tr '\n' ' '`); out != "" {
			t.Errorf("%s: static pod containers still run after step 4: %q", h.Hostname, out)
		}
		if n, _ := c.SSH(h, "sudo crictl ps --name '^guard$' -q | wc -l"); n != "4\n" {
			t.Errorf("%s: the guard pods are not static pods: %q", h.Hostname, n)
		}
		r := ok(h, "04.k-stop-keepalived.sh", "step 4.k: no keepalived container runs (keepalived keepalived-monitor): yes")
		want := map[*Host]string{m1: "removed VIP " + api + "/32 (br-ex)", m2: "removed VIP " + ingress + "/32 (br-ex)"}[h]
		mustContain(t, h.Hostname+" 04.k-stop-keepalived.sh", r.Output, want)
		if out, _ := c.SSH(h, "ip -o address"); strings.Contains(out, api) || strings.Contains(out, ingress) || !strings.Contains(out, " br-ex  inet "+h.Addr+"/") {
			t.Errorf("%s after step 4.k: the VIPs must be gone, its own address kept:\n%s", h.Hostname, out)
		}
		if fileExistsAt(h, "etc/kubernetes/manifests/keepalived.yaml") {
			t.Errorf("%s: keepalived.yaml is still in the manifests", h.Hostname)
		}
	}
	// Run again: keepalived.yaml stays where it is, the VIPs are checked again.
	ok(m1, "04.k-stop-keepalived.sh", "was already moved to /var/lib/restorekit/restorekit-", "this host holds none of the VIPs")

	ok(rec, "05-check-api-vip.sh", "this host holds the API VIP: here: "+api+"/32 on br-ex")
	if h := c.VIPHolder(api); h != rec.Name {
		t.Errorf("the API VIP is on %q", h)
	}

	c.CopyBackup(rec)
	ok(rec, "07-restore.sh", "step 8: /var/lib/etcd holds nothing but member", "holds kube-scheduler-pod.yaml",
		"...stopping kube-scheduler-pod.yaml", "Waiting for container etcd-readyz to stop", "starting kube-scheduler-pod.yaml", "steps 7 and 8 are done on "+rec.Name)

	for _, h := range c.Others() {
		ok(h, "22-restore-keepalived.sh", "(the moved copy stays)")
		waitFor(t, 10*time.Second, h.Hostname+" keepalived", func() bool {
			out, _ := c.SSH(h, "sudo crictl ps --name keepalived -q | wc -l")
			return out == "2\n"
		})
		ok(h, "22-restore-keepalived.sh", "is already back and identical to ")
	}
	assertNothingLost416(t, c)
}

// The 4.16 restore's checks stop before any change: a tarball without one of the
// three other pods (cluster-restore.sh would stop only after the restore pod is in).
func TestHostKinds416RestoreRefusal(t *testing.T) {
	c := NewCluster(t, ClusterConfig{Masters: 3, Version: "4.17.2", Timing: Timing{StopDelay: 200 * time.Millisecond}})
	c.DropFromBackup("kube-controller-manager-pod.yaml")
	k := c.BuildKit(KitOptions{})
	rec := c.Recovery()
	c.CopyBackup(rec)
	before := snapshotHosts(t, c)
	r := c.RunOnHost(k, rec, "07-restore.sh", "--yes")
	if r.ExitCode != 1 {
		t.Fatalf("07-restore.sh: %s", r)
	}
	mustContain(t, "07-restore.sh", r.Output, "kube-controller-manager-pod.yaml does not exist in /home/core/backup/"+c.Backup[1].Name, "nothing was changed")
	assertUnchanged(t, c, before, "/var/lib/restorekit/", "/home/core/kit/")
	// Without keepalived, its steps have nothing to do.
	for _, s := range []string{"05-check-api-vip.sh", "04.k-stop-keepalived.sh", "22-restore-keepalived.sh"} {
		for _, f := range k.Render.Files {
			if strings.HasSuffix(f.Name, "/"+s) {
				t.Errorf("a kit without VIPs has %s", f.Name)
			}
		}
	}
}
