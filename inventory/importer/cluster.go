package importer

import (
	"net/url"
	"strings"

	"github.com/restorekit/restorekit/inventory"
)

const (
	captureClusterVersion = "oc get clusterversion version -o json"
	captureProxy          = "oc get proxy cluster -o json"
	captureInfrastructure = "oc get infrastructure cluster -o json"
	captureNetwork        = "oc get network.config cluster -o json"
)

// release is what the import takes from the ClusterVersion.
type release struct {
	version string // the newest Completed entry of status.history
	update  string // "" or why an update is in progress, naming both versions
}

// readRelease finds the release the cluster runs: the newest Completed entry of
// status.history (newest first). status.desired is where the cluster is going, which
// during an update is not yet what runs.
func readRelease(src *source) (release, bool) {
	cv, ok := src.named("ClusterVersion", "version", captureClusterVersion)
	if !ok {
		return release{}, false
	}
	var r release
	status := cv.get("status")
	hist := status.get("history")
	entries := hist.list()
	if len(entries) == 0 {
		if hist.n == nil || len(hist.n.Content) == 0 {
			hist.errorf("no update history (the cluster has not finished installing, or this is not %s)", captureClusterVersion)
		}
		return release{}, false
	}
	found := -1
	for i, e := range entries {
		if e.get("state").str() == "Completed" {
			found = i
			break
		}
	}
	if found < 0 {
		hist.errorf("no entry with state Completed (the cluster has not finished installing %s)", entries[0].get("version").str())
		return release{}, false
	}
	ver := entries[found].get("version")
	r.version = ver.str()
	if !inventory.IsRelease(r.version) {
		ver.errorf("%q is not a full x.y.z release (such as 4.5.2; nightly and candidate builds have no restore procedure)", r.version)
		return release{}, false
	}
	var why []string
	target := ""
	if newest := entries[0]; found > 0 {
		target = newest.get("version").str()
		why = append(why, "status.history[0] is "+newest.get("state").str())
	}
	du := cv.get("spec").get("desiredUpdate")
	if want := du.get("version").str(); want != "" && want != r.version && want != target {
		if target == "" {
			target = want
		}
		why = append(why, "spec.desiredUpdate asks for "+want)
	} else if want == "" && du.get("image").str() != "" && found > 0 {
		why = append(why, "spec.desiredUpdate names the image "+du.get("image").str())
	}
	if len(why) > 0 {
		if target == "" {
			target = "another release"
		}
		r.update = "an update from " + r.version + " to " + target + " is in progress (" + strings.Join(why, "; ") + ")"
		where := entries[0]
		if found == 0 {
			where = du
		}
		where.warnf("%s: the inventory records %s, the newest completed release. A backup restores only onto its own release, and recover.sh refuses to start while the cluster reports another: import again from a capture taken with the backup, once the update has finished", r.update, r.version)
	}
	return r, true
}

// readProxy takes the effective proxy from status: recover.sh's preflight compares the
// inventory with status (spec is what was asked for; status is what the operator made
// of it, with noProxy expanded by the cluster's own networks), and cluster-restore.sh
// must run with what the cluster itself uses.
func readProxy(src *source) (*inventory.Proxy, []string, bool) {
	px, ok := src.named("Proxy", "cluster", captureProxy)
	if !ok {
		return nil, nil, false
	}
	spec, status := px.get("spec"), px.get("status")
	p := inventory.Proxy{
		HTTPProxy:  status.get("httpProxy").str(),
		HTTPSProxy: status.get("httpsProxy").str(),
		NoProxy:    status.get("noProxy").str(),
	}
	var notes []string
	for _, f := range []string{"httpProxy", "httpsProxy"} {
		want, got := spec.get(f).str(), status.get(f).str()
		if want != got {
			status.get(f).warnf("spec.%s is %q but status.%s is %q: the operator has not applied the proxy as configured (the inventory records status, what the cluster uses)", f, want, f, got)
		}
	}
	if ca := spec.get("trustedCA").get("name").str(); ca != "" {
		notes = append(notes, "The proxy's CA bundle (the configmap "+ca+" in openshift-config) is on", "the masters already: the inventory does not carry it.")
	}
	if p == (inventory.Proxy{}) {
		return nil, notes, true
	}
	return &p, notes, true
}

// infrastructure is what the import takes from the Infrastructure object.
type infrastructure struct {
	clusterName string // from the API server URL, api.<name>.<base domain>
	platform    string
	topology    string // status.controlPlaneTopology
	// apiVIPs and ingressVIPs are the VIPs keepalived holds (empty, not nil, when the
	// cluster has none); vipsWhy says where they come from, or why there are none.
	apiVIPs, ingressVIPs []string
	vipsWhy              string
}

// vipPlatforms are the platforms whose installer-provisioned clusters run keepalived
// for their VIPs, with the key of their status.platformStatus member (openshift/api
// config/v1 types_infrastructure.go).
var vipPlatforms = map[string]string{
	"BareMetal": "baremetal", "OpenStack": "openstack", "oVirt": "ovirt", "VSphere": "vsphere", "Nutanix": "nutanix",
}

// readVIPs takes the VIPs of an on-premise platform's status: apiServerInternalIPs and
// ingressIPs (the singular apiServerInternalIP and ingressIP of releases before 4.12
// when the lists are absent). A UserManaged load balancer means no keepalived.
func (in *infrastructure) readVIPs(ps value) {
	in.apiVIPs, in.ingressVIPs = []string{}, []string{}
	key, onPrem := vipPlatforms[in.platform]
	if !onPrem {
		in.vipsWhy = "None: " + in.platform + " clusters have no keepalived"
		if in.platform == "" {
			in.vipsWhy = "None: the infrastructure names no platform"
		}
		return
	}
	p := ps.get(key)
	where := "status.platformStatus." + key
	if lb := p.get("loadBalancer").get("type").str(); lb == "UserManaged" {
		in.vipsWhy = "None: the infrastructure's " + where + ".loadBalancer.type\n  # is UserManaged (the cluster's own load balancer, no keepalived)"
		return
	}
	ips := func(list, single string) []string {
		out := []string{}
		for _, v := range p.get(list).list() {
			if s := v.str(); s != "" {
				out = append(out, s)
			}
		}
		if len(out) == 0 && p.get(single).str() != "" {
			out = append(out, p.get(single).str())
		}
		return out
	}
	in.apiVIPs, in.ingressVIPs = ips("apiServerInternalIPs", "apiServerInternalIP"), ips("ingressIPs", "ingressIP")
	if len(in.apiVIPs) == 0 && len(in.ingressVIPs) == 0 {
		in.vipsWhy = "None: the infrastructure's " + where + " lists no\n  # apiServerInternalIPs or ingressIPs (a user-provisioned cluster, without keepalived)"
		return
	}
	in.vipsWhy = "From the infrastructure's " + where + ":\n  # apiServerInternalIPs and ingressIPs"
}

// readNetwork takes the cluster network plugin from the Network config's status (what
// runs; spec is what was asked for). A migration in progress is worth a warning: the
// restore's network steps follow the plugin the backup was taken with.
func readNetwork(src *source) (string, bool) {
	obj, ok := src.named("Network", "cluster", captureNetwork)
	if !ok {
		return "", false
	}
	st := obj.get("status")
	t := st.get("networkType")
	v := t.str()
	switch v {
	case inventory.NetworkOVNKubernetes, inventory.NetworkOpenShiftSDN:
	case "":
		t.errorf("missing (the network operator has not reported the cluster network yet, or this is not %s)", captureNetwork)
		return "", false
	default:
		t.errorf("%q: restorekit's procedures cover %s and %s only (a third-party network plugin has its own restore steps)", v, inventory.NetworkOVNKubernetes, inventory.NetworkOpenShiftSDN)
		return "", false
	}
	if to := st.get("migration").get("networkType").str(); to != "" && to != v {
		st.get("migration").warnf("a migration from %s to %s is in progress: the inventory records %s, what runs now; import again once it has finished", v, to, v)
	}
	return v, true
}

func readInfrastructure(src *source) (infrastructure, bool) {
	obj, ok := src.named("Infrastructure", "cluster", captureInfrastructure)
	if !ok {
		return infrastructure{}, false
	}
	st := obj.get("status")
	in := infrastructure{
		platform: st.get("platformStatus").get("type").str(),
		topology: st.get("controlPlaneTopology").str(),
	}
	if in.platform == "" {
		in.platform = st.get("platform").str()
	}
	in.readVIPs(st.get("platformStatus"))
	api := st.get("apiServerURL")
	if u, err := url.Parse(api.str()); err == nil {
		if labels := strings.Split(u.Hostname(), "."); len(labels) > 2 && labels[0] == "api" {
			in.clusterName = labels[1]
		}
	}
	if in.clusterName == "" || !inventory.IsClusterName(in.clusterName) {
		api.warnf("no cluster name in %q (expected https://api.<name>.<base domain>:6443): give --cluster-name", api.str())
		in.clusterName = ""
	}
	if in.topology == "External" {
		st.get("controlPlaneTopology").errorf("External: the control plane runs outside this cluster (hosted control planes), so there are no masters to restore here")
		return in, false
	}
	return in, true
}
