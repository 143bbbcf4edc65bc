package e2e

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The 4.16 API of the fake oc (ClusterConfig.Version 4.16.z or 4.17.z), for the parts
// of procedure-4.16.md the 4.5 model lacks; availability, rollouts and patches stay
// the 4.5 model's (oc_test.go):
//
//   - Nodes (oc get nodes): every master and worker. A node is Unknown while its host
//     is down (rebooting); one in Sim416Config.RotatedCerts is Unknown from the restore
//     on, and one deleted (oc delete node) is absent, until its kubelet bootstraps
//     again: its PEM files gone from /var/lib/kubelet/pki and its kubelet restarted
//     after they went, it files a client CSR (node-bootstrapper, for
//     system:node:<node>); once that is approved it writes a new certificate, is
//     Ready again, and files a kubelet-serving CSR (requested by system:node:<node>).
//   - CSRs (oc get csr, oc describe csr, oc adm certificate approve): real PEM
//     certificate requests (spec.request) whose subject names the node, plus a foreign
//     pending one (ForeignCSRName, for ForeignNode) that must stay pending.
//   - OVN-Kubernetes (openshift-ovn-kubernetes): ovnkube-control-plane pods on the
//     masters and one ovnkube-node pod per node. A deleted pod is replaced; a new
//     ovnkube-node pod runs once its node's databases (/var/lib/ovn-ic/etc/*.db) have
//     left and ovs-vswitchd and ovsdb-server restarted after they did, and crash-loops
//     otherwise (a stand-in for ovnkube-node failing on databases of another cluster
//     state); running, it writes new databases. The StuckTerminating node's pod, once
//     deleted, stays Terminating (even when force-deleted, its successor waits) until
//     the node is deleted and registers again (procedure step 14.d).
//   - network.config (status.networkType) and the infrastructure (platform BareMetal
//     with the VIPs when keepalived runs, None otherwise).

// state416 is the 4.16 API's state, kept in <ocState>/nodes416.json.
type state416 struct {
	Seq       int                      `json:"seq"`
	Deleted   map[string]int64         `json:"deleted"`   // node -> when deleted, until it registers again
	Rebooted  map[string]bool          `json:"rebooted"`  // node -> its kubelet bootstrapped anew (after the restore, or deleted)
	CSRs      map[string]CSR416        `json:"csrs"`      // by name
	ClientCSR map[string]string        `json:"clientCSR"` // node -> its pending bootstrap CSR
	OVN       map[string]*ovnPod416    `json:"ovn"`       // by pod name
	Events    map[string]bool          `json:"events"`    // one-time events already recorded
	Nodes     map[string]nodeRecord416 `json:"nodes"`     // last shown readiness, for the events
}

// CSR416 is one CertificateSigningRequest of the simulated API.
type CSR416 struct {
	Name      string `json:"name"`
	Requestor string `json:"requestor"` // spec.username
	Signer    string `json:"signer"`
	Node      string `json:"node"` // the node the request's subject names
	Created   int64  `json:"created"`
	Approved  int64  `json:"approved"`
}

// Pending says whether nobody approved the CSR.
func (c CSR416) Pending() bool { return c.Approved == 0 }

type ovnPod416 struct {
	Name      string `json:"name"`
	App       string `json:"app"`
	Node      string `json:"node"`
	Created   int64  `json:"created"`
	DeletedAt int64  `json:"deletedAt"` // Terminating since
	Phase     string `json:"phase"`     // Running, Pending, CrashLoopBackOff, ContainerCreating
	Started   int64  `json:"started"`
}

type nodeRecord416 struct {
	Status string `json:"status"`
}

const (
	signerClient  = "kubernetes.io/kube-apiserver-client-kubelet"
	signerServing = "kubernetes.io/kubelet-serving"
	bootstrapper  = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
	ovnNamespace  = "openshift-ovn-kubernetes"
)

func loadNodes416(ocState string) *state416 {
	s := &state416{}
	if b, err := os.ReadFile(filepath.Join(ocState, "nodes416.json")); err == nil {
		_ = json.Unmarshal(b, s)
	}
	if s.Deleted == nil {
		s.Deleted = map[string]int64{}
	}
	if s.Rebooted == nil {
		s.Rebooted = map[string]bool{}
	}
	if s.CSRs == nil {
		s.CSRs = map[string]CSR416{}
	}
	if s.ClientCSR == nil {
		s.ClientCSR = map[string]string{}
	}
	if s.OVN == nil {
		s.OVN = map[string]*ovnPod416{}
	}
	if s.Events == nil {
		s.Events = map[string]bool{}
	}
	if s.Nodes == nil {
		s.Nodes = map[string]nodeRecord416{}
	}
	return s
}

func (o *fakeOC) save416(s *state416) {
	b, _ := json.MarshalIndent(s, "", "  ")
	_ = os.WriteFile(filepath.Join(o.sim.OCState, "nodes416.json"), b, 0o644)
}

func (o *fakeOC) conf416() sim416 {
	var c sim416
	_ = json.Unmarshal([]byte(readFileOr(filepath.Join(filepath.Dir(o.sim.OCState), "sim416.json"))), &c)
	return c
}

// node416 is one node as the 4.16 API sees it.
type node416 struct {
	simHost
	master bool
}

func (o *fakeOC) nodes416(c sim416) []node416 {
	var out []node416
	for _, h := range o.sim.Hosts {
		out = append(out, node416{h, true})
	}
	for _, h := range c.Workers {
		out = append(out, node416{h, false})
	}
	return out
}

// run416 answers the commands of the 4.16 model; ok is false for everything else
// (and for every command of other releases).
func (o *fakeOC) run416(args []string) (int, bool) {
	if o.sim.Minor != 16 && o.sim.Minor != 17 {
		return 0, false
	}
	force := false
	var kept []string
	for _, a := range args {
		switch {
		case a == "--force" || a == "--now" || a == "--ignore-not-found" || a == "--wait=false" || a == "--wait=true" || a == "--wait":
			force = force || a == "--force"
		case strings.HasPrefix(a, "--grace-period="):
		default:
			kept = append(kept, a)
		}
	}
	var words []string
	for i := 0; i < len(kept); i++ {
		if kept[i] == "--kubeconfig" || kept[i] == "--request-timeout" || kept[i] == "-n" || kept[i] == "--namespace" || kept[i] == "-l" || kept[i] == "-o" {
			i++
			continue
		}
		if !strings.HasPrefix(kept[i], "-") {
			words = append(words, kept[i])
		}
	}
	if len(words) >= 3 && words[0] == "adm" && words[1] == "certificate" {
		return o.approve416(words[2], words[3:]), true
	}
	a, err := parseOCArgs(kept)
	if err != nil {
		return 0, false
	}
	res := strings.ToLower(a.resource)
	isCSR := res == "csr" || res == "csrs" || strings.HasPrefix(res, "certificatesigningrequest")
	isNode := res == "nodes" || res == "node" || res == "no"
	isPod := (res == "pods" || res == "pod" || res == "po") && a.namespace == ovnNamespace
	isNet := res == "network.config" || res == "network.config.openshift.io" || res == "networks.config.openshift.io" || (res == "network" && a.name == "cluster")
	isInfra := res == "infrastructure" || res == "infrastructures" || strings.HasPrefix(res, "infrastructure.")
	switch {
	case a.verb == "get" && (isCSR || isNode || isPod || isNet || isInfra):
	case a.verb == "describe" && isCSR:
	case a.verb == "delete" && (isNode || isPod):
	default:
		return 0, false
	}
	if msg := o.apiDown(); msg != "" {
		o.event("api-down %s", msg)
		return o.fail("%s", msg), true
	}
	c := o.conf416()
	s := loadNodes416(o.sim.OCState)
	o.advance416(c, s)
	defer o.save416(s)
	switch {
	case a.verb == "describe":
		return o.describeCSR416(s, a.name), true
	case a.verb == "delete" && isNode:
		return o.deleteNode416(c, s, a), true
	case a.verb == "delete":
		return o.deletePods416(c, s, a, force), true
	case isCSR:
		return o.getCSRs416(s, a), true
	case isNode:
		return o.getNodes416(c, s, a), true
	case isPod:
		return o.getPods416(c, s, a), true
	case isNet:
		net := map[string]any{"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": map[string]any{"name": "cluster"},
			"spec":   map[string]any{"networkType": c.NetworkType},
			"status": map[string]any{"networkType": c.NetworkType, "clusterNetworkMTU": 1400}}
		return o.print416(a, []map[string]any{net}, []string{"NAME", "AGE"}, func(map[string]any) []string { return []string{"cluster", "120d"} }, false), true
	default:
		return o.print416(a, []map[string]any{o.infrastructure416(c)}, []string{"NAME", "AGE"}, func(map[string]any) []string { return []string{"cluster", "120d"} }, false), true
	}
}

func (o *fakeOC) infrastructure416(c sim416) map[string]any {
	ps := map[string]any{"type": "None"}
	platform := "None"
	if c.Keepalived {
		platform = "BareMetal"
		ps = map[string]any{"type": "BareMetal", "baremetal": map[string]any{
			"apiServerInternalIP": c.APIVIP, "apiServerInternalIPs": []any{c.APIVIP},
			"ingressIP": c.IngressVIP, "ingressIPs": []any{c.IngressVIP},
			"loadBalancer": map[string]any{"type": "OpenShiftManagedDefault"}}}
	}
	topo := "HighlyAvailable"
	if len(o.sim.Hosts) == 1 {
		topo = "SingleReplica"
	}
	return map[string]any{"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": map[string]any{"name": "cluster"},
		"status": map[string]any{"apiServerURL": "https://api.sim.example.test:6443", "platform": platform, "platformStatus": ps,
			"controlPlaneTopology": topo, "infrastructureTopology": "HighlyAvailable"}}
}

// ---- nodes and their kubelets ----

func (o *fakeOC) hostDown(c sim416, node string) bool {
	return fileExists(filepath.Join(c.Shared, "down-"+node))
}

// needsBootstrap says why a node's kubelet cannot talk to the API until it bootstraps
// again: "rotated" (its certificates are newer than the restored cluster) or "deleted".
func (o *fakeOC) needsBootstrap(c sim416, s *state416, node string) string {
	if _, del := s.Deleted[node]; del {
		return "deleted"
	}
	if contains(c.RotatedCerts, node) && o.restored416() && !s.Rebooted[node] {
		return "rotated"
	}
	return ""
}

// restored416 says whether cluster-restore.sh completed on the recovery host.
func (o *fakeOC) restored416() bool {
	for _, h := range o.sim.Hosts {
		if h.Name == o.sim.Recovery {
			return fileExists(filepath.Join(h.State, "restored"))
		}
	}
	return false
}

// pkiMovedAndRestarted says whether a node's kubelet restarted after its PEM files
// left /var/lib/kubelet/pki (the directory's mtime is when the last one went).
func pkiMovedAndRestarted(h simHost) bool {
	pki := filepath.Join(h.Root, "var/lib/kubelet/pki")
	ents, _ := os.ReadDir(pki)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".pem") {
			return false
		}
	}
	fi, err := os.Stat(pki)
	if err != nil {
		return true
	}
	return readInt(filepath.Join(h.State, "kubelet")) > fi.ModTime().UnixNano()
}

func (o *fakeOC) newCSR(s *state416, node, requestor, signer string) string {
	s.Seq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", node, signer, s.Seq)))
	name := "csr-" + strings.ToLower(base32ish(sum[:5]))
	s.CSRs[name] = CSR416{Name: name, Requestor: requestor, Signer: signer, Node: node, Created: o.now}
	o.event("csr-created %s %s %s", name, node, signer)
	return name
}

// base32ish is five lowercase letters and digits, as kube-controller-manager names CSRs.
func base32ish(b []byte) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var out []byte
	for _, x := range b {
		out = append(out, alphabet[int(x)%len(alphabet)])
	}
	return string(out)
}

// advance416 moves the model on: the foreign CSR, kubelets bootstrapping, OVN pods.
func (o *fakeOC) advance416(c sim416, s *state416) {
	if c.ForeignCSR && !s.Events["foreign-csr"] {
		s.Events["foreign-csr"] = true
		s.CSRs[ForeignCSRName] = CSR416{Name: ForeignCSRName, Requestor: bootstrapper, Signer: signerClient, Node: ForeignNode, Created: o.now - int64(time.Hour)}
	}
	for _, n := range o.nodes416(c) {
		why := o.needsBootstrap(c, s, n.Name)
		if why == "" || o.hostDown(c, n.Name) {
			continue
		}
		if name, ok := s.ClientCSR[n.Name]; ok {
			csr := s.CSRs[name]
			if csr.Pending() {
				continue
			}
			// Approved: the kubelet writes its new client certificate and registers.
			pki := filepath.Join(n.Root, "var/lib/kubelet/pki")
			_ = os.MkdirAll(pki, 0o755)
			_ = os.WriteFile(filepath.Join(pki, "kubelet-client-current.pem"), []byte("-----BEGIN CERTIFICATE-----\nissued by the restored cluster for system:node:"+n.Name+" ("+name+")\n-----END CERTIFICATE-----\n"), 0o600)
			delete(s.ClientCSR, n.Name)
			delete(s.Deleted, n.Name)
			s.Rebooted[n.Name] = true
			o.event("node-registered %s", n.Name)
			o.newCSR(s, n.Name, "system:node:"+n.Name, signerServing)
			continue
		}
		if pkiMovedAndRestarted(n.simHost) {
			s.ClientCSR[n.Name] = o.newCSR(s, n.Name, bootstrapper, signerClient)
		}
	}
	o.advanceOVN(c, s)
}

// nodeReady is a node's Ready condition: status, reason; present false when the API
// has no such node.
func (o *fakeOC) nodeReady(c sim416, s *state416, node string) (status, reason string, present bool) {
	switch o.needsBootstrap(c, s, node) {
	case "deleted":
		return "", "", false
	case "rotated":
		return "Unknown", "NodeStatusUnknown", true
	}
	if o.hostDown(c, node) {
		return "Unknown", "NodeStatusUnknown", true
	}
	return "True", "KubeletReady", true
}

func (o *fakeOC) getNodes416(c sim416, s *state416, a ocArgs) int {
	var items []map[string]any
	for _, n := range o.nodes416(c) {
		st, reason, ok := o.nodeReady(c, s, n.Name)
		if !ok {
			continue
		}
		labels := map[string]any{"kubernetes.io/hostname": n.Name, "node.openshift.io/os_id": "rhcos"}
		roles := "worker"
		if n.master {
			labels["node-role.kubernetes.io/master"] = ""
			labels["node-role.kubernetes.io/control-plane"] = ""
			roles = "control-plane,master"
		} else {
			labels["node-role.kubernetes.io/worker"] = ""
		}
		shown := "Ready"
		if st != "True" {
			shown = "NotReady"
		}
		if rec := s.Nodes[n.Name]; rec.Status != shown {
			o.event("node-shown %s %s", n.Name, shown)
			s.Nodes[n.Name] = nodeRecord416{Status: shown}
		}
		items = append(items, map[string]any{"apiVersion": "v1", "kind": "Node",
			"metadata": map[string]any{"name": n.Name, "labels": labels},
			"status": map[string]any{
				"addresses":  []any{map[string]any{"type": "InternalIP", "address": n.Addr}, map[string]any{"type": "Hostname", "address": n.Name}},
				"conditions": []any{map[string]any{"type": "Ready", "status": st, "reason": reason}},
				"nodeInfo":   map[string]any{"kubeletVersion": o.kubelet416()}},
			"_shown": shown, "_roles": roles})
	}
	return o.print416(a, items, []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}, func(m map[string]any) []string {
		return []string{jget(m, "metadata", "name"), m["_shown"].(string), m["_roles"].(string), "120d", o.kubelet416()}
	}, false)
}

func (o *fakeOC) kubelet416() string { return fmt.Sprintf("v1.%d.9+c1f2a3b", o.sim.Minor+13) }

func (o *fakeOC) deleteNode416(c sim416, s *state416, a ocArgs) int {
	if a.name == "" {
		return o.fail("error: resource(s) were provided, but no name was specified")
	}
	if _, _, ok := o.nodeReady(c, s, a.name); !ok || !o.isNode416(c, a.name) {
		return o.fail("Error from server (NotFound): nodes %q not found", a.name)
	}
	s.Deleted[a.name] = o.now
	delete(s.Rebooted, a.name)
	// The garbage collector removes the node's pods with it.
	for name, p := range s.OVN {
		if p.Node == a.name {
			delete(s.OVN, name)
		}
	}
	o.event("node-deleted %s", a.name)
	fmt.Fprintf(o.stdout, "node %q deleted\n", a.name)
	return 0
}

func (o *fakeOC) isNode416(c sim416, name string) bool {
	for _, n := range o.nodes416(c) {
		if n.Name == name {
			return true
		}
	}
	return false
}

// ---- CSRs ----

// csrPEM is a real PKCS#10 request for the CSR's node, with a key derived from its
// name (the same bytes every time).
func csrPEM(c CSR416) string {
	seed := sha256.Sum256([]byte(c.Name))
	key := ed25519.NewKeyFromSeed(seed[:])
	der, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + c.Node, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func (o *fakeOC) csrObject(c CSR416) map[string]any {
	usages := []any{"digital signature", "client auth"}
	groups := []any{"system:serviceaccounts", "system:serviceaccounts:openshift-machine-config-operator", "system:authenticated"}
	if c.Signer == signerServing {
		usages = []any{"digital signature", "server auth"}
		groups = []any{"system:nodes", "system:authenticated"}
	}
	obj := map[string]any{"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
		"metadata": map[string]any{"name": c.Name, "creationTimestamp": time.Unix(0, c.Created).UTC().Format(time.RFC3339)},
		"spec": map[string]any{"request": base64.StdEncoding.EncodeToString([]byte(csrPEM(c))), "signerName": c.Signer,
			"username": c.Requestor, "groups": groups, "usages": usages},
		"status": map[string]any{}}
	cond := "Pending"
	if !c.Pending() {
		cond = "Approved,Issued"
		obj["status"] = map[string]any{"certificate": base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nsimulated\n-----END CERTIFICATE-----\n")),
			"conditions": []any{map[string]any{"type": "Approved", "status": "True", "reason": "KubectlApprove", "message": "This CSR was approved by kubectl certificate approve."}}}
	}
	obj["_cond"] = cond
	return obj
}

func (o *fakeOC) getCSRs416(s *state416, a ocArgs) int {
	var items []map[string]any
	for _, name := range sortedKeys(s.CSRs) {
		items = append(items, o.csrObject(s.CSRs[name]))
	}
	return o.print416(a, items, []string{"NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"}, func(m map[string]any) []string {
		return []string{jget(m, "metadata", "name"), "2m", jget(m, "spec", "signerName"), jget(m, "spec", "username"), "<none>", m["_cond"].(string)}
	}, false)
}

func (o *fakeOC) describeCSR416(s *state416, name string) int {
	csr, ok := s.CSRs[name]
	if !ok {
		return o.fail("Error from server (NotFound): certificatesigningrequests.certificates.k8s.io %q not found", name)
	}
	status := "Pending"
	if !csr.Pending() {
		status = "Approved,Issued"
	}
	fmt.Fprintf(o.stdout, "Name:               %s\nLabels:             <none>\nAnnotations:        <none>\nCreationTimestamp:  %s\nRequesting User:    %s\nSigner:             %s\nStatus:             %s\nSubject:\n         Common Name:    system:node:%s\n         Serial Number:  \n         Organization:   system:nodes\nEvents:  <none>\n",
		csr.Name, time.Unix(0, csr.Created).UTC().Format(time.RFC1123Z), csr.Requestor, csr.Signer, status, csr.Node)
	return 0
}

func (o *fakeOC) approve416(verb string, names []string) int {
	if verb != "approve" && verb != "deny" {
		return o.fail("error: unknown command %q for \"oc adm certificate\"", verb)
	}
	if len(names) == 0 {
		return o.fail("error: one or more CSRs must be specified as <name> or -f <filename>")
	}
	if msg := o.apiDown(); msg != "" {
		return o.fail("%s", msg)
	}
	c := o.conf416()
	s := loadNodes416(o.sim.OCState)
	o.advance416(c, s)
	defer o.save416(s)
	rc := 0
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			continue
		}
		csr, ok := s.CSRs[n]
		if !ok {
			fmt.Fprintf(o.stderr, "Error from server (NotFound): certificatesigningrequests.certificates.k8s.io %q not found\n", n)
			rc = 1
			continue
		}
		if verb == "deny" {
			fmt.Fprintf(o.stdout, "certificatesigningrequest.certificates.k8s.io/%s denied\n", n)
			o.event("csr-denied %s %s", n, csr.Node)
			continue
		}
		if csr.Pending() {
			csr.Approved = o.now
			s.CSRs[n] = csr
			if o.isNode416(c, csr.Node) {
				o.event("csr-approved %s %s", n, csr.Node)
			} else {
				o.event("csr-approved-foreign %s %s", n, csr.Node)
			}
		}
		fmt.Fprintf(o.stdout, "certificatesigningrequest.certificates.k8s.io/%s approved\n", n)
	}
	o.advance416(c, s)
	return rc
}

// ---- OVN-Kubernetes ----

func (o *fakeOC) podName416(s *state416, app string) string {
	s.Seq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", app, s.Seq)))
	if app == "ovnkube-control-plane" {
		return app + "-" + base32ish(sum[:4]) + "f7d-" + base32ish(sum[4:9])
	}
	return app + "-" + base32ish(sum[:5])
}

// advanceOVN creates the pods the deployment and the daemon set want, and moves new
// pods from Pending to running or crash-looping.
func (o *fakeOC) advanceOVN(c sim416, s *state416) {
	if c.NetworkType != "OVNKubernetes" {
		return
	}
	has := map[string]bool{}
	for _, p := range s.OVN {
		has[p.App+"/"+p.Node] = true
	}
	for _, n := range o.nodes416(c) {
		if _, _, ok := o.nodeReady(c, s, n.Name); !ok {
			continue
		}
		created := o.now
		if !s.Events["ovn-initial"] {
			created = o.now - int64(120*24*time.Hour)
		}
		if n.master && !has["ovnkube-control-plane/"+n.Name] {
			name := o.podName416(s, "ovnkube-control-plane")
			s.OVN[name] = &ovnPod416{Name: name, App: "ovnkube-control-plane", Node: n.Name, Created: created, Phase: "Pending"}
		}
		if !has["ovnkube-node/"+n.Name] {
			name := o.podName416(s, "ovnkube-node")
			s.OVN[name] = &ovnPod416{Name: name, App: "ovnkube-node", Node: n.Name, Created: created, Phase: "Pending"}
		}
	}
	initial := !s.Events["ovn-initial"]
	s.Events["ovn-initial"] = true
	start := o.sim.StartDelayMs * int64(time.Millisecond)
	for _, p := range s.OVN {
		if p.DeletedAt != 0 || p.Phase == "Running" {
			continue
		}
		if initial {
			p.Phase, p.Started = "Running", p.Created
			continue
		}
		if o.now < p.Created+start {
			continue
		}
		if p.App == "ovnkube-node" && p.Node == c.StuckTerminating && !s.Rebooted[p.Node] {
			continue // the node's stale state: only deleting the node clears it
		}
		if p.App == "ovnkube-control-plane" {
			p.Phase, p.Started = "Running", o.now
			o.event("ovn-pod-running %s %s", p.App, p.Node)
			continue
		}
		var h simHost
		for _, n := range o.nodes416(c) {
			if n.Name == p.Node {
				h = n.simHost
			}
		}
		if why := ovnDBsStale(h); why != "" {
			if p.Phase != "CrashLoopBackOff" {
				o.event("ovn-pod-crashloop %s %s", p.Node, why)
			}
			p.Phase = "CrashLoopBackOff"
			continue
		}
		p.Phase, p.Started = "Running", o.now
		for _, db := range []string{"ovnnb_db.db", "ovnsb_db.db"} {
			_ = os.WriteFile(filepath.Join(h.Root, ovnDBDir, db), []byte("OVN database "+db+" of "+h.Name+" rebuilt by "+p.Name+"\n"), 0o640)
		}
		o.event("ovn-pod-running %s %s", p.App, p.Node)
	}
}

// ovnDBsStale says why a node's new ovnkube-node pod cannot run: databases of before
// the restore still there, or Open vSwitch not restarted since they left; "" when it can
// (a crash-looping pod runs once that holds, as its restarts retry).
func ovnDBsStale(h simHost) string {
	dir := filepath.Join(h.Root, ovnDBDir)
	ents, _ := os.ReadDir(dir)
	rebuilt := false
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".db") {
			continue
		}
		if strings.Contains(readFileOr(filepath.Join(dir, e.Name())), "before the restore") {
			return "stale-db " + e.Name()
		}
		rebuilt = true
	}
	if rebuilt {
		return "" // written by an ovnkube-node pod of the restored cluster
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	for _, u := range []string{"ovs-vswitchd.service", "ovsdb-server.service"} {
		if readInt(filepath.Join(h.State, "units", u)) <= fi.ModTime().UnixNano() {
			return "not-restarted " + u
		}
	}
	return ""
}

func (o *fakeOC) ovnItems(c sim416, s *state416) []map[string]any {
	var items []map[string]any
	if c.NetworkType != "OVNKubernetes" {
		return nil
	}
	for _, name := range sortedKeys(s.OVN) {
		p := s.OVN[name]
		shown, phase, ready := p.Phase, p.Phase, "8/8"
		if p.App == "ovnkube-control-plane" {
			ready = "2/2"
		}
		md := map[string]any{"name": p.Name, "namespace": ovnNamespace, "labels": map[string]any{"app": p.App},
			"creationTimestamp": time.Unix(0, p.Created).UTC().Format(time.RFC3339)}
		switch {
		case p.DeletedAt != 0:
			shown, phase = "Terminating", "Running"
			md["deletionTimestamp"] = time.Unix(0, p.DeletedAt).UTC().Format(time.RFC3339)
		case p.Phase == "Pending" || p.Phase == "ContainerCreating":
			shown, phase, ready = "ContainerCreating", "Pending", "0/8"
		case p.Phase == "CrashLoopBackOff":
			phase, ready = "Running", "7/8"
		}
		items = append(items, map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md,
			"spec":   map[string]any{"nodeName": p.Node},
			"status": map[string]any{"phase": phase},
			"_shown": shown, "_ready": ready})
	}
	return items
}

func (o *fakeOC) getPods416(c sim416, s *state416, a ocArgs) int {
	items := o.ovnItems(c, s)
	wide := a.output == "wide"
	header := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
	if wide {
		header = append(header, "IP", "NODE")
	}
	return o.print416(a, items, header, func(m map[string]any) []string {
		row := []string{jget(m, "metadata", "name"), m["_ready"].(string), m["_shown"].(string), "0", "5m"}
		if wide {
			row = append(row, "10.128.0.10", jget(m, "spec", "nodeName"))
		}
		return row
	}, true)
}

func (o *fakeOC) deletePods416(c sim416, s *state416, a ocArgs, force bool) int {
	items := o.ovnItems(c, s)
	if a.name != "" {
		var found []map[string]any
		for _, it := range items {
			if jget(it, "metadata", "name") == a.name {
				found = append(found, it)
			}
		}
		if len(found) == 0 {
			return o.fail("Error from server (NotFound): pods %q not found", a.name)
		}
		items = found
	} else if a.selector == "" && a.fields == "" && !contains(a.rest, "--all") {
		return o.fail("error: resource(s) were provided, but no name was specified")
	}
	items = filterItems(items, a.selector, a.fields)
	if len(items) == 0 {
		fmt.Fprintf(o.stderr, "No resources found\n")
		return 0
	}
	for _, it := range items {
		name := jget(it, "metadata", "name")
		p := s.OVN[name]
		stuck := p.App == "ovnkube-node" && p.Node == c.StuckTerminating && !s.Rebooted[p.Node]
		switch {
		case stuck && force:
			// The object goes; the node's stale state keeps its successor from starting.
			delete(s.OVN, name)
			next := o.podName416(s, p.App)
			s.OVN[next] = &ovnPod416{Name: next, App: p.App, Node: p.Node, Created: o.now, Phase: "ContainerCreating"}
			o.event("ovn-pod-force-deleted %s %s", name, p.Node)
		case stuck:
			if p.DeletedAt == 0 {
				p.DeletedAt = o.now
				o.event("ovn-pod-stuck-terminating %s %s", name, p.Node)
			}
		default:
			delete(s.OVN, name)
			o.event("ovn-pod-deleted %s %s %s", p.App, name, p.Node)
		}
		fmt.Fprintf(o.stdout, "pod %q deleted\n", name)
	}
	// Replacements: a node's new ovnkube-node pod waits for a Terminating one there.
	has := map[string]bool{}
	for _, p := range s.OVN {
		has[p.App+"/"+p.Node] = true
	}
	for _, n := range o.nodes416(c) {
		if _, _, ok := o.nodeReady(c, s, n.Name); !ok {
			continue
		}
		for _, app := range []string{"ovnkube-control-plane", "ovnkube-node"} {
			if (app == "ovnkube-control-plane" && !n.master) || has[app+"/"+n.Name] {
				continue
			}
			name := o.podName416(s, app)
			s.OVN[name] = &ovnPod416{Name: name, App: app, Node: n.Name, Created: o.now, Phase: "Pending"}
		}
	}
	return 0
}

// ---- output ----

// print416 prints items as oc get does (the 4.5 model's get, for these resources).
func (o *fakeOC) print416(a ocArgs, items []map[string]any, header []string, row func(map[string]any) []string, namespaced bool) int {
	if a.name != "" {
		var found []map[string]any
		for _, it := range items {
			if jget(it, "metadata", "name") == a.name {
				found = append(found, it)
			}
		}
		if len(found) == 0 {
			return o.fail("Error from server (NotFound): %s %q not found", a.resource, a.name)
		}
		items = found
	}
	items = filterItems(items, a.selector, a.fields)
	clean := make([]any, len(items))
	for i, it := range items {
		c := map[string]any{}
		for k, v := range it {
			if !strings.HasPrefix(k, "_") {
				c[k] = v
			}
		}
		clean[i] = c
	}
	var doc any = map[string]any{"apiVersion": "v1", "kind": "List", "items": clean, "metadata": map[string]any{"resourceVersion": ""}}
	if a.name != "" && len(items) == 1 {
		doc = clean[0]
	}
	switch out := a.output; {
	case out == "json":
		b, _ := json.MarshalIndent(doc, "", "    ")
		fmt.Fprintln(o.stdout, string(b))
	case out == "yaml":
		b, _ := yaml.Marshal(doc)
		fmt.Fprint(o.stdout, string(b))
	case out == "name":
		for _, it := range items {
			kind := strings.ToLower(fmt.Sprint(it["kind"]))
			if kind == "certificatesigningrequest" {
				kind = "certificatesigningrequest.certificates.k8s.io"
			}
			fmt.Fprintf(o.stdout, "%s/%s\n", kind, jget(it, "metadata", "name"))
		}
	case strings.HasPrefix(out, "jsonpath="):
		tmpl := strings.TrimPrefix(out, "jsonpath=")
		b, _ := json.Marshal(doc)
		var plain any
		_ = json.Unmarshal(b, &plain)
		s, err := evalJSONPath(tmpl, plain)
		if err != nil {
			return o.fail("error: error parsing jsonpath %s, %v", tmpl, err)
		}
		fmt.Fprint(o.stdout, s)
	case out == "" || out == "wide":
		if len(items) == 0 {
			if namespaced {
				fmt.Fprintf(o.stderr, "No resources found in %s namespace.\n", a.namespace)
			} else {
				fmt.Fprintln(o.stderr, "No resources found")
			}
			return 0
		}
		rows := [][]string{}
		if !a.noHeaders {
			rows = append(rows, header)
		}
		for _, it := range items {
			rows = append(rows, row(it))
		}
		printTable(o.stdout, rows)
	default:
		return o.fail("error: unable to match a printer suitable for the output format %q", out)
	}
	return 0
}

// ---- for the tests ----

// PendingCSRs lists the names of the CSRs nobody approved, sorted.
func (c *Cluster) PendingCSRs() []string {
	var out []string
	for name, csr := range c.CSRs() {
		if csr.Pending() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// OVNPods are the OVN-Kubernetes pods the fake API holds: name -> "app node phase"
// (phase Terminating for one being deleted).
func (c *Cluster) OVNPods() map[string]string {
	out := map[string]string{}
	for name, p := range loadNodes416(c.OCState).OVN {
		phase := p.Phase
		if p.DeletedAt != 0 {
			phase = "Terminating"
		}
		out[name] = p.App + " " + p.Node + " " + phase
	}
	return out
}
