package render

import (
	"fmt"
	"strconv"
	"strings"
)

// Profile is the procedure for a range of OpenShift minor versions: which steps exist,
// which script performs each, and which operators are redeployed. Templates read the
// profile rather than hard-coding the procedure, so another minor's procedure is a new
// Profile value, not a fork of the templates.
type Profile struct {
	// Name identifies the profile in kit.json ("ocp-4.5").
	Name string
	// Minors are the OpenShift 4.y minors this profile covers.
	Minors []int
	// Source cites the procedure text the profile follows.
	Source string
	// HostScripts are the per-host scripts, in the order they run.
	HostScripts []HostScript
	// Operators are redeployed in this order after the restore (steps 10-12).
	Operators []Operator
	// StaticPods are the manifests moved out on each non-recovery host (step 4), in order.
	StaticPods []StaticPod
	// DataDirStep moves the etcd data directory out on each non-recovery host ("4.5").
	DataDirStep string
	// RunningCheckStep checks on the recovery host that etcd runs after the kubelet
	// restart ("9.1"); RunningContainer is the container it looks for.
	RunningCheckStep string
	RunningContainer string
}

// Role says which hosts get a host script.
type Role string

const (
	RoleRecovery Role = "recovery" // the recovery host only
	RoleOthers   Role = "others"   // every master but the recovery host
	RoleAll      Role = "all"      // every master
)

// HostScript is one script rendered for each host of its role.
type HostScript struct {
	Name     string // file name under hosts/<node>/
	Template string // template path in the templates FS
	Role     Role
	Steps    string // the procedure steps it performs, as cited in headers ("4", "3, 6, 7")
	// Again says what --again redoes; "" when the script has no --again (running it
	// again is always safe).
	Again string
}

// Operator is one control-plane operator whose rollout is forced (steps 10-12).
type Operator struct {
	Resource string // the oc resource, e.g. "kubeapiserver"
	Step     string // procedure step, e.g. "12.1"
	// TimeoutField names the inventory timeout that bounds its rollout.
	TimeoutField string
}

// StaticPod is a static pod whose manifest is moved out of /etc/kubernetes/manifests.
type StaticPod struct {
	Manifest  string // file name, e.g. "etcd-pod.yaml"
	Container string // exact container name crictl reports, e.g. "etcd"
	// Containers are the exact names of every container of the pod; step 4 waits
	// until none of them runs (the procedure's `grep etcd | grep -v operator`,
	// without matching operators or other pods).
	Containers []string
	MoveStep   string // "4.1"
	WaitStep   string // "4.2"
}

// Profiles are every procedure restorekit knows, oldest first.
var Profiles = []Profile{profile45}

var profile45 = Profile{
	Name:   "ocp-4.5",
	Minors: []int{5},
	Source: "OpenShift Container Platform 4.5, Backup and restore, 5.3 Restoring to a previous cluster state",
	HostScripts: []HostScript{
		{Name: "stop-static-pods.sh", Template: "hosts/stop-static-pods.sh.tmpl", Role: RoleOthers, Steps: "4",
			Again: "stop this host's static pods and move its etcd data again, although an earlier run completed step 4 here"},
		{Name: "restore.sh", Template: "hosts/restore.sh.tmpl", Role: RoleRecovery, Steps: "3 (check), 6, 7",
			Again: "restore the snapshot again, although an earlier run completed the restore here"},
		{Name: "restart-kubelet.sh", Template: "hosts/restart-kubelet.sh.tmpl", Role: RoleAll, Steps: "8 (and 9.1 on the recovery host)"},
	},
	Operators: []Operator{
		{Resource: "etcd", Step: "10-11", TimeoutField: "etcdRollout"},
		{Resource: "kubeapiserver", Step: "12.1", TimeoutField: "kubeAPIServerRollout"},
		{Resource: "kubecontrollermanager", Step: "12.2", TimeoutField: "kubeControllerManagerRollout"},
		{Resource: "kubescheduler", Step: "12.3", TimeoutField: "kubeSchedulerRollout"},
	},
	StaticPods: []StaticPod{
		{Manifest: "etcd-pod.yaml", Container: "etcd", MoveStep: "4.1", WaitStep: "4.2",
			Containers: []string{"etcd", "etcdctl", "etcd-metrics"}},
		{Manifest: "kube-apiserver-pod.yaml", Container: "kube-apiserver", MoveStep: "4.3", WaitStep: "4.4",
			Containers: []string{"kube-apiserver", "kube-apiserver-cert-syncer", "kube-apiserver-cert-regeneration-controller",
				"kube-apiserver-insecure-readyz", "kube-apiserver-check-endpoints"}},
	},
	DataDirStep:      "4.5",
	RunningCheckStep: "9.1",
	RunningContainer: "etcd",
}

// ProfileFor picks the profile for an OpenShift x.y.z version, or says which
// versions are supported.
func ProfileFor(version string) (*Profile, error) {
	parts := strings.Split(version, ".")
	if len(parts) == 3 && parts[0] == "4" {
		if minor, err := strconv.Atoi(parts[1]); err == nil {
			for i := range Profiles {
				for _, m := range Profiles[i].Minors {
					if m == minor {
						return &Profiles[i], nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("cluster.version %q: no procedure profile for this release (supported: %s)", version, SupportedVersions())
}

// SupportedVersions describes the releases that have a profile, e.g. "4.5.x".
func SupportedVersions() string {
	var vs []string
	for _, p := range Profiles {
		for _, m := range p.Minors {
			vs = append(vs, fmt.Sprintf("4.%d.x", m))
		}
	}
	return strings.Join(vs, ", ")
}
