package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The 4.18+ model of the fake oc (ClusterConfig.Version 4.18.0 or later), from the
// release-4.18 to release-4.22 branches of openshift/cluster-etcd-operator and
// openshift/oc:
//
//   - The kubelet picks up manifests by itself (no kubelet restart in the procedure).
//   - The API answers while a majority of etcd members is healthy. After the restore it
//     gives "Unable to connect to the server: EOF" until the restore pod's etcd has run
//     for APIEOF; the restored cluster has one member, and each other host counts once
//     its etcd of the new revision runs (new members join as learners first).
//   - Once the API is back the etcd operator wants a new revision (the member list
//     changed) and creates it RevisionDelay later, but only when its revision
//     controller's precondition holds (ceohelpers.CheckSafeToScaleCluster): the
//     quorum guard is off (spec.unsupportedConfigOverrides
//     useUnsupportedUnsafeNonHANonProductionUnstableEtcd), the cluster is single-node,
//     a rollout is in progress, or the members are fault tolerant. Otherwise the
//     revision stays pending and etcd is Degraded (RevisionControllerDegraded): the
//     consequence of turning the guard on too early (or never off).
//   - The new revision reaches the other hosts first, the recovery host last, NodeDelay
//     apart; on a host whose old member/ is still in /var/lib/etcd, the new etcd pod
//     archives it to /var/lib/etcd/member-removed-archive-<time> (what the etcd
//     container's discover-etcd-initial-cluster does for a member of another cluster).
//   - Cluster operators: etcd's conditions follow the members and the rollout; the
//     operators the restore upsets stay unstable until every member is back, then
//     settle one after the other, Settle apart; NeverStable ones never do. An override
//     left set makes etcd Upgradeable=False (UnsupportedConfigOverridesUpgradeable).
//   - `oc adm wait-for-stable-cluster` as in pkg/cli/admin/waitforstable (oc 4.10 and
//     later); an older client (OCClientVersion) lacks it as a real one does.

// state418 is the cluster-level 4.18+ state, kept in <ocState>/cluster418.json.
type state418 struct {
	APIBackAt  int64 `json:"apiBackAt"`  // the API answered again after the restore
	EtcdDoneAt int64 `json:"etcdDoneAt"` // every member back at the new revision
	StableAt   int64 `json:"stableAt"`   // every cluster operator stable after the restore
	GuardOffAt int64 `json:"guardOffAt"` // the override was last set
}

func (o *fakeOC) load418() *state418 {
	s := &state418{}
	if b, err := os.ReadFile(filepath.Join(o.sim.OCState, "cluster418.json")); err == nil {
		_ = json.Unmarshal(b, s)
	}
	return s
}

func (o *fakeOC) save418(s *state418) {
	b, _ := json.MarshalIndent(s, "", "  ")
	_ = os.WriteFile(filepath.Join(o.sim.OCState, "cluster418.json"), b, 0o644)
}

const guardKey = "useUnsupportedUnsafeNonHANonProductionUnstableEtcd"

func (o *fakeOC) recoveryHost() *simHost {
	for i := range o.sim.Hosts {
		if o.sim.Hosts[i].Name == o.sim.Recovery {
			return &o.sim.Hosts[i]
		}
	}
	return nil
}

func (o *fakeOC) singleNode() bool { return o.sim.Topology == "SingleReplica" }

// restored says whether cluster-restore.sh completed on the recovery host.
func (o *fakeOC) restored() bool {
	rec := o.recoveryHost()
	return rec != nil && fileExists(filepath.Join(rec.State, "restored"))
}

// guardOff says whether the etcd operator's spec carries the override now.
func guardOff(s *opState) bool {
	ov, _ := s.Spec["unsupportedConfigOverrides"].(map[string]any)
	_, ok := ov[guardKey]
	return ok
}

// ---- the kubelet ----

// readPod parses a host's pod state; the host's lock is held.
func (o *fakeOC) readPod(h simHost, pod string, now int64) podState {
	b, err := os.ReadFile(filepath.Join(h.State, "pods", pod))
	if err != nil {
		return podState{}
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return podState{}
	}
	started, _ := strconv.ParseInt(f[0], 10, 64)
	s := podState{loaded: true, kind: f[2], started: started}
	s.pending = started > now
	s.running = !s.pending && s.kind != "restore-failed"
	return s
}

// kubeletWatch is sim_sync's second half: a manifest whose pod is not running (or
// crash-loops as a restore pod) starts. The host's lock is held.
func (o *fakeOC) kubeletWatch(h simHost, pod string, now int64) {
	manifest := filepath.Join(h.Root, manifestsDir, pod+"-pod.yaml")
	inode := manifestInode(manifest)
	if inode == "none" {
		return
	}
	if b, err := os.ReadFile(filepath.Join(h.State, "pods", pod)); err == nil {
		f := strings.Fields(string(b))
		if len(f) != 3 || f[2] != "restore-failed" || f[1] != inode {
			return
		}
	}
	kind := "original"
	body := readFileOr(manifest)
	switch {
	case strings.Contains(body, "restorekit-sim: restore-etcd"):
		kind = "restore"
	case strings.Contains(body, "restorekit-sim: revision-from-rollout"):
		kind = "rollout"
	}
	started := now + o.sim.StartDelayMs*int64(time.Millisecond)
	if kind == "restore" {
		data := filepath.Join(h.Root, etcdDataDir)
		backup := filepath.Join(h.Root, etcdBackup)
		ents, _ := os.ReadDir(data)
		snap, err := os.ReadFile(filepath.Join(backup, "snapshot.db"))
		if len(ents) > 0 || err != nil {
			kind = "restore-failed"
		} else {
			_ = os.MkdirAll(filepath.Join(data, "member", "snap"), 0o700)
			_ = os.MkdirAll(filepath.Join(data, "member", "wal"), 0o700)
			_ = os.WriteFile(filepath.Join(data, "member", "snap", "db"),
				[]byte("restored member on "+h.Name+" from snapshot\n"+sha256Hex(snap)+"  -\n"), 0o600)
			if rev, err := os.ReadFile(filepath.Join(backup, "revision.json")); err == nil {
				_ = os.WriteFile(filepath.Join(data, "revision.json"), rev, 0o644)
			}
			if o.sim.Minor >= 18 { // the 4.16 restore pod leaves the snapshot copy
				_ = os.Remove(filepath.Join(backup, "snapshot.db"))
			}
			_ = os.WriteFile(filepath.Join(h.State, "restore-started"), []byte(strconv.FormatInt(started, 10)+"\n"), 0o644)
		}
	}
	_ = os.WriteFile(filepath.Join(h.State, "pods", pod), []byte(fmt.Sprintf("%d %s %s\n", started, inode, kind)), 0o644)
}

// archiveStaleMember: a host's etcd of the new revision finds the member/ of the old
// cluster and moves it aside, as discover-etcd-initial-cluster does.
func (o *fakeOC) archiveStaleMember(h simHost, at int64) {
	if h.Name == o.sim.Recovery || !o.restored() {
		return
	}
	member := filepath.Join(h.Root, etcdDataDir, "member")
	db, err := os.ReadFile(filepath.Join(member, "snap", "db"))
	if err != nil && !fileExists(member) {
		return
	}
	if strings.Contains(string(db), "joined the restored cluster") {
		return
	}
	target := member + "-removed-archive-" + time.Unix(0, at).Format("2006-01-02-030405")
	if os.Rename(member, target) == nil {
		o.event("member-archived %s %s", h.Name, strings.TrimPrefix(target, h.Root))
	}
}

// rolloutOrder: 4.18+ installs the other hosts first and the recovery host last, so
// the restored member restarts once the others have joined.
func (o *fakeOC) rolloutOrder() []simHost {
	if o.sim.Minor < 18 {
		return o.sim.Hosts
	}
	var out []simHost
	var rec []simHost
	for _, h := range o.sim.Hosts {
		if h.Name == o.sim.Recovery {
			rec = append(rec, h)
		} else {
			out = append(out, h)
		}
	}
	return append(out, rec...)
}

// ---- etcd members and the API ----

// members is the etcd member list now: the members and which of them are healthy.
func (o *fakeOC) members() (members []string, healthy map[string]bool) {
	healthy = map[string]bool{}
	if !o.restored() {
		for _, h := range o.sim.Hosts {
			members = append(members, h.Name)
			if p := o.pod(h, "etcd"); p.running && p.kind != "restore" {
				healthy[h.Name] = true
			}
		}
		return members, healthy
	}
	for _, h := range o.sim.Hosts {
		p := o.pod(h, "etcd")
		switch {
		case h.Name == o.sim.Recovery:
			members = append(members, h.Name)
			healthy[h.Name] = p.running && (p.kind == "restore" || p.kind == "rollout")
		case p.running && p.kind == "rollout":
			members = append(members, h.Name)
			healthy[h.Name] = true
		}
	}
	return members, healthy
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func (o *fakeOC) apiDown418() string {
	if o.restored() {
		rec := o.recoveryHost()
		rs := readInt(filepath.Join(rec.State, "restore-started"))
		if rs == 0 || o.now < rs+o.sim.APIEOFMs*int64(time.Millisecond) || !o.pod(*rec, "kube-apiserver").running {
			return "Unable to connect to the server: EOF"
		}
		members, healthy := o.members()
		if 2*countTrue(healthy) <= len(members) {
			return "Unable to connect to the server: EOF"
		}
		return ""
	}
	members, healthy := o.members()
	if 2*countTrue(healthy) > len(members) {
		return ""
	}
	return "Error from server: etcdserver: request timed out"
}

// quorumSafe is the revision controller's precondition at a pending revision's due
// time: the time the revision can be created, or why not.
func (o *fakeOC) quorumSafe(s *opState, due int64) (int64, string) {
	if guardOff(s) {
		return max(due, o.load418().GuardOffAt), ""
	}
	if o.singleNode() {
		return due, ""
	}
	for _, h := range o.sim.Hosts {
		if s.Nodes[h.Name] != s.Latest {
			return due, "" // a rollout in progress: always safe
		}
	}
	members, healthy := o.members()
	quorum := len(members)/2 + 1
	var list []string
	for _, m := range members {
		addr := ""
		for _, h := range o.sim.Hosts {
			if h.Name == m {
				addr = h.Addr
			}
		}
		list = append(list, fmt.Sprintf("{Member:name:%q peerURLs:\"https://%s:2380\" clientURLs:\"https://%s:2379\" Healthy:%t Took: Error:<nil>}", m, addr, addr, healthy[m]))
	}
	switch {
	case len(members)-quorum < 1:
		return 0, fmt.Sprintf("etcd cluster has quorum of %d which is not fault tolerant: [%s]", quorum, strings.Join(list, " "))
	case countTrue(healthy)-quorum < 1:
		return 0, fmt.Sprintf("etcd cluster has quorum of %d and %d healthy members which is not fault tolerant: [%s]", quorum, countTrue(healthy), strings.Join(list, " "))
	}
	return due, ""
}

// advance418 moves the cluster-level 4.18+ state forward: the operator's own
// revision once the API is back, the moment every member is back, and the moment the
// cluster became stable.
func (o *fakeOC) advance418() {
	// The hosts' kubelets act between oc calls; this is where the model catches up.
	for _, h := range o.sim.Hosts {
		for _, p := range staticPods {
			o.pod(h, p.Pod)
		}
	}
	st := o.load418()
	changed := false
	if st.APIBackAt == 0 && o.restored() {
		rec := o.recoveryHost()
		if rs := readInt(filepath.Join(rec.State, "restore-started")); rs != 0 && o.now >= rs+o.sim.APIEOFMs*int64(time.Millisecond) {
			st.APIBackAt = rs + o.sim.APIEOFMs*int64(time.Millisecond)
			changed = true
			o.event("api-back-after-restore")
			s := o.loadOp("etcd")
			if !s.Pending {
				s.Pending = true
				s.PatchedAt = st.APIBackAt
				o.saveOp("etcd", s)
				o.event("post-restore-revision-requested etcd")
			}
		}
	}
	if changed {
		o.save418(st)
	}
	o.advanceRollouts()
	st = o.load418()
	if st.APIBackAt != 0 && st.EtcdDoneAt == 0 {
		s := o.loadOp("etcd")
		members, healthy := o.members()
		if !s.Pending && s.RevisionAt >= st.APIBackAt && s.CompletedAt != 0 && len(members) == len(o.sim.Hosts) && countTrue(healthy) == len(members) {
			done := int64(0)
			for _, at := range s.NodeAt {
				done = max(done, at)
			}
			st.EtcdDoneAt = done + o.sim.StartDelayMs*int64(time.Millisecond)
			o.save418(st)
			o.event("etcd-members-back %d", len(members))
		}
	}
	if st.APIBackAt != 0 && st.StableAt == 0 && st.EtcdDoneAt != 0 {
		if at, ok := o.stableSince(st); ok && o.now >= at {
			st.StableAt = at
			o.save418(st)
			o.event("cluster-stable")
		}
	}
}

// ---- cluster operators ----

var clusterOperatorNames = []string{"authentication", "baremetal", "cloud-controller-manager", "cloud-credential",
	"cluster-autoscaler", "config-operator", "console", "control-plane-machine-set", "csi-snapshot-controller", "dns",
	"etcd", "image-registry", "ingress", "insights", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
	"kube-storage-version-migrator", "machine-api", "machine-approver", "machine-config", "marketplace", "monitoring",
	"network", "node-tuning", "openshift-apiserver", "openshift-controller-manager", "openshift-samples",
	"operator-lifecycle-manager", "operator-lifecycle-manager-catalog", "operator-lifecycle-manager-packageserver",
	"service-ca", "storage"}

// upset are the operators the restore makes unstable (besides etcd), in the order
// they settle, with the condition they show meanwhile.
var upset = []struct{ Name, Cond, Reason, Message string }{
	{"kube-apiserver", "Degraded", "NodeController_MasterNodesReady", "simulated: the kube-apiservers wait for the etcd members to rejoin"},
	{"openshift-apiserver", "Available", "APIServices_Error", "simulated: APIServicesAvailable: the aggregated APIs are not ready yet"},
	{"authentication", "Degraded", "OAuthServerDeployment_UnavailablePod", "simulated: OAuthServerDeploymentDegraded: oauth-openshift pods are not ready yet"},
	{"operator-lifecycle-manager-packageserver", "Available", "ClusterServiceVersionNotSucceeded", "simulated: the packageserver is not ready yet"},
	{"console", "Progressing", "SyncLoopRefresh_InProgress", "simulated: waiting for the console deployment"},
	{"monitoring", "Progressing", "RollOutInProgress", "simulated: rolling out the monitoring stack"},
}

// settleAt is when an upset operator is stable again, or 0 (not yet known / never).
func (o *fakeOC) settleAt(st *state418, name string) int64 {
	if contains(o.sim.NeverStable, name) || st.EtcdDoneAt == 0 {
		return 0
	}
	for i, u := range upset {
		if u.Name == name {
			return st.EtcdDoneAt + int64(i+1)*o.sim.SettleMs*int64(time.Millisecond)
		}
	}
	return st.EtcdDoneAt
}

// stableSince is when every operator was (or will be) stable after the restore.
func (o *fakeOC) stableSince(st *state418) (int64, bool) {
	if len(o.sim.NeverStable) > 0 {
		return 0, false
	}
	at := st.EtcdDoneAt
	for _, u := range upset {
		at = max(at, o.settleAt(st, u.Name))
	}
	return at, true
}

func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339) }

// since is oc's short age of a time.
func since(now, at int64) string {
	d := time.Duration(now - at)
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 3*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// clusterOperators lists every ClusterOperator as the API shows it now.
func (o *fakeOC) clusterOperators() []map[string]any {
	st := o.load418()
	longAgo := o.now - int64(120*24*time.Hour)
	etcd := o.loadOp("etcd")
	members, healthy := o.members()
	var out []map[string]any
	for _, name := range clusterOperatorNames {
		type cond struct {
			status        bool
			reason, msg   string
			lastTranstion int64
		}
		conds := map[string]*cond{
			"Available":   {true, "AsExpected", "", longAgo},
			"Progressing": {false, "AsExpected", "", longAgo},
			"Degraded":    {false, "AsExpected", "", longAgo},
			"Upgradeable": {true, "AsExpected", "", longAgo},
		}
		if name == "etcd" {
			var down []string
			for _, h := range o.sim.Hosts {
				if !healthy[h.Name] {
					down = append(down, h.Name+" is unhealthy")
				}
			}
			var degraded []string
			if len(down) > 0 {
				degraded = append(degraded, fmt.Sprintf("EtcdMembersDegraded: %d of %d members are available, %s",
					countTrue(healthy), len(o.sim.Hosts), strings.Join(down, ", ")))
			}
			if etcd.Blocked != "" {
				degraded = append(degraded, "RevisionControllerDegraded: "+etcd.Blocked)
			}
			if contains(o.sim.NeverStable, "etcd") && st.APIBackAt != 0 {
				degraded = append(degraded, "simulated: never settles")
			}
			if len(degraded) > 0 {
				conds["Degraded"] = &cond{true, "EtcdMembers_UnhealthyMembers", strings.Join(degraded, "\n"), max(st.APIBackAt, longAgo)}
			} else if st.EtcdDoneAt != 0 {
				conds["Degraded"].lastTranstion = st.EtcdDoneAt
			}
			obj := o.operatorObject("etcd")
			msg := ""
			for _, c := range obj["status"].(map[string]any)["conditions"].([]any) {
				if c.(map[string]any)["type"] == "NodeInstallerProgressing" {
					msg = c.(map[string]any)["message"].(string)
				}
			}
			if etcd.CompletedAt == 0 && etcd.RevisionAt != 0 {
				conds["Progressing"] = &cond{true, "NodeInstaller", "NodeInstallerProgressing: " + msg, max(etcd.RevisionAt, longAgo)}
			}
			conds["Available"].msg = fmt.Sprintf("StaticPodsAvailable: %d nodes are active; %s\nEtcdMembersAvailable: %d members are available", countTrue(healthy), msg, countTrue(healthy))
			_ = members
			if guardOff(etcd) {
				conds["Upgradeable"] = &cond{false, "UnsupportedConfigOverrides_UnsupportedConfigOverridesSet",
					"UnsupportedConfigOverridesUpgradeable: setting: [" + guardKey + "]", max(st.GuardOffAt, longAgo)}
			}
		}
		for _, u := range upset {
			if u.Name != name || st.APIBackAt == 0 {
				continue
			}
			settled := o.settleAt(st, name)
			c := conds[u.Cond]
			if settled == 0 || o.now < settled {
				*c = cond{u.Cond != "Available", u.Reason, u.Message, st.APIBackAt}
			} else {
				c.lastTranstion = settled
			}
		}
		if contains(o.sim.NeverStable, name) && name != "etcd" && st.APIBackAt != 0 {
			*conds["Degraded"] = cond{true, "SimulatedFault", "simulated: " + name + " never settles after the restore", st.APIBackAt}
		}
		var cl []any
		for _, t := range []string{"Available", "Progressing", "Degraded", "Upgradeable"} {
			c := conds[t]
			status := "False"
			if c.status {
				status = "True"
			}
			m := map[string]any{"type": t, "status": status, "reason": c.reason, "lastTransitionTime": rfc3339(c.lastTranstion)}
			if c.msg != "" {
				m["message"] = c.msg
			}
			cl = append(cl, m)
		}
		out = append(out, map[string]any{
			"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator",
			"metadata": map[string]any{"name": name},
			"status": map[string]any{"conditions": cl,
				"versions": []any{map[string]any{"name": "operator", "version": o.sim.Version}}},
		})
	}
	return out
}

// coCondition reads one condition of a ClusterOperator object.
func coCondition(co map[string]any, t string) (status, msg, last string) {
	st, _ := co["status"].(map[string]any)
	cl, _ := st["conditions"].([]any)
	for _, c := range cl {
		m := c.(map[string]any)
		if m["type"] == t {
			status, _ = m["status"].(string)
			msg, _ = m["message"].(string)
			last, _ = m["lastTransitionTime"].(string)
		}
	}
	return
}

// coRow is `oc get clusteroperators`' table row: SINCE is Available's last
// transition; MESSAGE (simplified) the first line of the first condition that is off.
func (o *fakeOC) coRow(co map[string]any) []string {
	row := []string{jget(co, "metadata", "name"), o.sim.Version}
	msg := ""
	for _, t := range []string{"Available", "Progressing", "Degraded"} {
		s, m, _ := coCondition(co, t)
		row = append(row, s)
		if (t == "Available") != (s == "True") && msg == "" {
			msg = m
		}
	}
	_, _, availSince := coCondition(co, "Available")
	at, _ := time.Parse(time.RFC3339, availSince)
	row = append(row, since(o.now, at.UnixNano()), strings.SplitN(msg, "\n", 2)[0])
	return row
}

// unstableReason is waitforstable's unstableOperatorReason.
func unstableReason(co map[string]any) string {
	var r []string
	if s, _, _ := coCondition(co, "Available"); s != "True" {
		r = append(r, "unavailable")
	}
	if s, _, _ := coCondition(co, "Progressing"); s != "False" {
		r = append(r, "progressing")
	}
	if s, _, _ := coCondition(co, "Degraded"); s != "False" {
		r = append(r, "degraded")
	}
	return strings.Join(r, " and ")
}

func (o *fakeOC) infrastructure() map[string]any {
	infra := "HighlyAvailable"
	if o.singleNode() {
		infra = "SingleReplica"
	}
	return map[string]any{"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure",
		"metadata": map[string]any{"name": "cluster"},
		"spec":     map[string]any{"platformSpec": map[string]any{"type": "None"}},
		"status": map[string]any{"controlPlaneTopology": o.sim.Topology, "infrastructureTopology": infra,
			"platform": "None", "platformStatus": map[string]any{"type": "None"},
			"apiServerURL": "https://api.sim.example.test:6443", "infrastructureName": "sim-x7k2p"}}
}

// ---- oc adm ----

// clientHasWaitForStable: `oc adm wait-for-stable-cluster` exists from oc 4.10.
func (o *fakeOC) clientHasWaitForStable() bool { return releaseMinor(o.sim.OCClient) >= 10 }

var admCommands = []string{"build-chain", "catalog", "certificate", "copy-to-node", "cordon", "create-bootstrap-project-template",
	"create-error-template", "create-login-template", "create-provider-selection-template", "drain", "groups", "inspect",
	"migrate", "must-gather", "new-project", "node-image", "node-logs", "ocp-certificates", "pod-network", "policy",
	"prune", "reboot-machine-config-pool", "release", "restart-kubelet", "taint", "top", "uncordon", "upgrade",
	"verify-image-signature", "wait-for-node-reboot", "wait-for-stable-cluster"}

// adm models `oc adm`: its help, and wait-for-stable-cluster. A client before 4.10
// has no such subcommand, and cobra then treats the word as an argument of `oc adm`:
// with --help it prints oc adm's help and exits 0, without it "unknown command".
func (o *fakeOC) adm(args []string) int {
	help := contains(args, "--help") || contains(args, "-h")
	var words []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	known := len(words) > 0 && words[0] == "wait-for-stable-cluster" && o.clientHasWaitForStable()
	if !known {
		if help {
			o.admHelp()
			return 0
		}
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				name, _, _ := strings.Cut(a, "=")
				return o.fail("Error: unknown flag: %s\nSee 'oc adm --help' for usage.", name)
			}
		}
		if len(words) == 0 {
			o.admHelp()
			return 1
		}
		return o.fail("error: unknown command %q\nSee 'oc adm -h' for help and examples", strings.Join(words, " "))
	}
	if help {
		fmt.Fprint(o.stdout, `Wait for all OCP v4 clusteroperators to report Available=true, Progressing=false, Degraded=false.

Examples:
  # Wait for all cluster operators to become stable
  oc adm wait-for-stable-cluster

  # Consider operators to be stable if they report as such for 5 minutes straight
  oc adm wait-for-stable-cluster --minimum-stable-period 5m

Options:
    --minimum-stable-period=5m0s:
	minimum duration to consider a cluster stable. Defaults to 5 minutes.

    --timeout=1h0m0s:
	duration before the command times out. Defaults to 1 hour.

Usage:
  oc adm wait-for-stable-cluster [flags] [options]
`)
		return 0
	}
	return o.waitForStable(args[1:])
}

func (o *fakeOC) admHelp() {
	fmt.Fprintf(o.stdout, "Administrative Commands\n\nActions for administering an OpenShift cluster are exposed here.\n\nUsage:\n  oc adm [flags]\n\nAvailable Commands:\n")
	for _, c := range admCommands {
		if c == "wait-for-stable-cluster" && !o.clientHasWaitForStable() {
			continue
		}
		fmt.Fprintf(o.stdout, "  %s\n", c)
	}
	fmt.Fprintf(o.stdout, "\nUse \"oc adm <command> --help\" for more information about a given command.\n")
}

// waitForStable is `oc adm wait-for-stable-cluster`: poll every 10s (the stable period
// plus a second when that is shorter), print each operator's changes, succeed once
// every operator has been stable for longer than the stable period; exit 1 with
// "error: context deadline exceeded" at the timeout.
func (o *fakeOC) waitForStable(args []string) int {
	timeout, period := time.Hour, 5*time.Minute
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		var dst *time.Duration
		switch name {
		case "--timeout":
			dst = &timeout
		case "--minimum-stable-period":
			dst = &period
		case "--kubeconfig", "--request-timeout":
			if !hasVal {
				i++
			}
			continue
		default:
			if strings.HasPrefix(name, "-") {
				return o.fail("error: unknown flag: %s\nSee 'oc adm wait-for-stable-cluster --help' for usage.", name)
			}
			return o.fail("error: unexpected argument %q", args[i])
		}
		if !hasVal {
			if i+1 >= len(args) {
				return o.fail("error: flag needs an argument: %s\nSee 'oc adm wait-for-stable-cluster --help' for usage.", name)
			}
			i++
			val = args[i]
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return o.fail("error: invalid argument %q for %q flag: time: invalid duration %q\nSee 'oc adm wait-for-stable-cluster --help' for usage.", val, name, val)
		}
		*dst = d
	}
	if timeout <= period {
		return o.fail("error: --timeout must be greater than the --minimum-stable-period")
	}
	interval := 10 * time.Second
	if interval > period {
		interval = period + time.Second
	}
	start := time.Now()
	deadline := start.Add(timeout)
	o.event("wait-for-stable start timeout=%s period=%s", timeout, period)
	var stableStart time.Time
	prevUnstable := map[string]bool{}
	unstableSince := map[string]time.Time{}
	for {
		o.now = time.Now().UnixNano()
		now := time.Unix(0, o.now)
		o.advance418()
		if msg := o.apiDown(); msg != "" {
			fmt.Fprintf(o.stderr, "failed to list clusteroperators: Get \"https://api.sim.example.test:6443/apis/config.openshift.io/v1/clusteroperators\": %s", strings.TrimPrefix(strings.TrimPrefix(msg, "Unable to connect to the server: "), "Error from server: "))
			stableStart = time.Time{}
		} else {
			unstable := map[string]bool{}
			for _, co := range o.clusterOperators() {
				name := jget(co, "metadata", "name")
				if r := unstableReason(co); r != "" {
					unstable[name] = true
					if _, ok := unstableSince[name]; !ok {
						unstableSince[name] = now
					}
					switch {
					case prevUnstable[name]:
						fmt.Fprintf(o.stdout, "clusteroperators/%v is still %v after %v\n", name, r, now.Sub(unstableSince[name]).Round(time.Second))
					case len(prevUnstable) == 0:
						fmt.Fprintf(o.stdout, "clusteroperators/%v is %v at %v\n", name, r, now.Format(time.RFC3339))
					default:
						fmt.Fprintf(o.stdout, "clusteroperators/%v became %v at %v\n", name, r, now.Format(time.RFC3339))
					}
				} else {
					if prevUnstable[name] {
						fmt.Fprintf(o.stdout, "clusteroperators/%v stabilized at %v after %v\n", name, now.Format(time.RFC3339), now.Sub(unstableSince[name]).Round(time.Second))
					}
					delete(unstableSince, name)
				}
			}
			prevUnstable = unstable
			if len(unstable) > 0 {
				stableStart = time.Time{}
			} else if stableStart.IsZero() {
				stableStart = now
				fmt.Fprintf(o.stdout, "All clusteroperators became stable at %v\n", now.Format(time.RFC3339))
			} else {
				fmt.Fprintf(o.stdout, "All clusteroperators are still stable after %v\n", now.Sub(stableStart).Round(time.Second))
			}
			if !stableStart.IsZero() && now.Sub(stableStart) > period {
				fmt.Fprintln(o.stdout)
				fmt.Fprintf(o.stdout, "All clusteroperators are stable\n")
				o.event("wait-for-stable stable")
				return 0
			}
		}
		fmt.Fprintln(o.stdout)
		// Let other oc commands (and the hosts) go on while this one waits.
		next := time.Now().Add(interval)
		if next.After(deadline) {
			if o.lock != nil {
				_ = syscall.Flock(int(o.lock.Fd()), syscall.LOCK_UN)
			}
			time.Sleep(time.Until(deadline))
			o.now = time.Now().UnixNano()
			if o.lock != nil {
				_ = syscall.Flock(int(o.lock.Fd()), syscall.LOCK_EX)
			}
			o.event("wait-for-stable timeout")
			return o.fail("error: context deadline exceeded")
		}
		if o.lock != nil {
			_ = syscall.Flock(int(o.lock.Fd()), syscall.LOCK_UN)
		}
		time.Sleep(interval)
		if o.lock != nil {
			_ = syscall.Flock(int(o.lock.Fd()), syscall.LOCK_EX)
		}
	}
}

// ---- patches of the operator resources ----

// mergePatch applies an RFC 7386 JSON merge patch to a document.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	out := map[string]any{}
	for k, v := range d {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = mergePatch(out[k], v)
		}
	}
	return out
}

// specOf is an operator's spec as the API holds it.
func specOf(s *opState) map[string]any {
	spec := map[string]any{"managementState": "Managed", "forceRedeploymentReason": s.Reason}
	for k, v := range s.Spec {
		spec[k] = v
	}
	return spec
}

// applySpecPatch patches an operator's spec (merge or json) and says whether it
// changed; the caller saves the state.
func (o *fakeOC) applySpecPatch(s *opState, patchType, patch string) (changed bool, err error) {
	before := specOf(s)
	after := map[string]any{}
	for k, v := range before {
		after[k] = v
	}
	switch patchType {
	case "merge":
		var p map[string]any
		if err := json.Unmarshal([]byte(patch), &p); err != nil {
			return false, err
		}
		if sp, ok := p["spec"]; ok {
			m, _ := mergePatch(after, sp).(map[string]any)
			after = m
		}
	case "json":
		var ops []struct {
			Op, Path string
			Value    any
		}
		if err := json.Unmarshal([]byte(patch), &ops); err != nil {
			return false, err
		}
		for _, p := range ops {
			key, ok := strings.CutPrefix(p.Path, "/spec/")
			if !ok || strings.Contains(key, "/") {
				return false, fmt.Errorf("the path %q is not modelled", p.Path)
			}
			switch p.Op {
			case "add", "replace":
				after[key] = p.Value
			case "remove":
				if _, ok := after[key]; !ok {
					return false, fmt.Errorf("the server rejected our request due to an error in our request")
				}
				delete(after, key)
			default:
				return false, fmt.Errorf("op %q is not modelled", p.Op)
			}
		}
	}
	if reflect.DeepEqual(before, after) {
		return false, nil
	}
	wasOff := guardOff(s)
	s.Reason, _ = after["forceRedeploymentReason"].(string)
	s.Spec = map[string]any{}
	for k, v := range after {
		if k != "forceRedeploymentReason" && k != "managementState" {
			s.Spec[k] = v
		}
	}
	if ov, ok := s.Spec["unsupportedConfigOverrides"]; ok && ov == nil {
		delete(s.Spec, "unsupportedConfigOverrides")
	}
	if off := guardOff(s); off != wasOff {
		st := o.load418()
		if off {
			st.GuardOffAt = o.now
			o.event("guard-off")
		} else {
			o.event("guard-on")
		}
		o.save418(st)
	}
	return true, nil
}

// sortedNames lists map keys in order (for stable messages).
func sortedNames(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
