package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"mvdan.cc/sh/v3/syntax"
)

// The fake oc: the test binary runs as oc when RESTOREKIT_SIM_OC names a sim.json
// (see Cluster.writeOC). It models the API of the simulated cluster from the hosts'
// state: it answers only while etcd has quorum (or, after the restore, once the
// recovery host's control plane has come back), lists one etcd pod per host running
// etcd, and rolls operators out node by node after a forceRedeploymentReason patch.

// operatorInfo describes the four operators the procedure redeploys.
var operatorInfo = map[string]struct {
	Kind, Group, Pod string
	Initial          int
}{
	"etcd":                  {"Etcd", "etcd.operator.openshift.io", "etcd", 3},
	"kubeapiserver":         {"KubeAPIServer", "kubeapiserver.operator.openshift.io", "kube-apiserver", 7},
	"kubecontrollermanager": {"KubeControllerManager", "kubecontrollermanager.operator.openshift.io", "kube-controller-manager", 5},
	"kubescheduler":         {"KubeScheduler", "kubescheduler.operator.openshift.io", "kube-scheduler", 6},
}

// opState is one operator's rollout state, kept in <ocState>/<operator>.json.
type opState struct {
	Latest      int              `json:"latest"`
	Reason      string           `json:"reason"`
	Pending     bool             `json:"pending"` // a patch was accepted, the revision is not created yet
	PatchedAt   int64            `json:"patchedAt"`
	RevisionAt  int64            `json:"revisionAt"`
	Nodes       map[string]int   `json:"nodes"`
	NodeAt      map[string]int64 `json:"nodeAt"`
	CompletedAt int64            `json:"completedAt"` // all nodes at Latest after the last patch
	Patches     []patchRecord    `json:"patches"`
	// 4.18+ (etcd): the spec as merge patches left it, and why the revision
	// controller's quorum precondition holds a pending revision back.
	Spec    map[string]any `json:"spec,omitempty"`
	Blocked string         `json:"blocked,omitempty"`
}

type patchRecord struct {
	Reason   string `json:"reason"`
	At       int64  `json:"at"`
	Accepted bool   `json:"accepted"`
}

type fakeOC struct {
	sim    simFile
	now    int64
	stdout io.Writer
	stderr io.Writer
	lock   *os.File
	// host is where this oc runs: "workstation", or the node whose /usr/bin/oc it is.
	host string
}

func ocMain(simPath string, args []string) int {
	b, err := os.ReadFile(simPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "oc (simulated): %v\n", err)
		return 1
	}
	o := &fakeOC{stdout: os.Stdout, stderr: os.Stderr}
	if err := json.Unmarshal(b, &o.sim); err != nil {
		fmt.Fprintf(os.Stderr, "oc (simulated): %v\n", err)
		return 1
	}
	// One oc at a time: the model is read and written under a lock.
	o.lock, err = os.OpenFile(filepath.Join(o.sim.OCState, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err == nil {
		_ = syscall.Flock(int(o.lock.Fd()), syscall.LOCK_EX)
		defer o.lock.Close()
	}
	o.now = time.Now().UnixNano()
	o.host = os.Getenv("RESTOREKIT_SIM_OC_HOST")
	if o.host == "" {
		o.host = "workstation"
	} else if code, refused := o.hostKubeconfig(); refused {
		return code
	}
	o.record("oc", args)
	return o.run(args)
}

// hostKubeconfig checks, for the oc of a control-plane host (RHCOS ships /usr/bin/oc),
// that KUBECONFIG names a kubeconfig there, as the real oc needs one to reach the API.
// client-go (openshift/oc vendors k8s.io/client-go tools/clientcmd loader.go) skips the
// files of KUBECONFIG that do not exist, so without one oc falls back to localhost:8080,
// where nothing listens.
func (o *fakeOC) hostKubeconfig() (int, bool) {
	if kc := os.Getenv("KUBECONFIG"); kc != "" && fileExists(kc) {
		return 0, false
	}
	fmt.Fprintln(o.stderr, "The connection to the server localhost:8080 was refused - did you specify the right host or port?")
	return 1, true
}

func (o *fakeOC) record(tool string, args []string) {
	line := time.Unix(0, o.now).UTC().Format("2006-01-02T15:04:05.000000000Z") + "\t" + o.host + "\t" + tool
	for _, a := range args {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			q = strconv.Quote(a)
		}
		line += "\t" + q
	}
	appendLine(filepath.Join(o.sim.OCState, "commands.log"), line)
}

// event records what the model did or showed, for the tests' order checks.
func (o *fakeOC) event(format string, a ...any) {
	appendLine(filepath.Join(o.sim.OCState, "events.log"),
		time.Unix(0, o.now).UTC().Format("2006-01-02T15:04:05.000000000Z")+"\t"+fmt.Sprintf(format, a...))
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line + "\n")
}

// ocArgs is a parsed oc command line.
type ocArgs struct {
	verb, resource, name string
	output, namespace    string
	selector, fields     string
	patch, patchType     string
	noHeaders, allNS     bool
	raw                  string // get --raw PATH
	rest                 []string
}

func parseOCArgs(args []string) (ocArgs, error) {
	var a ocArgs
	var pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		val := func() (string, error) {
			if k, v, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(k, "-") {
				return v, nil
			}
			if strings.HasPrefix(arg, "-o") && len(arg) > 2 && !strings.HasPrefix(arg, "--") {
				return arg[2:], nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag needs an argument: %s", arg)
			}
			i++
			return args[i], nil
		}
		flag, _, _ := strings.Cut(arg, "=")
		var err error
		switch {
		case flag == "-o" || flag == "--output" || (strings.HasPrefix(arg, "-o") && !strings.HasPrefix(arg, "--")):
			a.output, err = val()
		case flag == "-n" || flag == "--namespace":
			a.namespace, err = val()
		case flag == "-l" || flag == "--selector":
			a.selector, err = val()
		case flag == "--field-selector":
			a.fields, err = val()
		case flag == "-p" || flag == "--patch":
			a.patch, err = val()
		case flag == "--type":
			a.patchType, err = val()
		case flag == "--kubeconfig" || flag == "--request-timeout" || flag == "--context" || flag == "--server" || flag == "--token":
			_, err = val()
		case flag == "--raw":
			a.raw, err = val()
		case flag == "--no-headers":
			a.noHeaders = true
		case flag == "-A" || flag == "--all-namespaces":
			a.allNS = true
		case flag == "--insecure-skip-tls-verify" || flag == "--show-server" || flag == "--short" || flag == "-q" || flag == "--quiet" || flag == "--client":
			a.rest = append(a.rest, arg)
		case strings.HasPrefix(arg, "-") && arg != "-" && len(pos) >= 1 && pos[0] == "auth":
			a.rest = append(a.rest, arg)
		case strings.HasPrefix(arg, "-") && arg != "-":
			return a, fmt.Errorf("unknown flag: %s", flag)
		default:
			pos = append(pos, arg)
		}
		if err != nil {
			return a, err
		}
	}
	if len(pos) > 0 {
		a.verb = pos[0]
	}
	if len(pos) > 1 {
		a.resource = pos[1]
		if r, n, ok := strings.Cut(a.resource, "/"); ok {
			a.resource, a.name = r, n
		}
	}
	if len(pos) > 2 {
		a.name = pos[2]
	}
	if len(pos) > 3 {
		a.rest = append(a.rest, pos[3:]...)
	}
	return a, nil
}

func (o *fakeOC) fail(format string, a ...any) int {
	fmt.Fprintf(o.stderr, format+"\n", a...)
	return 1
}

func (o *fakeOC) run(args []string) int {
	if rc, ok := o.run416(args); ok { // 4.16 and 4.17: nodes, CSRs, OVN (oc416_test.go)
		return rc
	}
	if rc, ok := o.runCSR45(args); ok { // 4.5: describe and approve the CSRs (csr45_test.go)
		return rc
	}
	// `oc adm` has flags of its own: hand it everything after the word.
	for i := 0; i < len(args); i++ {
		if args[i] == "--kubeconfig" || args[i] == "--request-timeout" {
			i++
			continue
		}
		if strings.HasPrefix(args[i], "-") {
			continue
		}
		if args[i] == "adm" {
			if o.sim.Minor >= 18 {
				o.advance418()
			}
			return o.adm(args[i+1:])
		}
		break
	}
	a, err := parseOCArgs(args)
	if err != nil {
		return o.fail("error: %v\nSee 'oc --help' for usage.", err)
	}
	if o.sim.Minor >= 18 {
		o.advance418()
	} else {
		o.advanceRollouts()
	}
	switch a.verb {
	case "version":
		fmt.Fprintf(o.stdout, "Client Version: %s\n", o.sim.OCClient)
		if contains(a.rest, "--client") {
			return 0
		}
		if msg := o.apiDown(); msg == "" {
			fmt.Fprintf(o.stdout, "Server Version: %s\nKubernetes Version: %s\n", o.sim.Version, o.kubeVersion())
		}
		return 0
	case "whoami":
		if msg := o.apiDown(); msg != "" {
			return o.fail("%s", msg)
		}
		if contains(a.rest, "--show-server") {
			fmt.Fprintln(o.stdout, "https://api.sim.example.test:6443")
			return 0
		}
		fmt.Fprintln(o.stdout, "system:admin")
		return 0
	case "auth":
		if a.resource != "can-i" {
			return o.fail("error: unknown command %q for \"oc auth\"", a.resource)
		}
		if msg := o.apiDown(); msg != "" {
			return o.fail("%s", msg)
		}
		fmt.Fprintln(o.stdout, "yes")
		return 0
	case "get":
		if a.raw != "" {
			return o.getRaw(a.raw)
		}
		if msg := o.apiDown(); msg != "" {
			o.event("api-down %s", msg)
			return o.fail("%s", msg)
		}
		return o.get(a)
	case "patch":
		if msg := o.apiDown(); msg != "" {
			return o.fail("%s", msg)
		}
		return o.patchOp(a)
	default:
		return o.fail("error: oc (simulated): %q is not modelled", strings.Join(args, " "))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- the API's availability ----

// kubeVersion is the Kubernetes version of the simulated release.
func (o *fakeOC) kubeVersion() string {
	if o.sim.Minor >= 16 {
		return fmt.Sprintf("v1.%d.6", o.sim.Minor+13)
	}
	return "v1.18.3+2fbd7c7"
}

// getRaw models `oc get --raw /readyz`, which kube-apiserver serves itself to any
// client (system:public-info-viewer): "ok" when ready; when its etcd has no quorum it
// still answers, with HTTP 500 and the failing check named ("[-]etcd failed: reason
// withheld"), which oc prints as an InternalError; when nothing answers, the dial error.
func (o *fakeOC) getRaw(path string) int {
	if path != "/readyz" {
		return o.fail("Error from server (NotFound): the server could not find the requested resource")
	}
	switch msg := o.apiDown(); {
	case msg == "":
		fmt.Fprint(o.stdout, "ok")
		return 0
	case strings.Contains(msg, "etcdserver"):
		return o.fail(`Error from server (InternalError): an error on the server ("[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]poststarthook/start-kube-apiserver-admission-initializer ok\nreadyz check failed") has prevented the request from succeeding`)
	default:
		return o.fail("%s", msg)
	}
}

// apiDown says why the API does not answer now, or "". Cluster.SetAPIUnreachable
// models an API nobody can reach before the restore (the load balancer has taken every
// kube-apiserver out, as when etcd has lost quorum for long): every request gets the
// dial error.
func (o *fakeOC) apiDown() string {
	if fileExists(filepath.Join(o.sim.OCState, "api-unreachable")) && !o.restored() {
		return "Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: no route to host"
	}
	if o.sim.Minor >= 18 {
		return o.apiDown418()
	}
	var rec *simHost
	for i := range o.sim.Hosts {
		if o.sim.Hosts[i].Name == o.sim.Recovery {
			rec = &o.sim.Hosts[i]
		}
	}
	if rec != nil && fileExists(filepath.Join(rec.State, "restored")) {
		etcd := o.pod(*rec, "etcd")
		api := o.pod(*rec, "kube-apiserver")
		restarted := readInt(filepath.Join(rec.State, "kubelet"))
		if o.sim.Minor == 16 || o.sim.Minor == 17 {
			// The 4.16 kubelet starts the pods cluster-restore.sh installed by itself
			// (procedure-4.16.md checks the nodes at step 9, before any kubelet restart):
			// the API answers once the restored pods run, after the EOF window.
			if fi, err := os.Stat(filepath.Join(rec.State, "restored")); err == nil {
				restarted = max(restarted, fi.ModTime().UnixNano())
			}
		}
		if !etcd.running || etcd.kind == "original" || !api.running || restarted == 0 ||
			o.now < restarted+o.sim.APIEOFMs*int64(time.Millisecond) {
			return "Unable to connect to the server: EOF"
		}
		return ""
	}
	n := 0
	for _, h := range o.sim.Hosts {
		if p := o.pod(h, "etcd"); p.running && p.kind != "restore" {
			n++
		}
	}
	if 2*n > len(o.sim.Hosts) {
		return ""
	}
	return "Error from server: etcdserver: request timed out"
}

// Cluster.RotatedKubeletCerts models kubelet certificates that rotated after the
// backup: once the restore is done, the restored API does not know the master's client
// certificate, so its Node stays Ready=Unknown (NotReady) and its kubelet's new client
// CSR (requested as system:node:<node>, no conditions: Pending) waits for approval.
// The file notready-<node> in the oc state names such a master; csr-<name> files hold a
// pending CSR's requester.
func (o *fakeOC) notReady(node string) bool {
	return o.restored() && fileExists(filepath.Join(o.sim.OCState, "notready-"+node))
}

func (o *fakeOC) csrs() []map[string]any {
	var out []map[string]any
	if !o.restored() {
		return out
	}
	files, _ := filepath.Glob(filepath.Join(o.sim.OCState, "csr-*"))
	sort.Strings(files)
	for _, f := range files {
		user := strings.TrimSpace(readFileOr(f))
		status := map[string]any{}
		if fileExists(filepath.Join(o.sim.OCState, "approved-"+filepath.Base(f))) {
			status["conditions"] = []any{map[string]any{"type": "Approved", "status": "True"}}
		}
		out = append(out, map[string]any{"apiVersion": "certificates.k8s.io/v1beta1", "kind": "CertificateSigningRequest",
			"metadata": map[string]any{"name": filepath.Base(f)},
			"spec":     map[string]any{"username": user, "signerName": "kubernetes.io/kube-apiserver-client-kubelet"}, "status": status})
	}
	return out
}

// podState is a static pod as the simulated kubelet runs it (the Go side of sim-lib.bash).
type podState struct {
	loaded, running, pending bool
	kind                     string
	started                  int64
}

// pod reads (and, like sim_sync, advances) a static pod of a host.
func (o *fakeOC) pod(h simHost, pod string) podState {
	lock, err := os.OpenFile(filepath.Join(h.State, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err == nil {
		_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		defer lock.Close()
	}
	now := time.Now().UnixNano()
	if o.sim.Minor >= 16 { // 4.16 on: the kubelet picks up manifests by itself
		o.kubeletWatch(h, pod, now)
	}
	path := filepath.Join(h.State, "pods", pod)
	b, err := os.ReadFile(path)
	if err != nil {
		return podState{}
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return podState{}
	}
	started, _ := strconv.ParseInt(f[0], 10, 64)
	inode, kind := f[1], f[2]
	if manifestInode(filepath.Join(h.Root, manifestsDir, pod+"-pod.yaml")) != inode && !contains(h.Stuck, pod) {
		gonePath := filepath.Join(h.State, "gone", pod)
		gone := readInt(gonePath)
		if gone == 0 {
			gone = now
			_ = os.WriteFile(gonePath, []byte(strconv.FormatInt(now, 10)+"\n"), 0o644)
		}
		if now-gone >= o.sim.StopDelayMs*int64(time.Millisecond) {
			o.stopPod(h, pod, started, kind, now)
			if o.sim.Minor >= 16 {
				o.kubeletWatch(h, pod, now)
				return o.readPod(h, pod, now)
			}
			return podState{}
		}
	}
	s := podState{loaded: true, kind: kind, started: started}
	s.pending = started > now
	s.running = !s.pending && kind != "restore-failed"
	return s
}

func manifestInode(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "none"
	}
	return strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)
}

// containersOf lists a static pod's containers as sim_containers does.
func (o *fakeOC) containersOf(pod, kind string) []string {
	switch {
	case pod == "etcd" && kind == "restore" && o.sim.Minor >= 18:
		return []string{"etcd", "etcd-readyz"}
	case pod == "etcd" && kind == "restore":
		return []string{"etcd"}
	case pod == "etcd" && o.sim.Minor >= 18:
		c := []string{"etcdctl", "etcd", "etcd-metrics", "etcd-readyz", "etcd-rev"}
		if o.sim.AutomatedBackup && o.sim.Minor <= 20 {
			c = append(c, "etcd-backup-server")
		}
		return c
	case pod == "etcd" && o.sim.Minor >= 16:
		return []string{"etcdctl", "etcd", "etcd-metrics", "etcd-readyz"}
	case pod == "etcd":
		return []string{"etcdctl", "etcd", "etcd-metrics"}
	case pod == "kube-apiserver":
		return []string{"kube-apiserver", "kube-apiserver-cert-syncer", "kube-apiserver-cert-regeneration-controller", "kube-apiserver-insecure-readyz", "kube-apiserver-check-endpoints"}
	case pod == "kube-controller-manager":
		return []string{"kube-controller-manager", "cluster-policy-controller", "kube-controller-manager-cert-syncer", "kube-controller-manager-recovery-controller"}
	case pod == "kube-scheduler":
		return []string{"kube-scheduler", "kube-scheduler-cert-syncer", "kube-scheduler-recovery-controller"}
	}
	return []string{pod}
}

func (o *fakeOC) stopPod(h simHost, pod string, started int64, kind string, now int64) {
	var lines string
	for _, c := range o.containersOf(pod, kind) {
		id := sha256Hex([]byte(fmt.Sprintf("%s/%s/%s/%d", h.Name, pod, c, started)))
		lines += fmt.Sprintf("%s %s %s %d\n", id, c, pod, now)
	}
	f, err := os.OpenFile(filepath.Join(h.State, "exited"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		_, _ = f.WriteString(lines)
		f.Close()
	}
	_ = os.Remove(filepath.Join(h.State, "pods", pod))
	_ = os.Remove(filepath.Join(h.State, "gone", pod))
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func readInt(p string) int64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// ---- operators ----

func (o *fakeOC) loadOp(op string) *opState {
	s := &opState{Nodes: map[string]int{}, NodeAt: map[string]int64{}}
	if b, err := os.ReadFile(filepath.Join(o.sim.OCState, op+".json")); err == nil {
		_ = json.Unmarshal(b, s)
		return s
	}
	s.Latest = operatorInfo[op].Initial
	for _, h := range o.sim.Hosts {
		s.Nodes[h.Name] = s.Latest
	}
	return s
}

func (o *fakeOC) saveOp(op string, s *opState) {
	b, _ := json.MarshalIndent(s, "", "  ")
	_ = os.WriteFile(filepath.Join(o.sim.OCState, op+".json"), b, 0o644)
}

// advanceRollouts moves every operator's rollout forward to now: the new revision
// appears RevisionMs after the patch, then node after node reaches it NodeMs apart; an
// installer writes the new manifest on the node and the kubelet starts it.
func (o *fakeOC) advanceRollouts() {
	for _, op := range sortedKeys(operatorInfo) {
		s := o.loadOp(op)
		changed := false
		due := s.PatchedAt + o.sim.RevisionMs*int64(time.Millisecond)
		if s.Pending && o.now >= due && op == "etcd" && o.sim.Minor >= 18 {
			// The etcd operator's revision controller creates a revision only when
			// its quorum precondition holds.
			revAt, why := o.quorumSafe(s, due)
			if why != "" {
				if s.Blocked == "" {
					o.event("revision-blocked etcd %s", why)
				}
				s.Blocked = why
				o.saveOp(op, s)
				continue
			}
			if s.Blocked != "" {
				o.event("revision-unblocked etcd")
			}
			s.Blocked = ""
			due = revAt
		}
		if s.Pending && o.now >= due {
			s.Pending = false
			s.Latest++
			s.RevisionAt = due
			s.CompletedAt = 0
			changed = true
			o.event("revision %s %d", op, s.Latest)
		}
		if s.RevisionAt != 0 && s.CompletedAt == 0 {
			all := true
			order := o.rolloutOrder()
			for i, h := range order {
				if s.Nodes[h.Name] >= s.Latest {
					continue
				}
				at := s.RevisionAt + int64(i+1)*o.sim.NodeMs*int64(time.Millisecond)
				stuck := contains(o.sim.StuckRollouts, op) && i == len(order)-1
				if o.now < at || stuck {
					all = false
					continue
				}
				s.Nodes[h.Name] = s.Latest
				s.NodeAt[h.Name] = at
				o.install(h, op, s.Latest, at)
				o.event("node-at-revision %s %s %d", op, h.Name, s.Latest)
				changed = true
			}
			if all {
				s.CompletedAt = o.now
				o.event("rollout-complete %s %d", op, s.Latest)
				changed = true
			}
		}
		if changed {
			o.saveOp(op, s)
		}
	}
}

// install is what an operator's installer pod does on a node: write the new revision's
// pod manifest (to its static-pod-resources directory and the manifests directory); the
// kubelet starts it (an etcd joining the restored cluster gets a new
// member directory).
func (o *fakeOC) install(h simHost, op string, rev int, at int64) {
	pod := operatorInfo[op].Pod
	lock, err := os.OpenFile(filepath.Join(h.State, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err == nil {
		_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		defer lock.Close()
	}
	// Like the real installer: the revision's pod manifest goes to its resource
	// directory first, then into the kubelet's manifest directory.
	body := []byte(podManifest(pod, h.Name, rev, "rollout"))
	res := filepath.Join(h.Root, "etc/kubernetes/static-pod-resources", fmt.Sprintf("%s-pod-%d", pod, rev))
	_ = os.MkdirAll(res, 0o755)
	_ = os.WriteFile(filepath.Join(res, pod+"-pod.yaml"), body, 0o644)
	manifest := filepath.Join(h.Root, manifestsDir, pod+"-pod.yaml")
	_ = os.MkdirAll(filepath.Dir(manifest), 0o755)
	tmp := manifest + ".installer"
	_ = os.WriteFile(tmp, body, 0o644)
	_ = os.Rename(tmp, manifest)
	if op == "etcd" {
		member := filepath.Join(h.Root, etcdDataDir, "member")
		if o.sim.Minor >= 18 {
			o.archiveStaleMember(h, at)
		}
		if _, err := os.Stat(member); err != nil {
			_ = os.MkdirAll(filepath.Join(member, "snap"), 0o700)
			_ = os.MkdirAll(filepath.Join(member, "wal"), 0o700)
			_ = os.WriteFile(filepath.Join(member, "snap", "db"), []byte("member "+h.Name+" joined the restored cluster at revision "+strconv.Itoa(rev)+"\n"), 0o600)
		}
	}
	if b, err := os.ReadFile(filepath.Join(h.State, "pods", pod)); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 3 {
			started, _ := strconv.ParseInt(f[0], 10, 64)
			o.stopPod(h, pod, started, f[2], at)
		}
	}
	started := at + o.sim.StartDelayMs*int64(time.Millisecond)
	_ = os.WriteFile(filepath.Join(h.State, "pods", pod), []byte(fmt.Sprintf("%d %s rollout\n", started, manifestInode(manifest))), 0o644)
}

func (o *fakeOC) patchOp(a ocArgs) int {
	op, ok := canonicalOperator(a.resource)
	if !ok {
		return o.fail("error: the server doesn't have a resource type %q", a.resource)
	}
	if a.name != "cluster" {
		return o.fail("Error from server (NotFound): %s.operator.openshift.io %q not found", op, a.name)
	}
	switch a.patchType {
	case "merge", "json":
	case "", "strategic":
		return o.fail("Error from server (UnsupportedMediaType): the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
	default:
		return o.fail("error: --type must be one of [json merge strategic], not %q", a.patchType)
	}
	s := o.loadOp(op)
	full := operatorInfo[op].Group + "/cluster"
	oldReason := s.Reason
	changed, err := o.applySpecPatch(s, a.patchType, a.patch)
	if err != nil {
		return o.fail("error: unable to parse %q: %v", a.patch, err)
	}
	if !changed {
		// Like the real API: the same value again is no change, so no new revision.
		s.Patches = append(s.Patches, patchRecord{Reason: s.Reason, At: o.now})
		o.saveOp(op, s)
		o.event("patch-no-change %s %q", op, s.Reason)
		fmt.Fprintf(o.stdout, "%s patched (no change)\n", full)
		return 0
	}
	if s.Reason != oldReason {
		s.Pending = true
		s.PatchedAt = o.now
		s.Patches = append(s.Patches, patchRecord{Reason: s.Reason, At: o.now, Accepted: true})
		o.event("patch %s %q", op, s.Reason)
	} else {
		b, _ := json.Marshal(s.Spec)
		o.event("patch-spec %s %s", op, b)
	}
	o.saveOp(op, s)
	fmt.Fprintf(o.stdout, "%s patched\n", full)
	return 0
}

// canonicalOperator maps what oc accepts for an operator resource (etcd, etcds,
// etcd.operator.openshift.io, kubeapiserver, kubeapiservers, ...) to its short name.
func canonicalOperator(r string) (string, bool) {
	name, group, _ := strings.Cut(strings.ToLower(r), ".")
	if group != "" && group != "operator.openshift.io" {
		return "", false
	}
	for op := range operatorInfo {
		if name == op || name == op+"s" {
			return op, true
		}
	}
	return "", false
}

// ---- get ----

func (o *fakeOC) get(a ocArgs) int {
	var items []map[string]any
	var table func(obj map[string]any) []string
	var header []string
	namespaced := false
	res := strings.ToLower(a.resource)
	switch {
	case res == "clusterversion" || res == "clusterversions" || strings.HasPrefix(res, "clusterversion."):
		items = []map[string]any{o.clusterVersion()}
		header = []string{"NAME", "VERSION", "AVAILABLE", "PROGRESSING", "SINCE", "STATUS"}
		table = func(m map[string]any) []string {
			return []string{"version", o.sim.Version, "True", "False", "10d", "Cluster version is " + o.sim.Version}
		}
	case res == "clusteroperators" || res == "clusteroperator" || res == "co" || strings.HasPrefix(res, "clusteroperators."):
		items = o.clusterOperators()
		header = []string{"NAME", "VERSION", "AVAILABLE", "PROGRESSING", "DEGRADED", "SINCE", "MESSAGE"}
		table = o.coRow
	case res == "infrastructure" || res == "infrastructures" || strings.HasPrefix(res, "infrastructure."):
		items = []map[string]any{o.infrastructure()}
		header = []string{"NAME", "AGE"}
		table = func(m map[string]any) []string { return []string{"cluster", "120d"} }
	case res == "proxy" || res == "proxies" || strings.HasPrefix(res, "proxy."):
		items = []map[string]any{o.proxy()}
		header = []string{"NAME", "AGE"}
		table = func(m map[string]any) []string { return []string{"cluster", "120d"} }
	case res == "pods" || res == "pod" || res == "po":
		namespaced = true
		if a.namespace != "openshift-etcd" {
			return o.fail("error: oc (simulated): only pods in openshift-etcd are modelled (namespace %q)", a.namespace)
		}
		items = o.etcdPods()
		header = []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		table = func(m map[string]any) []string {
			return []string{jget(m, "metadata", "name"), m["_ready"].(string), m["_shown"].(string), "0", "5m"}
		}
	case res == "nodes" || res == "node" || res == "no":
		for _, h := range o.sim.Hosts {
			ready := "True"
			if o.notReady(h.Name) {
				ready = "Unknown"
			}
			items = append(items, map[string]any{"apiVersion": "v1", "kind": "Node",
				"metadata": map[string]any{"name": h.Name, "labels": map[string]any{"node-role.kubernetes.io/master": "", "kubernetes.io/hostname": h.Name}},
				"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready}}}, "_ready": ready})
		}
		header = []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}
		table = func(m map[string]any) []string {
			st := "Ready"
			if m["_ready"] != "True" {
				st = "NotReady"
			}
			return []string{jget(m, "metadata", "name"), st, "master", "120d", "v1.18.3+2fbd7c7"}
		}
	case res == "csr" || res == "certificatesigningrequests" || strings.HasPrefix(res, "certificatesigningrequest"):
		items = o.csrs()
		header = []string{"NAME", "AGE", "REQUESTOR", "CONDITION"}
		table = func(m map[string]any) []string {
			return []string{jget(m, "metadata", "name"), "1m", jget(m, "spec", "username"), "Pending"}
		}
	default:
		op, ok := canonicalOperator(res)
		if !ok {
			return o.fail("error: the server doesn't have a resource type %q", a.resource)
		}
		items = []map[string]any{o.operatorObject(op)}
		header = []string{"NAME", "AGE"}
		table = func(m map[string]any) []string { return []string{"cluster", "120d"} }
	}
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
	var doc any
	if a.name != "" && len(items) == 1 {
		doc = clean[0]
	} else {
		doc = map[string]any{"apiVersion": "v1", "kind": "List", "items": clean, "metadata": map[string]any{"resourceVersion": ""}}
	}
	out := a.output
	switch {
	case out == "json":
		b, _ := json.MarshalIndent(doc, "", "    ")
		fmt.Fprintln(o.stdout, string(b))
	case out == "yaml":
		b, _ := yaml.Marshal(doc)
		fmt.Fprint(o.stdout, string(b))
	case out == "name":
		for _, it := range items {
			fmt.Fprintf(o.stdout, "%s/%s\n", strings.ToLower(fmt.Sprint(it["kind"])), jget(it, "metadata", "name"))
		}
	case strings.HasPrefix(out, "jsonpath="):
		tmpl := strings.TrimPrefix(out, "jsonpath=")
		// A round trip through JSON gives the evaluator plain values.
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
			rows = append(rows, table(it))
		}
		printTable(o.stdout, rows)
	default:
		return o.fail("error: unable to match a printer suitable for the output format %q", out)
	}
	if res == "pods" || res == "pod" || res == "po" {
		running := 0
		for _, it := range items {
			labels, _ := it["metadata"].(map[string]any)["labels"].(map[string]any)
			if jget(it, "status", "phase") == "Running" && labels["k8s-app"] == "etcd" {
				running++
			}
		}
		o.event("etcd-pods-running %d", running)
	}
	if table != nil && len(header) == 7 && header[6] == "MESSAGE" {
		var unstable []string
		for _, it := range items {
			if unstableReason(it) != "" {
				unstable = append(unstable, jget(it, "metadata", "name"))
			}
		}
		o.event("clusteroperators-shown unstable=%s", strings.Join(unstable, ","))
	}
	if op, ok := canonicalOperator(res); ok {
		s := o.loadOp(op)
		o.event("shown %s latest=%d complete=%t", op, s.Latest, s.CompletedAt != 0 && !s.Pending)
	}
	return 0
}

func printTable(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			if len(c) > widths[i] {
				widths[i] = len(c)
			}
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + strings.Repeat(" ", widths[i]-len(c)+3))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func jget(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

func filterItems(items []map[string]any, selector, fields string) []map[string]any {
	var out []map[string]any
	for _, it := range items {
		ok := true
		for _, req := range splitNonEmpty(selector) {
			labels, _ := it["metadata"].(map[string]any)["labels"].(map[string]any)
			k, v, neq := strings.Cut(req, "!=")
			if neq {
				ok = ok && fmt.Sprint(labels[k]) != v
				continue
			}
			k, v, eq := strings.Cut(strings.Replace(req, "==", "=", 1), "=")
			if eq {
				lv, has := labels[k]
				ok = ok && has && fmt.Sprint(lv) == v
			} else {
				_, has := labels[k]
				ok = ok && has
			}
		}
		for _, req := range splitNonEmpty(fields) {
			k, v, _ := strings.Cut(strings.Replace(req, "==", "=", 1), "=")
			neg := strings.HasSuffix(k, "!")
			k = strings.TrimSuffix(k, "!")
			got := jget(it, strings.Split(k, ".")...)
			ok = ok && ((got == v) != neg)
		}
		if ok {
			out = append(out, it)
		}
	}
	return out
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (o *fakeOC) clusterVersion() map[string]any {
	v := o.sim.Version
	return map[string]any{
		"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
		"metadata": map[string]any{"name": "version"},
		"spec":     map[string]any{"channel": "stable-4.5", "clusterID": "5d3e7a1c-0000-4000-8000-simulated000"},
		"status": map[string]any{
			"desired":            map[string]any{"version": v, "image": "quay.io/openshift-release-dev/ocp-release@sha256:" + sha256Hex([]byte(v))},
			"history":            o.clusterVersionHistory(v),
			"observedGeneration": 2,
			"conditions": []any{
				map[string]any{"type": "Available", "status": "True", "message": "Done applying " + v},
				map[string]any{"type": "Progressing", "status": "False", "message": "Cluster version is " + v},
			},
		},
	}
}

// clusterVersionHistory is status.history, newest first: Completed at the release, or
// the entries of <ocState>/clusterversion-history ("state version" lines, newest
// first: a cluster mid-upgrade, SetVersionHistory).
func (o *fakeOC) clusterVersionHistory(v string) []any {
	data, err := os.ReadFile(filepath.Join(o.sim.OCState, "clusterversion-history"))
	if err != nil {
		return []any{map[string]any{"state": "Completed", "version": v}}
	}
	var hist []any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if state, version, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			hist = append(hist, map[string]any{"state": state, "version": version})
		}
	}
	return hist
}

// proxy is the Proxy "cluster": sim.Proxy is its spec (install-config's proxy); the
// status is what cluster-network-operator's proxyconfig controller writes: httpProxy
// and httpsProxy as they are, noProxy expanded (MergeUserSystemNoProxy) once any of
// the three is set, or "*" when spec.noProxy is "*".
func (o *fakeOC) proxy() map[string]any {
	spec := map[string]any{"trustedCA": map[string]any{"name": ""}}
	status := map[string]any{}
	if p := o.sim.Proxy; p != nil {
		for k, v := range map[string]string{"httpProxy": p.HTTPProxy, "httpsProxy": p.HTTPSProxy, "noProxy": p.NoProxy} {
			if v != "" {
				spec[k] = v
				status[k] = v
			}
		}
		if p.HTTPProxy != "" || p.HTTPSProxy != "" || p.NoProxy != "" {
			status["noProxy"] = o.statusNoProxy(p.NoProxy)
		}
	}
	return map[string]any{"apiVersion": "config.openshift.io/v1", "kind": "Proxy",
		"metadata": map[string]any{"name": "cluster"}, "spec": spec, "status": status}
}

// statusNoProxy is spec.noProxy merged with what the network operator adds: loopback,
// .svc, .cluster.local, the machine network (install-config's default 10.0.0.0/16),
// the internal API's host name, the service and cluster networks, and up to 4.7 an
// etcd-<i>.<domain> name per control-plane replica; sorted, without repeats. The
// simulated platform is None: no 169.254.169.254 or cloud domains.
func (o *fakeOC) statusNoProxy(specNoProxy string) string {
	if specNoProxy == "*" {
		return "*"
	}
	domain := "sim.example.test"
	if len(o.sim.Hosts) > 0 {
		if _, d, ok := strings.Cut(o.sim.Hosts[0].Name, "."); ok {
			domain = d
		}
	}
	set := map[string]bool{"127.0.0.1": true, "localhost": true, ".svc": true, ".cluster.local": true,
		"10.0.0.0/16": true, "api-int." + domain: true, "172.30.0.0/16": true, "10.128.0.0/14": true}
	if o.sim.Minor < 8 {
		for i := range o.sim.Hosts {
			set[fmt.Sprintf("etcd-%d.%s", i, domain)] = true
		}
	}
	for _, e := range strings.Split(specNoProxy, ",") {
		if e != "" {
			set[e] = true
		}
	}
	list := make([]string, 0, len(set))
	for e := range set {
		list = append(list, e)
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}

// etcdPods lists the openshift-etcd namespace: an etcd pod for each host running an
// etcd of the current cluster, and the Completed installer and pruner pods.
func (o *fakeOC) etcdPods() []map[string]any {
	restored := false
	for _, h := range o.sim.Hosts {
		if h.Name == o.sim.Recovery && fileExists(filepath.Join(h.State, "restored")) {
			restored = true
		}
	}
	var pods []map[string]any
	s := o.loadOp("etcd")
	for _, h := range o.sim.Hosts {
		p := o.pod(h, "etcd")
		// A member of the cluster the API runs on: the original members, or after the
		// restore the restored one; members rolled out by the operator join either.
		member := p.loaded && p.kind != "restore-failed" && (p.kind == "rollout" || restored == (p.kind == "restore"))
		if member {
			n := len(o.containersOf("etcd", p.kind))
			phase, shown, ready := "Running", "Running", fmt.Sprintf("%d/%d", n, n)
			if p.pending {
				phase, shown, ready = "Pending", "Pending", fmt.Sprintf("0/%d", n)
			}
			pods = append(pods, map[string]any{"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "etcd-" + h.Name, "namespace": "openshift-etcd",
					"labels": map[string]any{"app": "etcd", "etcd": "true", "k8s-app": "etcd", "revision": strconv.Itoa(s.Nodes[h.Name])}},
				"spec": map[string]any{"nodeName": h.Name},
				"status": map[string]any{"phase": phase, "conditions": []any{map[string]any{"type": "Ready", "status": map[bool]string{true: "True", false: "False"}[!p.pending]}},
					"containerStatuses": o.containerStatuses(p)}, "_shown": shown, "_ready": ready})
		}
	}
	if o.sim.Minor >= 18 && !o.singleNode() {
		// library-go's guard pods: ready while the node's etcd is a healthy member.
		_, healthy := o.members()
		for _, h := range o.sim.Hosts {
			ready := "0/1"
			if healthy[h.Name] {
				ready = "1/1"
			}
			pods = append(pods, map[string]any{"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "etcd-guard-" + h.Name, "namespace": "openshift-etcd",
					"labels": map[string]any{"app": "guard"}},
				"spec":   map[string]any{"nodeName": h.Name, "containers": []any{map[string]any{"name": "guard"}}},
				"status": map[string]any{"phase": "Running", "containerStatuses": []any{map[string]any{"name": "guard", "ready": ready == "1/1"}}},
				"_shown": "Running", "_ready": ready})
		}
	}
	for _, h := range o.sim.Hosts {
		for _, prefix := range []string{"installer", "revision-pruner"} {
			for rev := operatorInfo["etcd"].Initial; rev <= s.Nodes[h.Name]; rev++ {
				pods = append(pods, map[string]any{"apiVersion": "v1", "kind": "Pod",
					"metadata": map[string]any{"name": fmt.Sprintf("%s-%d-%s", prefix, rev, h.Name), "namespace": "openshift-etcd",
						"labels": map[string]any{"app": prefix}},
					"spec":   map[string]any{"nodeName": h.Name},
					"status": map[string]any{"phase": "Succeeded"}, "_shown": "Completed", "_ready": "0/1"})
			}
		}
	}
	return pods
}

func (o *fakeOC) operatorObject(op string) map[string]any {
	s := o.loadOp(op)
	counts := map[int]int{}
	var nodes []any
	for _, h := range o.sim.Hosts {
		counts[s.Nodes[h.Name]]++
		ns := map[string]any{"nodeName": h.Name, "currentRevision": s.Nodes[h.Name]}
		if s.Nodes[h.Name] < s.Latest {
			ns["targetRevision"] = s.Latest
		}
		nodes = append(nodes, ns)
	}
	var revs []int
	for r := range counts {
		revs = append(revs, r)
	}
	sort.Ints(revs)
	cond := map[string]any{"type": "NodeInstallerProgressing"}
	if len(revs) == 1 && revs[0] == s.Latest {
		cond["status"], cond["reason"] = "False", "AllNodesAtLatestRevision"
		cond["message"] = fmt.Sprintf("%d nodes are at revision %d", counts[s.Latest], s.Latest)
	} else {
		var parts []string
		for _, r := range revs {
			parts = append(parts, fmt.Sprintf("%d nodes are at revision %d", counts[r], r))
		}
		if counts[s.Latest] == 0 {
			parts = append(parts, fmt.Sprintf("0 nodes have achieved new revision %d", s.Latest))
		}
		cond["status"], cond["reason"] = "True", "NodeInstaller"
		cond["message"] = strings.Join(parts, "; ")
	}
	info := operatorInfo[op]
	conds := []any{
		map[string]any{"type": "NodeControllerDegraded", "status": "False", "reason": "MasterNodesReady"},
		cond,
		map[string]any{"type": "StaticPodsAvailable", "status": "True", "message": fmt.Sprintf("%d nodes are active; %s", len(o.sim.Hosts), cond["message"])},
	}
	return map[string]any{
		"apiVersion": "operator.openshift.io/v1", "kind": info.Kind,
		"metadata": map[string]any{"name": "cluster"},
		"spec":     specOf(s),
		"status": map[string]any{
			"latestAvailableRevision": s.Latest,
			"nodeStatuses":            nodes,
			"conditions":              append(conds, o.conditions418(op, s)...),
		},
	}
}

// containerStatuses of an etcd pod: every container ready once it runs.
func (o *fakeOC) containerStatuses(p podState) []any {
	var out []any
	for _, c := range o.containersOf("etcd", p.kind) {
		out = append(out, map[string]any{"name": c, "ready": !p.pending, "started": !p.pending})
	}
	return out
}

// conditions418 are the etcd operator's further 4.18+ conditions: the revision
// controller held back by its quorum precondition, and an override set.
func (o *fakeOC) conditions418(op string, s *opState) []any {
	if op != "etcd" || o.sim.Minor < 18 {
		return nil
	}
	rev := map[string]any{"type": "RevisionControllerDegraded", "status": "False"}
	if s.Blocked != "" {
		rev = map[string]any{"type": "RevisionControllerDegraded", "status": "True", "reason": "Error", "message": s.Blocked}
	}
	up := map[string]any{"type": "UnsupportedConfigOverridesUpgradeable", "status": "True", "reason": "NoUnsupportedConfigOverrides"}
	if ov, ok := s.Spec["unsupportedConfigOverrides"].(map[string]any); ok && len(ov) > 0 {
		keys := sortedKeys(ov)
		up = map[string]any{"type": "UnsupportedConfigOverridesUpgradeable", "status": "False", "reason": "UnsupportedConfigOverridesSet",
			"message": "setting: [" + strings.Join(keys, " ") + "]"}
	}
	return []any{rev, up}
}

// TestFakeOCCommandLine checks the fake oc reads command lines the way oc does.
func TestFakeOCCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want ocArgs
	}{
		{[]string{"get", "etcd", "cluster", "-o", "jsonpath={.a}"}, ocArgs{verb: "get", resource: "etcd", name: "cluster", output: "jsonpath={.a}"}},
		{[]string{"--request-timeout=20s", "get", "pods", "-n", "openshift-etcd", "--no-headers"}, ocArgs{verb: "get", resource: "pods", namespace: "openshift-etcd", noHeaders: true}},
		{[]string{"get", "proxy/cluster", "-ojson"}, ocArgs{verb: "get", resource: "proxy", name: "cluster", output: "json"}},
		{[]string{"patch", "kubeapiserver", "cluster", "--type=merge", "-p={\"spec\":{}}"}, ocArgs{verb: "patch", resource: "kubeapiserver", name: "cluster", patch: `{"spec":{}}`, patchType: "merge"}},
		{[]string{"get", "nodes", "-l", "node-role.kubernetes.io/master", "--output=name"}, ocArgs{verb: "get", resource: "nodes", selector: "node-role.kubernetes.io/master", output: "name"}},
	} {
		got, err := parseOCArgs(tc.args)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	if _, err := parseOCArgs([]string{"get", "pods", "--bogus"}); err == nil {
		t.Errorf("an unknown flag must be an error")
	}
	for in, want := range map[string]string{"etcd": "etcd", "etcds": "etcd", "etcd.operator.openshift.io": "etcd",
		"KubeAPIServer": "kubeapiserver", "kubecontrollermanagers": "kubecontrollermanager", "kubescheduler": "kubescheduler", "pods": "", "etcd.example.com": ""} {
		if got, _ := canonicalOperator(in); got != want {
			t.Errorf("canonicalOperator(%q) = %q, want %q", in, got, want)
		}
	}
}
