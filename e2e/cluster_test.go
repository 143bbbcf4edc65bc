package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Paths inside a simulated host (its view after the bind mounts).
const (
	simStateDir  = "var/lib/restorekit-sim" // relative to a host root
	manifestsDir = "etc/kubernetes/manifests"
	etcdDataDir  = "var/lib/etcd"
	etcdBackup   = "var/lib/etcd-backup"
	stoppedDir   = "home/core/assets/manifests-stopped" // where cluster-restore.sh puts manifests
	coreHome     = "home/core"
)

// boundDirs are bind-mounted per host over the real directories (see testdata/ns-init.sh).
var boundDirs = []string{"etc/kubernetes", "var/lib", "home", "tmp", "usr/local/bin", "usr/local/sbin"}

// staticPods are the four control-plane static pods with the revision each runs at the start.
var staticPods = []struct {
	Pod      string
	Operator string
	Revision int
}{
	{"etcd", "etcd", 3},
	{"kube-apiserver", "kubeapiserver", 7},
	{"kube-controller-manager", "kubecontrollermanager", 5},
	{"kube-scheduler", "kubescheduler", 6},
}

// Timing is how fast the simulated cluster reacts. Zero means at once.
type Timing struct {
	StopDelay       time.Duration // a static pod stops this long after its manifest left
	StartDelay      time.Duration // a static pod runs this long after the kubelet picked it up
	KubeletActivate time.Duration // kubelet.service is "activating" this long after a restart
	APIEOF          time.Duration // oc sees "Unable to connect to the server: EOF" this long after the recovery host's kubelet restart
	RevisionDelay   time.Duration // an operator creates the new revision this long after a patch (4.18+: or after the API came back from a restore)
	NodeDelay       time.Duration // each node reaches the new revision this much after the previous one
	// Settle (4.18+) is how long each cluster operator the restore upset takes to
	// become stable again, one after the other, once every etcd member is back.
	Settle time.Duration
}

// FastTiming is the timing the scenarios use: short, but every wait is exercised.
var FastTiming = Timing{
	StopDelay:       1500 * time.Millisecond,
	StartDelay:      500 * time.Millisecond,
	KubeletActivate: 500 * time.Millisecond,
	APIEOF:          2 * time.Second,
	RevisionDelay:   1 * time.Second,
	NodeDelay:       700 * time.Millisecond,
	Settle:          300 * time.Millisecond,
}

// ClusterConfig describes a simulated cluster.
type ClusterConfig struct {
	Name    string // cluster name (default "sim")
	Masters int    // number of masters (default 3; 1 is single-node OpenShift, 4.18+)
	// Version is the release the cluster reports (default "4.5.2"). It also selects
	// the model: before 4.18 the 4.5 hosts and API; 4.18.0 and later the 4.18+ hosts
	// (disable-etcd.sh, the 4.18+ cluster-restore.sh, a kubelet that picks up
	// manifests by itself, guard pods) and API (the etcd operator's own post-restore
	// revision, cluster operators, the quorum guard, wait-for-stable-cluster).
	Version string
	Proxy   *SimProxy
	// AutomatedBackup (4.18 to 4.20): the AutomatedEtcdBackup feature gate is on, so
	// the etcd pod also runs the etcd-backup-server container.
	AutomatedBackup bool
	// OCClientVersion is what the workstation's oc reports as its client version
	// (default: 4.5.2 for 4.5 clusters, the cluster's version from 4.16). Before 4.10
	// it lacks `oc adm wait-for-stable-cluster`.
	OCClientVersion string
	// Topology is the Infrastructure's status.controlPlaneTopology (default
	// HighlyAvailable, SingleReplica with one master); set DualReplica,
	// HighlyAvailableArbiter or External to test refusals.
	Topology string
	JumpHost bool // reach the masters only through a further sshd
	// TmpfsTmp mounts a tmpfs over /tmp in each master's namespace (as RHCOS does)
	// instead of the host directory's tmp/.
	TmpfsTmp bool
	// ShortHostnames gives masters node names like master-0.sim.example.test whose
	// `hostname` is master-0 (the inventory then needs masters[].hostname).
	ShortHostnames bool
	Timing         Timing
	// V416 is what a 4.16 or 4.17 cluster has beyond the masters (cluster416_test.go).
	V416 Sim416Config
}

// SimProxy is the cluster-wide proxy the simulated API reports.
type SimProxy struct {
	HTTPProxy  string `json:"httpProxy"`
	HTTPSProxy string `json:"httpsProxy"`
	NoProxy    string `json:"noProxy"`
}

// Host is one simulated master (or the jump host).
type Host struct {
	Name     string // node name
	Hostname string // what `hostname` prints inside its namespace
	Addr     string // loopback address sshd listens on
	Port     int
	Dir      string // everything about the host
	Root     string // Dir/root: the directories bind-mounted over the real paths
	State    string // the fakes' state (Root/var/lib/restorekit-sim)
	SSHDLog  string

	cmd     *exec.Cmd
	done    chan struct{}
	mntNS   string
	stopped bool
	// Originals maps the sha256 of every file the procedure may move (manifests, etcd
	// data) to its path relative to Root at the start.
	Originals map[string]string
	// PodsAtStart is each static pod's kubelet state at the start (start time,
	// manifest inode, kind): a pod whose state is the same at the end never restarted.
	PodsAtStart map[string]string
}

// Cluster is a running simulated control plane plus the workstation side.
type Cluster struct {
	t         testing.TB
	Config    ClusterConfig
	Dir       string
	Hosts     []*Host
	Workers   []*Host // 4.16 and 4.17 (cluster416_test.go)
	Jump      *Host
	Work      string // workstation directory: keys, known_hosts, oc, kits
	Bin       string // prepended to PATH for the coordinator (holds oc)
	ClientKey string
	KnownHost string
	BackupDir string
	Backup    []BackupFileInfo
	SimFile   string // what the fake oc reads
	OCState   string // the fake oc's state and log
	CoreUID   int
	FakeSudo  bool
	// QuarantineDir is the inventory's quarantineDir of the last kit built.
	QuarantineDir string

	stuckRollouts []string
	neverStable   []string
	closeOnce     sync.Once
}

// BackupFileInfo is one file of the generated backup pair.
type BackupFileInfo struct {
	Name   string
	Size   int64
	SHA256 string
}

var clusterSeq atomic.Int32

// subnet is the second octet of every address of this test process (127.X.Y.Z).
var subnet = 100 + rand.IntN(150)

// requireSim skips the test when the machine cannot run the simulation.
func requireSim(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("e2e: skipped: the simulated cluster needs Linux namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: skipped: must run as root (the simulated masters are sshd processes in their own mount namespaces); run `sudo make e2e`")
	}
	var missing []string
	for _, tool := range []string{"/usr/sbin/sshd", "unshare", "mount", "ssh", "scp", "ssh-keygen", "flock", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("e2e: skipped: missing %s (install openssh-server, openssh-client and util-linux)", strings.Join(missing, ", "))
	}
}

// NewCluster starts a simulated cluster; it is torn down when the test ends.
func NewCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	requireSim(t)
	if cfg.Name == "" {
		cfg.Name = "sim"
	}
	if cfg.Masters == 0 {
		cfg.Masters = 3
	}
	if cfg.Version == "" {
		cfg.Version = "4.5.2"
	}
	if cfg.OCClientVersion == "" {
		cfg.OCClientVersion = "4.5.2"
		if m := releaseMinor(cfg.Version); m >= 16 {
			cfg.OCClientVersion = cfg.Version
		}
	}
	if cfg.Topology == "" {
		cfg.Topology = "HighlyAvailable"
		if cfg.Masters == 1 {
			cfg.Topology = "SingleReplica"
		}
	}
	base := os.Getenv("RESTOREKIT_E2E_DIR")
	if base == "" {
		// Not under /tmp: every simulated host gets its own /tmp.
		base = "/var/tmp"
	}
	dir, err := os.MkdirTemp(base, "restorekit-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, Config: cfg, Dir: dir, Work: filepath.Join(dir, "workstation")}
	t.Cleanup(c.Close)
	if c.Is416() {
		c.defaults416()
	}

	c.Bin = filepath.Join(c.Work, "bin")
	c.OCState = filepath.Join(c.Work, "oc")
	for _, d := range []string{c.Bin, c.OCState, filepath.Join(c.Work, "home")} {
		mustMkdir(t, d, 0o755)
	}
	c.ClientKey = filepath.Join(c.Work, "id_ed25519")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "restorekit-e2e", "-f", c.ClientKey)
	pub := readFile(t, c.ClientKey+".pub")

	c.FakeSudo = os.Getenv("RESTOREKIT_E2E_FAKE_SUDO") != ""
	if _, err := os.Stat("/usr/bin/sudo"); err != nil {
		c.FakeSudo = true
	}
	c.CoreUID = 0
	if !c.FakeSudo {
		c.CoreUID = unusedUID(t)
	}
	c.writeBackup()

	seq := 1 + int(clusterSeq.Add(1)-1)%250 // third octet of this cluster's addresses
	for i := 0; i < cfg.Masters; i++ {
		name := fmt.Sprintf("master-%d.%s.example.test", i, cfg.Name)
		hostname := name
		if cfg.ShortHostnames {
			hostname = fmt.Sprintf("master-%d", i)
		}
		h := c.newHost(name, hostname, fmt.Sprintf("127.%d.%d.%d", subnet, seq, 10+i), pub, true)
		c.Hosts = append(c.Hosts, h)
	}
	if cfg.JumpHost {
		c.Jump = c.newHost("bastion."+cfg.Name+".example.test", "bastion", fmt.Sprintf("127.%d.%d.%d", subnet, seq, 5), pub, false)
	}
	c.writeSimFile()
	c.writeOC()

	var known bytes.Buffer
	all := append([]*Host{}, c.Hosts...)
	if c.Jump != nil {
		all = append(all, c.Jump)
	}
	for _, h := range all {
		key := strings.Fields(readFile(t, filepath.Join(h.Dir, "ssh_host_ed25519_key.pub")))
		fmt.Fprintf(&known, "[%s]:%d %s %s\n", h.Addr, h.Port, key[0], key[1])
	}
	c.KnownHost = filepath.Join(c.Work, "known_hosts")
	writeFile(t, c.KnownHost, known.String(), 0o644)

	var wg sync.WaitGroup
	errs := make([]error, len(all))
	for i, h := range all {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.startSSHD(h) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if c.Is416() {
		c.setUp416(pub)
	}
	return c
}

func unusedUID(t testing.TB) int {
	passwd := readFile(t, "/etc/passwd")
	used := map[string]bool{}
	for _, line := range strings.Split(passwd, "\n") {
		if f := strings.Split(line, ":"); len(f) > 2 && f[0] != "core" {
			used[f[2]] = true
		}
	}
	for uid := 4711; ; uid++ {
		if !used[strconv.Itoa(uid)] {
			return uid
		}
	}
}

// newHost lays out a host's directories, account files, keys and sshd config.
func (c *Cluster) newHost(name, hostname, addr, pubKey string, master bool) *Host {
	t := c.t
	h := &Host{Name: name, Hostname: hostname, Addr: addr, Dir: filepath.Join(c.Dir, hostname), Originals: map[string]string{}, PodsAtStart: map[string]string{}}
	h.Root = filepath.Join(h.Dir, "root")
	h.State = filepath.Join(h.Root, simStateDir)
	h.SSHDLog = filepath.Join(h.Dir, "sshd.log")
	for _, d := range boundDirs {
		mustMkdir(t, filepath.Join(h.Root, d), 0o755)
	}
	if err := os.Chmod(filepath.Join(h.Root, "tmp"), 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, filepath.Join(h.Root, coreHome, ".ssh"), 0o700)
	writeFile(t, filepath.Join(h.Root, coreHome, ".ssh", "authorized_keys"), pubKey, 0o600)
	for _, p := range []string{coreHome, coreHome + "/.ssh", coreHome + "/.ssh/authorized_keys"} {
		if err := os.Chown(filepath.Join(h.Root, p), c.CoreUID, c.CoreUID); err != nil {
			t.Fatal(err)
		}
	}
	c.writeAccounts(h)
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", hostname, "-f", filepath.Join(h.Dir, "ssh_host_ed25519_key"))
	h.Port = freePort(t, addr)
	cfg := fmt.Sprintf(`ListenAddress %s:%d
HostKey %s
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin prohibit-password
AllowUsers core
StrictModes yes
MaxSessions 100
MaxStartups 100:30:200
AllowTcpForwarding yes
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, addr, h.Port, filepath.Join(h.Dir, "ssh_host_ed25519_key"))
	writeFile(t, filepath.Join(h.Dir, "sshd_config"), cfg, 0o600)
	if master {
		c.populateMaster(h)
	}
	return h
}

// writeAccounts writes the host's /etc files bind-mounted over the real ones: the real
// accounts plus `core` (uid 0 when the image has no sudo and the fake one is used),
// /etc/hosts with the host's name, and a sudoers like RHEL CoreOS's.
func (c *Cluster) writeAccounts(h *Host) {
	t := c.t
	etc := filepath.Join(h.Dir, "etc")
	mustMkdir(t, etc, 0o755)
	withCore := func(file, line string, mode os.FileMode) {
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimRight(readFile(t, "/etc/"+file), "\n"), "\n") {
			if !strings.HasPrefix(l, "core:") {
				b.WriteString(l + "\n")
			}
		}
		b.WriteString(line + "\n")
		writeFile(t, filepath.Join(etc, file), b.String(), mode)
	}
	uid := strconv.Itoa(c.CoreUID)
	withCore("passwd", "core:x:"+uid+":"+uid+":CoreOS Admin:/home/core:/bin/bash", 0o644)
	withCore("shadow", "core:*:19000:0:99999:7:::", 0o640)
	if c.CoreUID != 0 {
		withCore("group", "core:x:"+uid+":", 0o644)
	}
	writeFile(t, filepath.Join(etc, "hosts"), fmt.Sprintf("127.0.0.1 localhost\n%s %s %s\n", h.Addr, h.Hostname, h.Name), 0o644)
	if !c.FakeSudo {
		writeFile(t, filepath.Join(etc, "sudoers"), `Defaults env_reset
Defaults secure_path = /usr/local/sbin:/sbin:/bin:/usr/sbin:/usr/bin
Defaults !lecture
root ALL=(ALL) ALL
core ALL=(ALL) NOPASSWD: ALL
`, 0o440)
	}
}

func freePort(t testing.TB, addr string) int {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// populateMaster writes what a master holds before the outage: the four static pod
// manifests (running), etcd data, the etcd scripts cluster-restore.sh sources, the fake
// tools, and the simulated kubelet's state.
func (c *Cluster) populateMaster(h *Host) {
	t := c.t
	fakes := filepath.Join("testdata", "fakes")
	install := func(src, dst string) {
		writeFile(t, filepath.Join(h.Root, dst), readFile(t, filepath.Join(fakes, src)), 0o755)
	}
	if c.Is416() {
		install("cluster-restore-4.16.sh", "usr/local/bin/cluster-restore.sh")
		install("etcdutl", "usr/local/sbin/etcdutl")
	} else if c.Is418() {
		install("cluster-restore-4.18.sh", "usr/local/bin/cluster-restore.sh")
		install("disable-etcd.sh", "usr/local/bin/disable-etcd.sh")
		install("etcdutl", "usr/local/sbin/etcdutl")
	} else {
		install("cluster-restore.sh", "usr/local/bin/cluster-restore.sh")
	}
	for _, f := range []string{"crictl", "systemctl", "mv", "sleep", "sim-lib.bash"} {
		install(f, "usr/local/sbin/"+f)
	}
	if c.FakeSudo {
		install("sudo", "usr/local/bin/sudo")
	}
	// The bash the host scripts run with (sudo bash ...; sudo's secure_path starts with
	// /usr/local/sbin), when RESTOREKIT_E2E_HOST_BASH names one.
	if hb := hostBash(); hb != "" {
		if err := os.Symlink(hb, filepath.Join(h.Root, "usr/local/sbin/bash")); err != nil {
			t.Fatal(err)
		}
	}

	mustMkdir(t, filepath.Join(h.Root, manifestsDir), 0o755)
	for _, p := range staticPods {
		writeFile(t, filepath.Join(h.Root, manifestsDir, p.Pod+"-pod.yaml"), podManifest(p.Pod, h.Name, p.Revision, "original"), 0o644)
		res := filepath.Join(h.Root, "etc/kubernetes/static-pod-resources", fmt.Sprintf("%s-pod-%d", p.Pod, p.Revision))
		writeFile(t, filepath.Join(res, p.Pod+"-pod.yaml"), podManifest(p.Pod, h.Name, p.Revision, "original"), 0o644)
	}
	scripts := filepath.Join(h.Root, "etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts")
	env := fmt.Sprintf("export NODE_%s_ETCD_NAME=%q\nexport NODE_%s_IP=%q\n", envName(h.Name), h.Name, envName(h.Name), h.Addr)
	if c.Is418() || c.Is416() {
		env += "export ETCD_IMAGE=\"quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + sha256Hex([]byte("etcd "+c.Config.Version)) + "\"\n"
	}
	writeFile(t, filepath.Join(scripts, "etcd.env"), env, 0o644)
	if c.Is416() {
		writeFile(t, filepath.Join(scripts, "etcd-common-tools"), readFile(t, filepath.Join(fakes, "etcd-common-tools-4.16")), 0o644)
		writeFile(t, filepath.Join(h.Root, "etc/kubernetes/static-pod-resources/etcd-certs/configmaps/restore-etcd-pod/pod.yaml"),
			restorePodManifest(h.Name), 0o644)
	} else if c.Is418() {
		writeFile(t, filepath.Join(scripts, "etcd-common-tools"), readFile(t, filepath.Join(fakes, "etcd-common-tools")), 0o644)
		writeFile(t, filepath.Join(h.Root, "etc/kubernetes/static-pod-resources/etcd-certs/configmaps/restore-etcd-pod/pod.yaml"),
			restorePodManifest(h.Name), 0o644)
	} else {
		writeFile(t, filepath.Join(scripts, "etcd-common-tools"), `# Paths the cluster-etcd-operator's scripts use (simulated copy).
ASSET_DIR="/home/core/assets"
CONFIG_FILE_DIR="/etc/kubernetes"
MANIFEST_DIR="${CONFIG_FILE_DIR}/manifests"
ETCD_DATA_DIR="/var/lib/etcd"
ETCD_DATA_DIR_BACKUP="/var/lib/etcd-backup"
MANIFEST_STOPPED_DIR="${ASSET_DIR}/manifests-stopped"
`, 0o644)
	}
	member := filepath.Join(h.Root, etcdDataDir, "member")
	writeFile(t, filepath.Join(member, "snap", "db"), strings.Repeat("etcd data of "+h.Name+" before the outage\n", 400), 0o600)
	writeFile(t, filepath.Join(member, "wal", "0000000000000000-0000000000000000.wal"), "wal of "+h.Name+"\n", 0o600)
	writeFile(t, filepath.Join(member, "snap", "0000000000000002-0000000000019a3c.snap"), "raft snapshot of "+h.Name+"\n", 0o600)
	if c.Is418() {
		// Written by the etcd-rev container of 4.18+ etcd pods.
		writeFile(t, filepath.Join(h.Root, etcdDataDir, "revision.json"), fmt.Sprintf(
			`{"clusterId":"%d","raftIndex":{"https://%s:2379":104857},"maxRaftIndex":104857,"created":"2020-08-04T18:40:21Z"}`+"\n",
			uint64(0x5d3e7a1c), h.Addr), 0o644)
	}

	for _, d := range []string{"pods", "gone"} {
		mustMkdir(t, filepath.Join(h.State, d), 0o755)
	}
	writeFile(t, filepath.Join(h.State, "commands.log"), "", 0o666)
	now := time.Now().UnixNano()
	for _, p := range staticPods {
		fi, err := os.Stat(filepath.Join(h.Root, manifestsDir, p.Pod+"-pod.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		state := fmt.Sprintf("%d %d original\n", now-int64(time.Hour), ino)
		writeFile(t, filepath.Join(h.State, "pods", p.Pod), state, 0o644)
		h.PodsAtStart[p.Pod] = state
	}
	c.writeHostConfig(h, "")
	if c.Is416() {
		c.populate416(h, true)
	}

	for _, rel := range []string{manifestsDir, etcdDataDir} {
		for path, sum := range treeSums(t, filepath.Join(h.Root, rel)) {
			h.Originals[sum] = filepath.Join(rel, path)
		}
	}
}

func envName(node string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(node))
}

// podManifest is a small stand-in for a static pod manifest; kind is "original",
// "rollout" (written by an operator's installer) or used by the backup's restore pod.
func podManifest(pod, node string, revision int, kind string) string {
	marker := ""
	if kind == "rollout" {
		marker = "# restorekit-sim: revision-from-rollout\n"
	}
	return fmt.Sprintf(`%sapiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: openshift-%s
  labels:
    app: %s
    revision: "%d"
# %s manifest of %s on %s
`, marker, pod, strings.TrimPrefix(pod, "openshift-"), pod, revision, kind, pod, node)
}

// writeHostConfig writes the fakes' configuration for one host; extra is appended
// (fault injection: SIM_STUCK=etcd, SIM_RESTORE_FAIL=late).
func (c *Cluster) writeHostConfig(h *Host, extra string) {
	tm := c.Config.Timing
	release := fmt.Sprintf("SIM_MINOR=%d\n", c.minor())
	if c.Is416() {
		release += c.hostConfig416(h)
	}
	if c.Is418() {
		release += fmt.Sprintf("SIM_KUBELET_WATCH=1\nSIM_BACKUP_SERVER=%d\nSIM_GUARDS=%d\n", b2i(c.Config.AutomatedBackup), b2i(c.Config.Masters != 1))
	}
	cfg := fmt.Sprintf("SIM_HOST=%s\nSIM_STOP_DELAY_MS=%d\nSIM_START_DELAY_MS=%d\nSIM_KUBELET_ACTIVATE_MS=%d\n%s%s",
		h.Name, tm.StopDelay.Milliseconds(), tm.StartDelay.Milliseconds(), tm.KubeletActivate.Milliseconds(), release, extra)
	writeFile(c.t, filepath.Join(h.State, "config"), cfg, 0o644)
}

// SetFault changes a host's fake configuration, e.g. SetFault(h, "SIM_STUCK=etcd").
func (c *Cluster) SetFault(h *Host, extra string) {
	c.writeHostConfig(h, extra+"\n")
	c.writeSimFile()
}

// writeBackup writes a backup pair shaped like a real 4.5 one: a snapshot and a static
// pod resources tarball holding each static pod's manifest and the restore-etcd pod.
func (c *Cluster) writeBackup() {
	t := c.t
	c.BackupDir = filepath.Join(c.Work, "backup")
	mustMkdir(t, c.BackupDir, 0o755)
	ts := "2020-08-04_184021"
	if c.Is418() || c.Is416() {
		ts = "2025-03-04_101530"
	}
	var snap bytes.Buffer
	for i := 0; snap.Len() < 64<<10; i++ {
		fmt.Fprintf(&snap, "etcd snapshot %s record %06d\n", ts, i)
	}
	if c.Is418() || c.Is416() {
		// What the simulated etcdutl checks (snapshot status).
		fmt.Fprintf(&snap, "%s%s\n", snapshotTrailer, sha256Hex(snap.Bytes()))
	}
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	add := func(name, body string) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1596566421, 0), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add("static-pod-resources/", "")
	for _, p := range staticPods {
		d := fmt.Sprintf("static-pod-resources/%s-pod-%d/", p.Pod, p.Revision)
		add(d, "")
		add(d+p.Pod+"-pod.yaml", podManifest(p.Pod, "the backup's host", p.Revision, "backup"))
	}
	add("static-pod-resources/etcd-pod-3/configmaps/", "")
	add("static-pod-resources/etcd-pod-3/configmaps/restore-etcd-pod/", "")
	add("static-pod-resources/etcd-pod-3/configmaps/restore-etcd-pod/pod.yaml",
		"# restorekit-sim: restore-etcd\napiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: openshift-etcd\n# restore pod for NODE_NAME\n")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"snapshot_" + ts + ".db", snap.Bytes()},
		{"static_kuberesources_" + ts + ".tar.gz", tgz.Bytes()},
	}
	for _, f := range files {
		writeFile(t, filepath.Join(c.BackupDir, f.name), string(f.data), 0o644)
		c.Backup = append(c.Backup, BackupFileInfo{Name: f.name, Size: int64(len(f.data)), SHA256: sha256Hex(f.data)})
	}
}

// simFile is what the fake oc reads to find the hosts and the cluster's behaviour.
type simFile struct {
	Version       string    `json:"version"`
	Proxy         *SimProxy `json:"proxy"`
	Recovery      string    `json:"recovery"`
	Hosts         []simHost `json:"hosts"`
	OCState       string    `json:"ocState"`
	APIEOFMs      int64     `json:"apiEofMs"`
	RevisionMs    int64     `json:"revisionMs"`
	NodeMs        int64     `json:"nodeMs"`
	StopDelayMs   int64     `json:"stopDelayMs"`
	StartDelayMs  int64     `json:"startDelayMs"`
	StuckRollouts []string  `json:"stuckRollouts"` // operators whose last node never moves
	// 4.18+
	Minor           int      `json:"minor"`
	AutomatedBackup bool     `json:"automatedBackup"`
	Topology        string   `json:"topology"`
	OCClient        string   `json:"ocClient"`
	SettleMs        int64    `json:"settleMs"`
	NeverStable     []string `json:"neverStable"` // cluster operators that never settle after the restore
}

type simHost struct {
	Name  string   `json:"name"`
	Addr  string   `json:"addr"`
	Root  string   `json:"root"`
	State string   `json:"state"`
	Stuck []string `json:"stuck"`
}

// Is418 says whether the cluster runs the 4.18+ model (Version 4.18.0 or later).
func (c *Cluster) Is418() bool { return c.minor() >= 18 }

// minor is the model's minor release: 16 or 17 for the 4.16 model, 5 for every
// other release before 4.18.
func (c *Cluster) minor() int {
	if m := releaseMinor(c.Config.Version); m >= 18 || m == 16 || m == 17 {
		return m
	}
	return 5
}

// releaseMinor is the minor of a 4.y.z release (5.x counts as beyond 4.y), or 0.
func releaseMinor(v string) int {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return 0
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0
	}
	if major > 4 {
		return 100
	}
	return minor
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// snapshotTrailer starts the last line of a simulated 4.18+ snapshot.
const snapshotTrailer = "restorekit-sim end of snapshot sha256="

// restorePodManifest is the host's restore-etcd pod (etcd-certs/configmaps/restore-etcd-pod/pod.yaml),
// which the 4.18+ cluster-restore.sh installs as etcd-pod.yaml.
func restorePodManifest(node string) string {
	return "# restorekit-sim: restore-etcd\napiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: openshift-etcd\n  labels:\n    app: etcd\n    k8s-app: etcd\n    etcd: \"true\"\n# restore pod for " + node + "\n"
}

// NeverStable names cluster operators (4.18+) that stay Degraded from the restore on:
// the cluster never becomes stable.
func (c *Cluster) NeverStable(ops ...string) {
	c.neverStable = ops
	c.writeSimFile()
}

// PutInEtcdDir adds an entry to a host's /var/lib/etcd (a directory when name ends
// in "/"), recorded as an original unless it is an etcd_perf* file: on the recovery
// host anything but member/, revision.json and etcd_perf* makes the 4.18+
// cluster-restore.sh stop.
func (c *Cluster) PutInEtcdDir(h *Host, name string) {
	t := c.t
	p := filepath.Join(h.Root, etcdDataDir, name)
	if strings.HasSuffix(name, "/") {
		name = strings.TrimSuffix(name, "/")
		p = filepath.Join(h.Root, etcdDataDir, name, "left-here")
	}
	body := "left in /var/lib/etcd of " + h.Name + ": " + name + "\n"
	writeFile(t, p, body, 0o600)
	if !strings.HasPrefix(name, "etcd_perf") {
		// fio's leftovers the real script deletes; the rest must never be lost.
		rel, _ := filepath.Rel(h.Root, p)
		h.Originals[sha256Hex([]byte(body))] = rel
	}
}

// CorruptSnapshot damages the workstation's backup snapshot (its recorded sha256
// follows): the 4.18+ cluster-restore.sh's integrity check fails on it.
func (c *Cluster) CorruptSnapshot() {
	for i, b := range c.Backup {
		if !strings.HasPrefix(b.Name, "snapshot") {
			continue
		}
		p := filepath.Join(c.BackupDir, b.Name)
		data := []byte(readFile(c.t, p))
		data[len(data)/2] ^= 0x20
		writeFile(c.t, p, string(data), 0o644)
		c.Backup[i].SHA256 = sha256Hex(data)
	}
}

// SetAPIUnreachable makes the API unreachable until the restore: every oc request gets
// the dial error (no route to the API), as when the load balancer has taken every
// kube-apiserver out.
func (c *Cluster) SetAPIUnreachable() {
	writeFile(c.t, filepath.Join(c.OCState, "api-unreachable"), "", 0o644)
}

// RotatedKubeletCerts models kubelet certificates of h that rotated after the backup:
// after the restore its Node is NotReady and its kubelet's client CSR csr-<short name>
// (requested as system:node:<node>) is pending; plus, when other is set, a pending CSR of
// another requester that must be left alone.
func (c *Cluster) RotatedKubeletCerts(h *Host, other string) {
	writeFile(c.t, filepath.Join(c.OCState, "notready-"+h.Name), "", 0o644)
	short, _, _ := strings.Cut(h.Name, ".")
	writeFile(c.t, filepath.Join(c.OCState, "csr-"+short), "system:node:"+h.Name+"\n", 0o644)
	if other != "" {
		writeFile(c.t, filepath.Join(c.OCState, "csr-other"), other+"\n", 0o644)
	}
}

// wsBash and hostBash are the bash the coordinator runs with and the bash the hosts'
// scripts run with (RESTOREKIT_E2E_WS_BASH, RESTOREKIT_E2E_HOST_BASH; see doc.go).
func wsBash() string {
	if b := os.Getenv("RESTOREKIT_E2E_WS_BASH"); b != "" {
		return b
	}
	return "bash"
}

func hostBash() string { return os.Getenv("RESTOREKIT_E2E_HOST_BASH") }

// Recovery is the recovery host: the first master.
func (c *Cluster) Recovery() *Host { return c.Hosts[0] }

// Others are the masters but the recovery host.
func (c *Cluster) Others() []*Host { return c.Hosts[1:] }

// StuckRollouts names operators whose rollout never reaches the latest revision.
func (c *Cluster) StuckRollouts(ops ...string) {
	c.stuckRollouts = ops
	c.writeSimFile()
}

func (c *Cluster) writeSimFile() {
	tm := c.Config.Timing
	sf := simFile{
		Version: c.Config.Version, Proxy: c.Config.Proxy, Recovery: c.Recovery().Name, OCState: c.OCState,
		APIEOFMs: tm.APIEOF.Milliseconds(), RevisionMs: tm.RevisionDelay.Milliseconds(), NodeMs: tm.NodeDelay.Milliseconds(),
		StopDelayMs: tm.StopDelay.Milliseconds(), StartDelayMs: tm.StartDelay.Milliseconds(), StuckRollouts: c.stuckRollouts,
		Minor: c.minor(), AutomatedBackup: c.Config.AutomatedBackup, Topology: c.Config.Topology, OCClient: c.Config.OCClientVersion,
		SettleMs: tm.Settle.Milliseconds(), NeverStable: c.neverStable,
	}
	for _, h := range c.Hosts {
		sh := simHost{Name: h.Name, Addr: h.Addr, Root: h.Root, State: h.State}
		cfg, _ := os.ReadFile(filepath.Join(h.State, "config"))
		for _, line := range strings.Split(string(cfg), "\n") {
			if v, ok := strings.CutPrefix(line, "SIM_STUCK="); ok {
				sh.Stuck = strings.Fields(strings.Trim(v, `"'`))
			}
		}
		sf.Hosts = append(sf.Hosts, sh)
	}
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		c.t.Fatal(err)
	}
	c.SimFile = filepath.Join(c.Work, "sim.json")
	writeFile(c.t, c.SimFile, string(b), 0o644)
}

// writeOC installs the fake oc: this test binary, told by the environment to act as oc.
func (c *Cluster) writeOC() {
	exe, err := os.Executable()
	if err != nil {
		c.t.Fatal(err)
	}
	script := fmt.Sprintf("#!/usr/bin/env bash\n# Simulated oc: the e2e test binary acting as oc against the simulated cluster.\nRESTOREKIT_SIM_OC=%s exec %s \"$@\"\n",
		shellQuote(c.SimFile), shellQuote(exe))
	writeFile(c.t, filepath.Join(c.Bin, "oc"), script, 0o755)
	// A recording sleep for the coordinator: its waits, as the hosts' sleep shim records theirs.
	sleep := fmt.Sprintf("#!/usr/bin/env bash\n# Recording shim: logs the wait, then runs the real sleep.\nprintf '%%s\\tworkstation\\tsleep\\t%%s\\n' \"$(date -u +%%Y-%%m-%%dT%%H:%%M:%%S.%%NZ)\" \"$*\" >>%s\nexec /usr/bin/sleep \"$@\"\n",
		shellQuote(filepath.Join(c.OCState, "commands.log")))
	writeFile(c.t, filepath.Join(c.Bin, "sleep"), sleep, 0o755)
	writeFile(c.t, filepath.Join(c.Work, "kubeconfig"), "apiVersion: v1\nkind: Config\n# simulated: the installer's certificate-based auth/kubeconfig\n", 0o600)
}

// startSSHD starts the host's sshd in its own mount and UTS namespace.
func (c *Cluster) startSSHD(h *Host) error {
	nsInit, err := filepath.Abs(filepath.Join("testdata", "ns-init.sh"))
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(h.SSHDLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("unshare", "--mount", "--uts", "--propagation", "private",
		"bash", nsInit, h.Root, h.Hostname, filepath.Join(h.Dir, "etc"),
		"/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(h.Dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if c.Config.TmpfsTmp && h != c.Jump {
		cmd.Env = append(cmd.Env, "SIM_TMPFS_TMP=1")
	}
	if oc := filepath.Join(h.Dir, "oc"); fileExists(oc) {
		cmd.Env = append(cmd.Env, "SIM_HOST_OC="+oc)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start sshd: %w", h.Hostname, err)
	}
	h.cmd, h.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(h.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-h.done:
			return fmt.Errorf("%s: sshd exited at start:\n%s", h.Hostname, readFileOr(h.SSHDLog))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: sshd not listening on %s:%d after 15s:\n%s", h.Hostname, h.Addr, h.Port, readFileOr(h.SSHDLog))
		}
		time.Sleep(20 * time.Millisecond)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid))
	if err != nil {
		return err
	}
	self, _ := os.Readlink("/proc/self/ns/mnt")
	if ns == self {
		return fmt.Errorf("%s: sshd is not in a mount namespace of its own", h.Hostname)
	}
	h.mntNS = ns
	return nil
}

// StopSSHD makes a host unreachable (its sshd and sessions end).
func (c *Cluster) StopSSHD(h *Host) {
	killNamespace(h)
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
			<-h.done
		}
	}
	h.stopped = true
}

// killNamespace ends every process of the host's mount namespace but sshd itself:
// the sessions and whatever the scripts left running.
func killNamespace(h *Host) {
	if h.mntNS == "" || h.stopped {
		return
	}
	for _, pid := range pids() {
		if h.cmd != nil && pid == h.cmd.Process.Pid {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && ns == h.mntNS {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Processes lists the processes of the host (its mount namespace) whose command line
// contains match.
func (h *Host) Processes(match string) []int {
	var out []int
	for _, pid := range pids() {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if err != nil || ns != h.mntNS {
			continue
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(b, []byte(match)) {
			out = append(out, pid)
		}
	}
	return out
}

func pids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

// killClientLeftovers ends processes started under this cluster's directory that
// outlived the coordinator (ssh ControlMaster processes keep running in the background).
func (c *Cluster) killClientLeftovers() {
	for _, pid := range c.clientLeftovers() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// clientLeftovers lists the ssh client processes using this cluster's keys.
func (c *Cluster) clientLeftovers() []int {
	var out []int
	for _, pid := range pids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.Contains(b, []byte(c.Dir)) || bytes.Contains(b, []byte("sshd")) {
			continue
		}
		if bytes.HasPrefix(b, []byte("ssh\x00")) || bytes.Contains(b, []byte("/ssh\x00")) || bytes.HasPrefix(b, []byte("ssh: ")) {
			out = append(out, pid)
		}
	}
	return out
}

// Close stops every process of the cluster and removes its directory; it runs at the
// end of the test anyway.
func (c *Cluster) Close() { c.closeOnce.Do(c.teardown) }

func (c *Cluster) teardown() {
	c.killClientLeftovers()
	all := append([]*Host{}, c.Hosts...)
	if c.Jump != nil {
		all = append(all, c.Jump)
	}
	for _, h := range all {
		if h.cmd != nil && !h.stopped {
			c.StopSSHD(h)
		}
	}
	if c.t.Failed() && os.Getenv("RESTOREKIT_E2E_KEEP") != "" {
		c.t.Logf("keeping %s", c.Dir)
		return
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		c.t.Errorf("cleanup: %v", err)
	}
}

// SSH runs a command on a host as core, the way a person at the workstation would.
func (c *Cluster) SSH(h *Host, command string) (string, error) {
	args := c.sshArgs(h)
	args = append(args, "core@"+h.Addr, command)
	out, err := exec.Command("ssh", args...).CombinedOutput()
	return string(out), err
}

func (c *Cluster) sshArgs(h *Host) []string {
	args := []string{"-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + c.KnownHost, "-o", "StrictHostKeyChecking=yes",
		"-o", "ConnectTimeout=5", "-i", c.ClientKey, "-p", strconv.Itoa(h.Port), "-F", "/dev/null"}
	if c.Jump != nil {
		args = append(args, "-o", fmt.Sprintf("ProxyCommand=ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=%s -i %s -p %d -W %%h:%%p core@%s",
			c.KnownHost, c.ClientKey, c.Jump.Port, c.Jump.Addr))
	}
	return args
}

// SCP copies local files to a path on a host.
func (c *Cluster) SCP(h *Host, dest string, files ...string) error {
	args := c.sshArgs(h)
	for i, a := range args {
		if a == "-p" {
			args[i] = "-P"
		}
	}
	args = append(args, files...)
	args = append(args, "core@"+h.Addr+":"+dest)
	if out, err := exec.Command("scp", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("scp: %v\n%s", err, out)
	}
	return nil
}

// AcceptedLogins counts the ssh logins every master's sshd accepted so far.
func (c *Cluster) AcceptedLogins() int {
	n := 0
	for _, h := range c.Hosts {
		n += strings.Count(readFileOr(h.SSHDLog), "Accepted publickey for core")
	}
	return n
}

// ---- small helpers ----

func mustMkdir(t testing.TB, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, data string, mode os.FileMode) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readFileOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// treeSums maps each regular file under dir (relative path) to its sha256.
func treeSums(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256Hex(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
