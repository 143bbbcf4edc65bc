package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Profile is the procedure for a range of OpenShift releases: an ordered list of typed
// steps. Every file of a kit is rendered from the Plan that resolves a profile against
// an inventory, so another release's procedure is a new Profile value plus templates for
// the step kinds it newly needs.
type Profile struct {
	// Name identifies the profile in kit.json ("ocp-4.5").
	Name string
	// Minors are the OpenShift 4.y minors this profile covers.
	Minors []int
	// Page is the procedure page the profile's step numbers cite ("procedure.md").
	Page string
	// Source cites the procedure text the page restates.
	Source string
	// Offered is false for a profile whose step kinds are not all implemented yet: it is
	// listed and planned, but no kit is built for it.
	Offered bool
	// MinMasters is the smallest control plane the procedure covers.
	MinMasters int
	// Steps are the procedure's steps in the order they run.
	Steps []Step
}

// Where says on which hosts a step runs.
type Where int

const (
	// OnWorkstation runs on the workstation or bastion that runs recover.sh (oc, ssh, scp).
	OnWorkstation Where = iota
	// OnRecoveryHost runs on the recovery host only.
	OnRecoveryHost
	// OnOtherMasters runs on every control-plane host but the recovery host.
	OnOtherMasters
	// OnAllMasters runs on every control-plane host.
	OnAllMasters
	// OnAllNodes runs on every node: the recovery host, the other control-plane hosts,
	// then the workers.
	OnAllNodes
	// OnRecoveryHostOC runs oc on the recovery host with its recovery kubeconfig.
	OnRecoveryHostOC
)

func (w Where) String() string {
	switch w {
	case OnRecoveryHost:
		return "recovery host"
	case OnOtherMasters:
		return "other control-plane hosts"
	case OnAllMasters:
		return "every control-plane host"
	case OnAllNodes:
		return "every node"
	case OnRecoveryHostOC:
		return "recovery host (oc, recovery kubeconfig)"
	default:
		return "workstation"
	}
}

// OnHosts reports whether the step runs a host script on hosts.
func (w Where) OnHosts() bool { return w != OnWorkstation }

// How says how a step goes over its hosts.
type How int

const (
	// Parallel runs on every host at once.
	Parallel How = iota
	// OneAtATime runs on one host after the other, in plan order.
	OneAtATime
	// RecoveryFirst runs on the recovery host, then on the others in parallel.
	RecoveryFirst
)

func (h How) String() string {
	switch h {
	case OneAtATime:
		return "one at a time"
	case RecoveryFirst:
		return "recovery host first, then the others in parallel"
	default:
		return "in parallel"
	}
}

// Shell is how the coordinator's step table spells it.
func (h How) Shell() string {
	switch h {
	case OneAtATime:
		return "serial"
	case RecoveryFirst:
		return "recovery-first"
	default:
		return "parallel"
	}
}

// TimeoutKey names the inventory field (under timeouts) that bounds a step's waits.
type TimeoutKey string

// Fact is a fact of the inventory that decides, at render time, whether a step applies.
type Fact string

const (
	// Always applies to every inventory.
	Always Fact = ""
	// MultiNode holds for a control plane of more than one host.
	MultiNode Fact = "more than one control-plane host"
	// SingleNode holds for single-node OpenShift.
	SingleNode Fact = "a single control-plane host"
	// OVNKubernetes holds when cluster.networkType is OVNKubernetes.
	OVNKubernetes Fact = "network type OVNKubernetes"
	// Keepalived holds when the inventory names API VIPs (cluster.apiVIPs), which
	// keepalived holds on an on-premise installer-provisioned cluster.
	Keepalived Fact = "keepalived holds the VIPs (cluster.apiVIPs)"
)

// Condition says when a step applies: a fact of the inventory, decided when the kit is
// rendered, and a probe, checked on each host when the step runs there.
type Condition struct {
	Fact Fact
	// Probe is what the host step checks before it changes anything; on a host where
	// it does not hold the step is skipped and says so ("" for none).
	Probe string
}

// Duty is something a step leaves undone that a later step must finish: a run that
// stops in between says so, and how to finish it by hand.
type Duty struct {
	// Name identifies the duty in the coordinator's state ("quorum-guard").
	Name string
	// Open says what is still undone while the duty is open.
	Open string
	// Fix is the command (or action) that finishes it by hand.
	Fix string
}

// Step is one step of a procedure.
type Step struct {
	// ID names the step for --from and --only ("stop-static-pods").
	ID string
	// Number is how the step cites its procedure page ("4", "5-7", "P1-P5, 1, 2").
	Number string
	// Cites are every procedure number the step performs; those no earlier step cites
	// are also accepted by --from and --only.
	Cites []string
	// Title says what the step does, for --list, the plan and the RUNBOOK.
	Title string
	Where Where
	How   How
	// Kind names the implementation: templates/hosts/<Kind>.sh.tmpl for a host step, the
	// coordinator function step_<kind> (in recover.sh or a partial it includes) otherwise,
	// and both for an orchestrated kind (see Orchestrated); templates/runbook/<Kind>.md.tmpl
	// is its RUNBOOK section either way.
	Kind string
	// Changes is true when the step changes a host or the cluster.
	Changes bool
	// Again says what --again redoes; "" when running the step again is always safe.
	Again string
	// Timeout bounds the step's waits ("" when it does not wait).
	Timeout TimeoutKey
	// Usually is how long the step usually takes on a healthy three-master control
	// plane, for the RUNBOOK and the plan; 0 when not known (nothing is claimed).
	Usually time.Duration
	When    Condition
	// Opens are the duties the step leaves open; Closes the names of those it finishes.
	Opens  []Duty
	Closes []string
	// Manual is true for a troubleshooting step: not in the default run, only --only.
	Manual bool
	// Tail is true for the oc-only steps after the restore (redeploy.sh); TailPart is
	// the number of the part redeploy.sh runs when it is not the whole step ("9.2").
	Tail     bool
	TailPart string
	// Uninterruptible is true for a host step that is never cut off once started (the
	// restore): stopping the coordinator leaves it running, and a re-run waits for it.
	Uninterruptible bool

	// Kind options.
	// StaticPods are the manifests a stop-static-pods step moves out, in order, and
	// MoveData the number of its move of the etcd data directory.
	StaticPods []StaticPod
	MoveData   string
	// CheckRunning is the number of restart-kubelet's check, on the recovery host, that
	// the restored etcd runs, and RunningContainer the container it looks for.
	CheckRunning     string
	RunningContainer string
	// Resource is the operator a redeploy step patches ("kubeapiserver").
	Resource string
	// HostSteps is what a host script's header cites when it is more than Number.
	HostSteps string
	// HostTools are scripts of the release (file names in HostPaths.Bin) the preflight
	// checks on every control-plane host: their presence also shows the release.
	HostTools []string
	// EtcdDirAllowed are the entries (shell patterns) cluster-restore.sh accepts in the
	// etcd data directory of the recovery host; preflight and the restore list anything
	// else and stop before a change (nil: not checked).
	EtcdDirAllowed []string
	// StableCommand is true for a preflight that finds out whether the workstation's oc
	// has `oc adm wait-for-stable-cluster` (else wait-stable polls the operators).
	StableCommand bool
	// EtcdContainers gives, for a minor release, the exact names of the etcd pod's
	// containers a step waits for (disable-etcd.sh's and cluster-restore.sh's list);
	// the plan resolves it for the inventory's release (PlanStep.Containers).
	EtcdContainers func(minor int) []string
	// Script is the host's own script a step runs, by file name in HostPaths.Bin.
	Script string
	// ProxyStep and RestoreStep are the numbers of a restore step's proxy export and
	// of its run of cluster-restore.sh ("6" and "7" in procedure.md).
	ProxyStep, RestoreStep string
	// TarballPods are the static pod manifests cluster-restore.sh installs from the
	// backup's static resources tarball: the restore checks they are there before any
	// change (the 4.16 script stops with "<pod> does not exist in <tarball>" only
	// after the restore etcd pod is in place).
	TarballPods []string
	// StopContainers are the exact names of the containers a step waits to stop when
	// it has moved their manifest (keepalived's).
	StopContainers []string
	// Kubeconfig is the kubeconfig, relative to HostPaths.StaticPodResources, a step
	// that runs oc on the host uses (the recovery kubeconfig).
	Kubeconfig string
	// CheckNetworkType is true for a preflight that compares the cluster's network type
	// (network.config/cluster status.networkType) with the inventory's, and
	// CheckRecoveryOC for one that checks the recovery host has oc (for the steps that
	// run oc there).
	CheckNetworkType bool
	CheckRecoveryOC  bool
	// ApproveNodeCSRs is true for a repair-node step that, after each node's repair,
	// approves that node's own CSRs and waits for it to be Ready (a troubleshooting
	// step with no approve-csrs step after it).
	ApproveNodeCSRs bool
}

// StaticPod is a static pod whose manifest is moved out of /etc/kubernetes/manifests.
type StaticPod struct {
	Manifest  string // file name, e.g. "etcd-pod.yaml"
	Container string // exact container name crictl reports, e.g. "etcd"
	// Containers are the exact names of every container of the pod; the step waits
	// until none of them runs (the procedure's `grep etcd | grep -v operator`,
	// without matching operators, guards or other pods).
	Containers []string
	MoveStep   string // "4.1"
	WaitStep   string // "4.2"
	// Namespace is the pod's namespace: when set, the wait matches its containers by
	// exact name within it (crictl's io.kubernetes.pod.namespace label), so that
	// neither an operator's container nor a guard pod's is ever taken for them.
	Namespace string
}

// scriptPrefix is the step number a host script's name starts with, so that
// `ls hosts/<node>/` lists a host's scripts in running order: the first number the
// step cites, two digits, with its lettered sub-step ("5-7" -> "05", "4.k" -> "04.k",
// which sorts after "04-"; "SNO 2" -> "02"); "" when the number has no digits.
func scriptPrefix(number string) string {
	m := scriptNumber.FindStringSubmatch(number)
	if m == nil {
		return ""
	}
	n, _ := strconv.Atoi(m[1])
	return fmt.Sprintf("%02d%s", n, m[2])
}

var scriptNumber = regexp.MustCompile(`(\d+)((?:\.[a-z]+)?)`)

// orchestratedKinds are the host kinds whose hosts are chosen or paced at run time by
// the coordinator: its function step_<kind> goes over the step's hosts (STEP_HOSTS)
// itself, looks at the cluster before, between and after them, and runs the host
// script on one host with the generic run_host_on K I.
var orchestratedKinds = map[string]bool{"repair-node": true, "ovn-node": true, "reboot-node": true}

// Orchestrated reports whether the step is a host step that the coordinator function
// step_<kind> drives (its hosts decided at run time, or waited for between hosts),
// instead of the generic run over its hosts as How says.
func (s Step) Orchestrated() bool { return s.Where.OnHosts() && orchestratedKinds[s.Kind] }

// RecordsRevision reports whether the coordinator reads the latestAvailableRevision of
// the step's Resource before the step: a redeployment forced on a host, whose wait
// (wait-rollout) runs from the workstation afterwards.
func (s Step) RecordsRevision() bool { return s.Where == OnRecoveryHostOC && s.Resource != "" }

// Template is the template of a host step's script ("" for a workstation step).
func (s Step) Template() string {
	if s.Where.OnHosts() {
		return "hosts/" + s.Kind + ".sh.tmpl"
	}
	return "" // a workstation kind is a coordinator function (Function), not a template
}

// ScriptSteps is what a host script's header says it performs.
func (s Step) ScriptSteps() string {
	if s.HostSteps != "" {
		return s.HostSteps
	}
	return s.Number
}

// KitPage is where a kit carries the profile's procedure page, and how its files cite
// it: air-gapped sites have nothing else to read it in.
func (p *Profile) KitPage() string { return "procedure/" + p.Page }

// PodNames is "etcd, kube-apiserver": the static pods a stop-static-pods step stops.
func (s Step) PodNames() string {
	var names []string
	for _, p := range s.StaticPods {
		names = append(names, p.Container)
	}
	return joinAnd(names)
}

func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// Profiles are every procedure restorekit knows, oldest first.
var Profiles = []*Profile{&profile45, &profile416, &profile418}

// ProfileFor picks the profile for an OpenShift x.y.z version, or says which
// releases are supported.
func ProfileFor(version string) (*Profile, error) {
	if p := profileForMinor(version); p != nil {
		if !p.Offered {
			return nil, fmt.Errorf("cluster.version %q: profile %s (%s) is not offered yet: its step kinds are not all implemented (supported: %s)", version, p.Name, p.Releases(), SupportedVersions())
		}
		return p, nil
	}
	return nil, fmt.Errorf("cluster.version %q: no procedure profile for this release%s (supported: %s)", version, noProfileWhy(version), SupportedVersions())
}

// noProfileWhy says why a release has no profile: newer than the newest, or another
// major release, whose procedure restorekit has not been checked against.
func noProfileWhy(version string) string {
	parts := strings.Split(version, ".")
	if len(parts) != 3 {
		return ""
	}
	if parts[0] != "4" {
		return ": OpenShift " + parts[0] + ".x is a release no profile follows (its restore procedure is not checked)"
	}
	newest := 0
	for _, p := range Profiles {
		newest = max(newest, p.Minors[len(p.Minors)-1])
	}
	if minor, err := strconv.Atoi(parts[1]); err == nil && minor > newest {
		return fmt.Sprintf(": 4.%d is newer than the newest profile (4.%d); its restore procedure is not checked", minor, newest)
	}
	return ""
}

// releaseMinor is y of a 4.y.z version, or -1.
func releaseMinor(version string) int {
	parts := strings.Split(version, ".")
	if len(parts) != 3 || parts[0] != "4" {
		return -1
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return -1
	}
	return minor
}

func profileForMinor(version string) *Profile {
	minor := releaseMinor(version)
	if minor < 0 {
		return nil
	}
	for _, p := range Profiles {
		for _, m := range p.Minors {
			if m == minor {
				return p
			}
		}
	}
	return nil
}

// Releases describes the releases a profile covers: "4.5.x", "4.18.x to 4.22.x".
func (p *Profile) Releases() string {
	first, last := p.Minors[0], p.Minors[len(p.Minors)-1]
	if first == last {
		return fmt.Sprintf("4.%d.x", first)
	}
	return fmt.Sprintf("4.%d.x to 4.%d.x", first, last)
}

// SupportedVersions describes the releases that have an offered profile, e.g. "4.5.x".
func SupportedVersions() string {
	var vs []string
	for _, p := range Profiles {
		if p.Offered {
			vs = append(vs, p.Releases())
		}
	}
	return strings.Join(vs, ", ")
}
