// Package inventory owns the description of a cluster that a recovery kit is built
// from: its YAML schema, defaults, and the validation that reports every problem at once.
package inventory

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// APIVersion and Kind form the header every inventory file starts with.
const (
	APIVersion = "restorekit.io/v1alpha1"
	Kind       = "RecoveryInventory"
)

// Inventory is one cluster's control plane and the backup to restore onto it.
// After Load it is validated and every default is filled in.
type Inventory struct {
	APIVersion   string   `yaml:"apiVersion"`
	Kind         string   `yaml:"kind"`
	Cluster      Cluster  `yaml:"cluster"`
	Backup       Backup   `yaml:"backup"`
	RecoveryHost string   `yaml:"recoveryHost"`
	Masters      []Master `yaml:"masters"`
	// Workers are the nodes that are not control-plane hosts. nil means "not listed";
	// an empty list (workers: []) says the cluster has none (a compact cluster).
	Workers       Workers  `yaml:"workers,omitempty"`
	SSH           SSH      `yaml:"ssh,omitempty"`
	Proxy         *Proxy   `yaml:"proxy,omitempty"`
	Timeouts      Timeouts `yaml:"timeouts,omitempty"`
	QuarantineDir string   `yaml:"quarantineDir,omitempty"`

	// Path is the file the inventory was read from (not part of the YAML).
	Path string `yaml:"-"`
	// written knows where each field was written in the file, for later stages'
	// problems (ProblemAt); nil for an inventory not read by Parse.
	written *decoder
}

// ProblemAt is a problem with the inventory found by a later stage (the procedure
// profile's rules), pointing at where field was written, or at the nearest enclosing
// field that was.
func (inv *Inventory) ProblemAt(field string, warning bool, format string, args ...any) Problem {
	p := Problem{File: inv.Path, Line: 1, Col: 1, Field: field, Message: fmt.Sprintf(format, args...), Warning: warning}
	if inv.written != nil {
		if n := inv.written.pos(field); n != nil && n.Line > 0 {
			p.Line, p.Col = n.Line, n.Column
		}
	}
	if p.File == "" {
		p.File = "inventory"
	}
	return p
}

// Cluster names the cluster and the release the backup was taken on.
type Cluster struct {
	// Name is a DNS-1123 label; it names the kit.
	Name string `yaml:"name"`
	// Version is the full x.y.z OpenShift release: a restore needs the same z-stream.
	Version string `yaml:"version"`
	// NetworkType is the cluster network plugin (oc get network.config cluster):
	// OVNKubernetes or OpenShiftSDN; procedures with network steps need it.
	NetworkType string `yaml:"networkType,omitempty"`
	// APIVIPs and IngressVIPs are the virtual IPs keepalived moves between the nodes of
	// an on-premise installer-provisioned cluster, as the infrastructure's
	// status.platformStatus.<platform>.apiServerInternalIPs and ingressIPs list them (at
	// most one IPv4 and one IPv6 address each). nil means "not listed"; an empty list
	// (apiVIPs: []) says the cluster has no keepalived.
	APIVIPs     IPs `yaml:"apiVIPs,omitempty"`
	IngressVIPs IPs `yaml:"ingressVIPs,omitempty"`
	// Topology is the control plane's topology as the Infrastructure object reports it
	// (oc get infrastructure cluster -o jsonpath='{.status.controlPlaneTopology}'):
	// empty means what the masters show (HighlyAvailable, or SingleReplica for one).
	// It is recorded so that topologies no procedure profile covers are refused by name.
	Topology string `yaml:"topology,omitempty"`
}

// Control-plane topologies (config.openshift.io/v1 Infrastructure
// status.controlPlaneTopology).
const (
	TopologyHighlyAvailable        = "HighlyAvailable"
	TopologySingleReplica          = "SingleReplica"
	TopologyDualReplica            = "DualReplica"            // two-node OpenShift with fencing
	TopologyHighlyAvailableArbiter = "HighlyAvailableArbiter" // two nodes plus an arbiter
	TopologyExternal               = "External"               // hosted control planes
)

// Topologies are every topology cluster.topology accepts.
var Topologies = []string{TopologyHighlyAvailable, TopologySingleReplica, TopologyDualReplica, TopologyHighlyAvailableArbiter, TopologyExternal}

// IPs is a list of IP addresses whose empty value, written as [], is kept apart from
// one not written at all: the normalized inventory says "none" as the file did.
type IPs []string

// IsZero makes omitempty leave out only a list that was never written.
func (l IPs) IsZero() bool { return l == nil }

// Workers are the worker nodes; like IPs, [] is kept apart from "not listed".
type Workers []Master

// IsZero makes omitempty leave out only a list that was never written.
func (w Workers) IsZero() bool { return w == nil }

// Keepalived reports whether the inventory names VIPs, which keepalived holds.
func (c Cluster) Keepalived() bool { return len(c.APIVIPs) > 0 }

// VIPs are the API VIPs, then the ingress VIPs.
func (c Cluster) VIPs() []string { return append(append([]string{}, c.APIVIPs...), c.IngressVIPs...) }

// Network types a cluster can have.
const (
	NetworkOVNKubernetes = "OVNKubernetes"
	NetworkOpenShiftSDN  = "OpenShiftSDN"
)

// Backup says where the etcd backup pair is, locally and on the recovery host.
type Backup struct {
	// LocalDir, when set, is a directory on the machine running restorekit holding
	// exactly one backup pair; relative paths are relative to the inventory file.
	LocalDir string `yaml:"localDir,omitempty"`
	// Snapshot is snapshot_<ts>.db; StaticResources is static_kuberesources_<ts>.tar.gz.
	Snapshot        string `yaml:"snapshot,omitempty"`
	StaticResources string `yaml:"staticResources,omitempty"`
	// RemoteDir is where the pair lives on the recovery host (procedure step 3).
	RemoteDir string `yaml:"remoteDir,omitempty"`
	// AllowPossiblyDirty accepts a backup whose names carry __POSSIBLY_DIRTY__.
	AllowPossiblyDirty bool `yaml:"allowPossiblyDirty,omitempty"`

	// Files records each file of the pair: Load fills it from LocalDir (and, when the
	// inventory already records files, refuses a LocalDir whose files differ). A kit's
	// normalized inventory carries it so the kit can be re-rendered without the backup.
	Files []BackupFile `yaml:"files,omitempty"`
	// SnapshotRelease is the release the snapshot itself says it was taken on: Load
	// reads it from the snapshot in LocalDir (with LoadOptions.ReadBackup), and a kit's
	// normalized inventory records it, so that kit.json and the scripts can rely on it.
	SnapshotRelease *SnapshotRelease `yaml:"snapshotRelease,omitempty"`
}

// SnapshotRelease is the newest entry of the ClusterVersion history stored in the
// snapshot, and where in the snapshot it was read.
type SnapshotRelease struct {
	Version string `yaml:"version"` // x.y.z
	State   string `yaml:"state"`   // Completed once the update to Version finished
	// CompletionTime is when the update to Version completed (RFC 3339).
	CompletionTime string `yaml:"completionTime,omitempty"`
	// Revision is the snapshot's etcd revision; NewestObjectTime the newest time stamp
	// in the objects read (ClusterVersion, Nodes), which bounds when it was taken.
	Revision         int64  `yaml:"revision"`
	NewestObjectTime string `yaml:"newestObjectTime,omitempty"`
}

// Completed is the ClusterVersion history state of an update that finished.
const Completed = "Completed"

// BackupFile is one file of the backup pair with the size and digest it must have.
type BackupFile struct {
	Name   string `yaml:"name"`   // base name, e.g. snapshot_2020-08-04_184021.db
	Size   int64  `yaml:"size"`   // bytes
	SHA256 string `yaml:"sha256"` // lowercase hex
	// Path is where the file is on this machine (under LocalDir); empty when not scanned.
	Path string `yaml:"-"`
}

// Master is one host of the cluster: a control-plane host in masters, a worker in
// workers.
type Master struct {
	// Name is the Kubernetes node name (DNS-1123 subdomain).
	Name string `yaml:"name"`
	// Address is the IP or DNS name ssh connects to.
	Address string `yaml:"address"`
	// Hostname is what `hostname` prints on the host, when it differs from Name.
	Hostname string `yaml:"hostname,omitempty"`
	// SSH overrides the inventory-wide ssh settings for this host.
	SSH *SSH `yaml:"ssh,omitempty"`
}

// SSH holds how the coordinator reaches hosts. Zero values mean "inherit/default".
type SSH struct {
	User                  string   `yaml:"user,omitempty"`
	Port                  int      `yaml:"port,omitempty"`
	IdentityFile          string   `yaml:"identityFile,omitempty"`
	JumpHost              string   `yaml:"jumpHost,omitempty"` // [user@]host[:port]
	KnownHostsFile        string   `yaml:"knownHostsFile,omitempty"`
	StrictHostKeyChecking string   `yaml:"strictHostKeyChecking,omitempty"` // yes, accept-new, no
	ConnectTimeout        Duration `yaml:"connectTimeout,omitempty"`
}

// Proxy is the cluster-wide proxy, as `oc get proxy cluster` reports it.
type Proxy struct {
	HTTPProxy  string `yaml:"httpProxy,omitempty"`
	HTTPSProxy string `yaml:"httpsProxy,omitempty"`
	NoProxy    string `yaml:"noProxy,omitempty"`
}

// Timeouts bound every wait in the generated scripts.
type Timeouts struct {
	StaticPodStop                Duration `yaml:"staticPodStop,omitempty"`
	Restore                      Duration `yaml:"restore,omitempty"`
	KubeletRestart               Duration `yaml:"kubeletRestart,omitempty"`
	SingleMember                 Duration `yaml:"singleMember,omitempty"`
	EtcdRollout                  Duration `yaml:"etcdRollout,omitempty"`
	KubeAPIServerRollout         Duration `yaml:"kubeAPIServerRollout,omitempty"`
	KubeControllerManagerRollout Duration `yaml:"kubeControllerManagerRollout,omitempty"`
	KubeSchedulerRollout         Duration `yaml:"kubeSchedulerRollout,omitempty"`
	// StableCluster bounds the wait for every cluster operator to settle after the
	// restore (oc adm wait-for-stable-cluster --timeout), MinimumStablePeriod is how long
	// they must stay settled (--minimum-stable-period).
	StableCluster       Duration `yaml:"stableCluster,omitempty"`
	MinimumStablePeriod Duration `yaml:"minimumStablePeriod,omitempty"`
	PollInterval        Duration `yaml:"pollInterval,omitempty"`
}

// Field is the timeout of the YAML field name under timeouts ("etcdRollout").
func (t Timeouts) Field(name string) (Duration, bool) {
	v := reflect.ValueOf(t)
	for i := 0; i < v.NumField(); i++ {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if tag == name {
			return v.Field(i).Interface().(Duration), true
		}
	}
	return 0, false
}

// Duration is a time.Duration written in YAML as a Go duration string ("10m").
type Duration time.Duration

// Seconds is the duration in whole seconds, rounded up, as the scripts use it.
func (d Duration) Seconds() int64 {
	s := time.Duration(d) / time.Second
	if time.Duration(d)%time.Second != 0 {
		s++
	}
	return int64(s)
}

// String prints the duration the way a person writes it in YAML: 10m, 1h30m, 90s
// (not 10m0s).
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// UnmarshalYAML reads a Go duration string ("10m"), so a normalized inventory reads
// back with plain yaml.Unmarshal. Load does not go through it: it decodes durations
// itself to report every problem with its position.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration such as 10m", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (a Go duration such as 90s, 10m or 1h30m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Defaults applied by Load to fields left empty.
const (
	DefaultSSHUser               = "core"
	DefaultSSHPort               = 22
	DefaultStrictHostKeyChecking = "yes"
	DefaultConnectTimeout        = Duration(10 * time.Second)
	DefaultRemoteDir             = "/home/core/backup"
	// DefaultQuarantineDir is on the filesystem of /var/lib/etcd: moving the data there
	// is a rename (no copy, no extra space), and it survives a reboot (RHCOS mounts /tmp
	// as tmpfs).
	DefaultQuarantineDir = "/var/lib/restorekit"
)

// DefaultTimeouts are the waits used when the inventory does not set them.
var DefaultTimeouts = Timeouts{
	StaticPodStop:                Duration(10 * time.Minute),
	Restore:                      Duration(20 * time.Minute),
	KubeletRestart:               Duration(5 * time.Minute),
	SingleMember:                 Duration(20 * time.Minute),
	EtcdRollout:                  Duration(60 * time.Minute),
	KubeAPIServerRollout:         Duration(60 * time.Minute),
	KubeControllerManagerRollout: Duration(30 * time.Minute),
	KubeSchedulerRollout:         Duration(30 * time.Minute),
	StableCluster:                Duration(30 * time.Minute),
	MinimumStablePeriod:          Duration(5 * time.Minute),
	PollInterval:                 Duration(10 * time.Second),
}

// Recovery returns the recovery host.
func (inv *Inventory) Recovery() Master {
	for _, m := range inv.Masters {
		if m.Name == inv.RecoveryHost {
			return m
		}
	}
	return Master{}
}

// Others returns the masters that are not the recovery host, in inventory order.
func (inv *Inventory) Others() []Master {
	var out []Master
	for _, m := range inv.Masters {
		if m.Name != inv.RecoveryHost {
			out = append(out, m)
		}
	}
	return out
}

// Nodes are every host of the cluster: the recovery host, the other masters in
// inventory order, then the workers in inventory order (the order the procedure goes
// over the nodes in steps 14 and 24).
func (inv *Inventory) Nodes() []Master {
	out := append([]Master{inv.Recovery()}, inv.Others()...)
	return append(out, inv.Workers...)
}

// IsWorker reports whether name is one of the workers.
func (inv *Inventory) IsWorker(name string) bool {
	for _, w := range inv.Workers {
		if w.Name == name {
			return true
		}
	}
	return false
}

// ExpectedHostname is what `hostname` must print on the host.
func (m Master) ExpectedHostname() string {
	if m.Hostname != "" {
		return m.Hostname
	}
	return m.Name
}

// EffectiveSSH merges the host's overrides over the inventory-wide settings.
// After Load the inventory-wide settings carry every default.
func (inv *Inventory) EffectiveSSH(m Master) SSH {
	s := inv.SSH
	if o := m.SSH; o != nil {
		if o.User != "" {
			s.User = o.User
		}
		if o.Port != 0 {
			s.Port = o.Port
		}
		if o.IdentityFile != "" {
			s.IdentityFile = o.IdentityFile
		}
		if o.JumpHost != "" {
			s.JumpHost = o.JumpHost
		}
		if o.KnownHostsFile != "" {
			s.KnownHostsFile = o.KnownHostsFile
		}
		if o.StrictHostKeyChecking != "" {
			s.StrictHostKeyChecking = o.StrictHostKeyChecking
		}
		if o.ConnectTimeout != 0 {
			s.ConnectTimeout = o.ConnectTimeout
		}
	}
	return s
}
