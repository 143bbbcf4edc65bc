package render_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// The coordinator tests render a kit, then run its recover.sh and redeploy.sh with real
// bash against the fakes in testdata/coord (ssh, scp, oc and the host tools), which
// record every call in order. See testdata/coord/README.md.

var coordExamples = []string{"three-masters", "five-masters-proxy-jumphost"}

// coordInventory loads an example inventory (or, when the loader refuses it, builds the
// same inventory in Go) with waits short enough for a test.
func coordInventory(t *testing.T, example, dir string) *inventory.Inventory {
	t.Helper()
	inv, _, err := inventory.Load(filepath.Join("..", "examples", example+".yaml"), inventory.LoadOptions{})
	if err != nil {
		t.Logf("inventory.Load(%s): %v; building the inventory in Go", example, err)
		inv = coordFallbackInventory(t, example)
	}
	if len(inv.Backup.Files) == 0 {
		inv.Backup.Files = coordScanBackup(t, coordBackupDir(example))
	}
	sec := inventory.Duration(time.Second)
	inv.Timeouts.PollInterval = sec
	inv.Timeouts.SingleMember = 30 * sec
	inv.Timeouts.EtcdRollout = 30 * sec
	inv.Timeouts.KubeAPIServerRollout = 30 * sec
	inv.Timeouts.KubeControllerManagerRollout = 30 * sec
	inv.Timeouts.KubeSchedulerRollout = 30 * sec
	inv.Backup.RemoteDir = filepath.Join(dir, "recovery-host-backup")
	inv.QuarantineDir = filepath.Join(dir, "quarantine")
	return inv
}

func coordBackupDir(example string) string {
	if example == "three-masters" {
		return filepath.Join("..", "examples", "backup-3")
	}
	return filepath.Join("..", "examples", "backup-5")
}

// coordFallbackInventory is the example inventory written in Go.
func coordFallbackInventory(t *testing.T, example string) *inventory.Inventory {
	t.Helper()
	inv := &inventory.Inventory{APIVersion: inventory.APIVersion, Kind: inventory.Kind}
	inv.Backup.LocalDir = coordBackupDir(example)
	switch example {
	case "three-masters":
		inv.Cluster = inventory.Cluster{Name: "ocp4", Version: "4.5.2"}
		inv.RecoveryHost = "ip-10-0-143-125.ec2.internal"
		for _, a := range []string{"10.0.143.125", "10.0.154.194", "10.0.173.171"} {
			inv.Masters = append(inv.Masters, inventory.Master{
				Name: "ip-" + strings.ReplaceAll(a, ".", "-") + ".ec2.internal", Address: a})
		}
		inv.SSH = inventory.SSH{User: "core", IdentityFile: "~/.ssh/ocp4-core", StrictHostKeyChecking: "yes"}
	case "five-masters-proxy-jumphost":
		inv.Cluster = inventory.Cluster{Name: "prod-east", Version: "4.5.7"}
		inv.RecoveryHost = "master-0.prod-east.example.com"
		for i := 0; i < 5; i++ {
			m := inventory.Master{Name: fmt.Sprintf("master-%d.prod-east.example.com", i),
				Address: fmt.Sprintf("192.0.2.1%d", i), Hostname: fmt.Sprintf("master-%d", i)}
			if i == 4 {
				m.SSH = &inventory.SSH{Port: 2222}
			}
			inv.Masters = append(inv.Masters, m)
		}
		inv.SSH = inventory.SSH{User: "core", Port: 22, IdentityFile: "~/.ssh/prod-east",
			JumpHost: "admin@bastion.prod-east.example.com:22", KnownHostsFile: "~/.ssh/known_hosts.prod-east",
			StrictHostKeyChecking: "yes", ConnectTimeout: inventory.Duration(15 * time.Second)}
		inv.Proxy = &inventory.Proxy{HTTPProxy: "http://proxy.prod-east.example.com:3128",
			HTTPSProxy: "http://proxy.prod-east.example.com:3128",
			NoProxy:    ".cluster.local,.svc,10.128.0.0/14,127.0.0.1,172.30.0.0/16,192.0.2.0/24,api-int.prod-east.example.com,etcd-0.prod-east.example.com,localhost"}
		inv.QuarantineDir = "/var/tmp"
	default:
		t.Fatalf("no fallback for example %s", example)
	}
	inventory.ApplyDefaults(inv)
	return inv
}

// coordScanBackup records name, size and sha256 of each file of a backup directory.
func coordScanBackup(t *testing.T, dir string) []inventory.BackupFile {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []inventory.BackupFile
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		files = append(files, inventory.BackupFile{Name: e.Name(), Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	sort.Slice(files, func(i, j int) bool { // snapshot first, as the loader orders them
		return strings.HasPrefix(files[i].Name, "snapshot_") && !strings.HasPrefix(files[j].Name, "snapshot_")
	})
	return files
}

// coordEnv is one test's world: a kit on disk, fake hosts, a fake cluster.
type coordEnv struct {
	t      *testing.T
	dir    string
	kitDir string
	fake   string
	inv    *inventory.Inventory
	env    []string // extra environment for the fakes
}

// newCoordEnv renders the example's kit into a temp dir with the backup pair in the
// kit's backup/ directory and a SHA256SUMS, and sets up one fake host per master.
func newCoordEnv(t *testing.T, example string, tweak func(*inventory.Inventory)) *coordEnv {
	t.Helper()
	dir := t.TempDir()
	inv := coordInventory(t, example, dir)
	if tweak != nil {
		tweak(inv)
	}
	kit, err := render.Render(inv, render.Options{ToolVersion: "v0.0.0-test"})
	if err != nil {
		t.Fatalf("render %s: %v", example, err)
	}
	return newCoordEnvFor(t, dir, inv, kit, coordBackupDir(example))
}

// newCoordEnvFor writes a rendered kit into dir with the backup pair of backupDir, and
// sets up one fake host per host of its plan (workers too).
func newCoordEnvFor(t *testing.T, dir string, inv *inventory.Inventory, kit *render.Kit, backupDir string) *coordEnv {
	t.Helper()
	e := &coordEnv{t: t, dir: dir, kitDir: filepath.Join(dir, kit.Name), fake: filepath.Join(dir, "fake"), inv: inv}
	var sums bytes.Buffer
	write := func(name string, data []byte, mode os.FileMode) {
		p := filepath.Join(e.kitDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	for _, f := range kit.Files {
		write(f.Name, f.Data, f.Mode)
	}
	for _, b := range inv.Backup.Files {
		data, err := os.ReadFile(filepath.Join(backupDir, b.Name))
		if err != nil {
			t.Fatal(err)
		}
		write("backup/"+b.Name, data, 0o644)
	}
	if err := os.WriteFile(filepath.Join(e.kitDir, "SHA256SUMS"), sums.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range inv.Masters {
		names = append(names, m.Name)
	}
	for _, h := range kit.Plan.Hosts {
		m := h.Master
		hd := filepath.Join(e.fake, "hosts", m.Address)
		if err := os.MkdirAll(filepath.Join(hd, "home"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hd, "hostname"), []byte(m.ExpectedHostname()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range inv.Masters {
		if j := inv.EffectiveSSH(m).JumpHost; j != "" {
			_, addr, _ := render.JumpParts(j)
			if err := os.MkdirAll(filepath.Join(e.fake, "hosts", addr, "home"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range []string{"oc", "home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(e.fake, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Rollouts finish at the first poll after the new revision shows; the happy path
	// asks for one more poll to see the progress lines.
	e.env = []string{"FAKE_MASTERS=" + strings.Join(names, " "), "FAKE_RECOVERY=" + inv.RecoveryHost,
		"FAKE_OC_VERSION=" + inv.Cluster.Version, "FAKE_POLLS=1"}
	if p := inv.Proxy; p != nil {
		e.env = append(e.env, "FAKE_PROXY_HTTP="+p.HTTPProxy, "FAKE_PROXY_HTTPS="+p.HTTPSProxy, "FAKE_PROXY_NO="+p.NoProxy)
	}
	return e
}

// host is the fake host directory of a master.
func (e *coordEnv) host(m inventory.Master) string { return filepath.Join(e.fake, "hosts", m.Address) }

// touch creates a file in the fake world (a fault or a state of the fake cluster).
func (e *coordEnv) touch(path, content string) {
	e.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// run runs a kit script with the fakes first on PATH and stdin not a terminal.
func (e *coordEnv) run(script string, args ...string) (string, int) {
	e.t.Helper()
	bin, err := filepath.Abs(filepath.Join("testdata", "coord", "bin"))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(e.kitDir, script)}, args...)...)
	cmd.Env = append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(e.fake, "home"), "TMPDIR=" + filepath.Join(e.fake, "tmp"),
		"XDG_RUNTIME_DIR=" + filepath.Join(e.fake, "tmp"), "LC_ALL=C", "FAKE_ROOT=" + e.fake}, e.env...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("%s: %v", script, err)
	}
	if ctx.Err() != nil {
		e.t.Fatalf("%s %s did not finish:\n%s", script, strings.Join(args, " "), out)
	}
	return string(out), code
}

// mustRun runs a kit script and wants the exit code.
func (e *coordEnv) mustRun(want int, script string, args ...string) string {
	e.t.Helper()
	out, code := e.run(script, args...)
	if code != want {
		e.t.Fatalf("%s %s: exit %d, want %d; output:\n%s", script, strings.Join(args, " "), code, want, out)
	}
	return out
}

// coordCall is one recorded call: the tool (ssh, scp, oc, host for a kit script run on
// a host, crictl) and its arguments.
type coordCall struct {
	Tool string
	Args []string
}

func (c coordCall) String() string { return c.Tool + " " + strings.Join(c.Args, " ") }

// remote is the command an ssh call ran on its host ("" for -O control calls).
func (c coordCall) remote() string {
	if c.Tool != "ssh" || len(c.Args) == 0 || c.has("-O") {
		return ""
	}
	return c.Args[len(c.Args)-1]
}

func (c coordCall) has(arg string) bool {
	for _, a := range c.Args {
		if a == arg {
			return true
		}
	}
	return false
}

// changes reports whether a call changes something on a host or in the cluster.
func (c coordCall) changes() bool {
	switch c.Tool {
	case "scp", "host":
		return true
	case "oc":
		return len(c.Args) > 0 && c.Args[0] == "patch"
	case "ssh":
		r := c.remote()
		return strings.Contains(r, "mkdir") || strings.Contains(r, "restorekit/") && strings.HasPrefix(r, "sudo bash")
	}
	return false
}

// calls reads what the fakes recorded, in order; the log is reset for the next run.
func (e *coordEnv) calls() []coordCall {
	e.t.Helper()
	p := filepath.Join(e.fake, "calls.log")
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		e.t.Fatal(err)
	}
	var calls []coordCall
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\x1f")
		calls = append(calls, coordCall{Tool: f[0], Args: f[1:]})
	}
	return calls
}

// index is the position of the first call matching, or -1.
func index(calls []coordCall, match func(coordCall) bool) int {
	for i, c := range calls {
		if match(c) {
			return i
		}
	}
	return -1
}

func hostRun(addr, script string) func(coordCall) bool {
	return func(c coordCall) bool {
		return c.Tool == "host" && len(c.Args) >= 2 && c.Args[0] == addr && c.Args[1] == script
	}
}

func ocCall(words ...string) func(coordCall) bool {
	return func(c coordCall) bool {
		if c.Tool != "oc" || len(c.Args) < len(words) {
			return false
		}
		for i, w := range words {
			if c.Args[i] != w {
				return false
			}
		}
		return true
	}
}

func sshRemote(cmd string) func(coordCall) bool {
	return func(c coordCall) bool { return c.remote() == cmd }
}

// coordOperators are the operators the 4.5 procedure redeploys, in order (steps 10-12).
var coordOperators = []string{"etcd", "kubeapiserver", "kubecontrollermanager", "kubescheduler"}

var reasonRE = regexp.MustCompile(`"forceRedeploymentReason":"(recovery-\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d)"`)

func TestCoordinatorScriptsAreValidBash(t *testing.T) {
	t.Parallel()
	for _, ex := range coordExamples {
		e := newCoordEnv(t, ex, nil)
		for _, s := range []string{"recover.sh", "redeploy.sh"} {
			p := filepath.Join(e.kitDir, s)
			if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
				t.Errorf("%s %s: bash -n: %v\n%s", ex, s, err, out)
			}
			if _, err := exec.LookPath("shellcheck"); err != nil {
				t.Logf("shellcheck not installed: skipping it")
				continue
			}
			if out, err := exec.Command("shellcheck", "-s", "bash", p).CombinedOutput(); err != nil {
				t.Errorf("%s %s: shellcheck: %v\n%s", ex, s, err, out)
			}
		}
	}
}

func TestRecoverList(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	out := e.mustRun(0, "recover.sh", "--list")
	for _, want := range []string{
		"preflight  ", "step P1-P5, 1, 2", "copy-backup ", "push-scripts ", "stop-static-pods ", "step 4 ",
		"restore ", "step 5-7", "restart-kubelet ", "step 8 ", "verify-single-member ", "step 9 ",
		"redeploy-etcd ", "step 10-11", "redeploy-kubeapiserver ", "step 12.1", "redeploy-kubecontrollermanager ",
		"step 12.2", "redeploy-kubescheduler ", "step 12.3", "verify-members ", "step 13",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--list does not show %q:\n%s", want, out)
		}
	}
	if calls := e.calls(); len(calls) != 0 {
		t.Errorf("--list ran %v", calls)
	}
}

func TestRecoverHappyPath(t *testing.T) {
	t.Parallel()
	for _, ex := range coordExamples {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			e := newCoordEnv(t, ex, nil)
			e.env = append(e.env, "FAKE_POLLS=2")
			out := e.mustRun(0, "recover.sh", "--yes")
			if os.Getenv("COORD_SHOW") != "" {
				t.Logf("output:\n%s", out)
			}
			calls := e.calls()
			checkProcedureOrder(t, e, calls, out)
			checkSSHOptions(t, e, calls)
			// No oc request may hang a wait.
			for _, c := range calls {
				if c.Tool == "oc" && !c.has("--request-timeout=30s") {
					t.Errorf("oc without --request-timeout: %v", c)
				}
			}
			// Steps 4 and 8 run with a terminal on the host, so Ctrl-C hangs up on them;
			// the restore never does.
			for _, c := range calls {
				r := c.remote()
				if !strings.HasPrefix(r, "sudo bash restorekit/") {
					continue
				}
				if tty := c.has("-tt"); tty == strings.HasSuffix(r, "/05-restore.sh --yes") {
					t.Errorf("-tt is %v for %s", tty, r)
				}
			}
			for _, want := range []string{"==> step P1-P5, 1, 2 (preflight)", "==> step 4 (stop-static-pods)",
				"==> step 5-7 (restore)", "==> step 8 (restart-kubelet)", "==> step 10-11 (redeploy-etcd)",
				"==> step 12.3 (redeploy-kubescheduler)", "==> step 13 (verify-members)", "SUMMARY", "kit: every file matches SHA256SUMS",
				"Unable to connect to the server: EOF", "NodeInstallerProgressing: NodeInstallerProgressing (2 nodes are at revision 7; 1 nodes are at revision 8)"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
			state := e.kitDir + ".state"
			for _, f := range []string{"done/preflight", "done/verify-members", "recover.log", "preflight.txt"} {
				if _, err := os.Stat(filepath.Join(state, f)); err != nil {
					t.Errorf("state dir: %v", err)
				}
			}
			for _, m := range e.inv.Masters {
				if _, err := os.Stat(filepath.Join(state, "remote-logs", m.Name+".log")); err != nil {
					t.Errorf("remote logs not fetched: %v", err)
				}
			}
			// The backup pair is on the recovery host, intact.
			for _, b := range e.inv.Backup.Files {
				data, err := os.ReadFile(filepath.Join(e.inv.Backup.RemoteDir, b.Name))
				if err != nil {
					t.Fatal(err)
				}
				if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != b.SHA256 {
					t.Errorf("%s on the recovery host differs from the backup", b.Name)
				}
			}

			// The ssh control sockets were in XDG_RUNTIME_DIR, and nothing is left there.
			if index(calls, func(c coordCall) bool {
				return strings.Contains(strings.Join(c.Args, " "), "ControlPath="+filepath.Join(e.fake, "tmp")+"/restorekit-ssh-")
			}) < 0 {
				t.Errorf("no ControlPath under XDG_RUNTIME_DIR")
			}
			if ents, err := os.ReadDir(filepath.Join(e.fake, "tmp")); err != nil || len(ents) != 0 {
				t.Errorf("XDG_RUNTIME_DIR after the run: %v %v", ents, err)
			}

			// A second run finds every step done and changes nothing.
			out = e.mustRun(0, "recover.sh", "--yes")
			for _, c := range e.calls() {
				if c.changes() {
					t.Errorf("re-run after success changed something: %v\n%s", c, out)
				}
			}
		})
	}
}

// checkProcedureOrder asserts the recorded calls follow procedure.md.
func checkProcedureOrder(t *testing.T, e *coordEnv, calls []coordCall, out string) {
	t.Helper()
	rec := e.inv.Recovery()
	firstChange := index(calls, coordCall.changes)
	if firstChange < 0 {
		t.Fatalf("nothing changed:\n%s", out)
	}
	// Preflight (P1-P5, 2) before any change.
	for _, pre := range []struct {
		name  string
		match func(coordCall) bool
	}{
		{"oc whoami", ocCall("whoami")},
		{"oc auth can-i", ocCall("auth", "can-i", "*", "*", "--all-namespaces")},
		{"oc get clusterversion", ocCall("get", "clusterversion", "version")},
		{"oc get proxy", ocCall("get", "proxy", "cluster")},
		{"oc get nodes", ocCall("get", "nodes", "-l", "node-role.kubernetes.io/master")},
		{"sudo -n true", sshRemote("sudo -n true")},
		{"cluster-restore.sh present", sshRemote("test -x /usr/local/bin/cluster-restore.sh")},
	} {
		if i := index(calls, pre.match); i < 0 || i > firstChange {
			t.Errorf("preflight %s at %d, first change at %d (%v)", pre.name, i, firstChange, calls[firstChange])
		}
	}
	for _, m := range e.inv.Masters {
		i := index(calls, func(c coordCall) bool {
			return c.remote() == "hostname" && c.has(m.Name)
		})
		if i < 0 || i > firstChange {
			t.Errorf("preflight hostname on %s at %d, first change at %d", m.Name, i, firstChange)
		}
	}
	// Step 3 before 4: the backup copied to the recovery host.
	copyAt := index(calls, func(c coordCall) bool {
		return c.Tool == "scp" && strings.HasSuffix(c.Args[len(c.Args)-1], ":"+e.inv.Backup.RemoteDir+"/")
	})
	restoreAt := index(calls, hostRun(rec.Address, "05-restore.sh"))
	if restoreAt < 0 {
		t.Fatalf("05-restore.sh never ran on the recovery host:\n%s", out)
	}
	if got := calls[restoreAt].Args[2:]; strings.Join(got, " ") != "--yes" {
		t.Errorf("05-restore.sh ran with %q, want --yes", got)
	}
	if copyAt < 0 || copyAt > restoreAt {
		t.Errorf("backup copied at %d, restore at %d", copyAt, restoreAt)
	}
	if n := countCalls(calls, hostRun(rec.Address, "05-restore.sh")); n != 1 {
		t.Errorf("05-restore.sh ran %d times", n)
	}
	// Step 4 on every other host before the restore, never on the recovery host.
	for _, m := range e.inv.Others() {
		if i := index(calls, hostRun(m.Address, "04-stop-static-pods.sh")); i < 0 || i > restoreAt {
			t.Errorf("04-stop-static-pods.sh on %s at %d, restore at %d", m.Name, i, restoreAt)
		}
		if i := index(calls, hostRun(m.Address, "05-restore.sh")); i >= 0 {
			t.Errorf("05-restore.sh ran on %s, not the recovery host", m.Name)
		}
	}
	if i := index(calls, hostRun(rec.Address, "04-stop-static-pods.sh")); i >= 0 {
		t.Errorf("04-stop-static-pods.sh ran on the recovery host")
	}
	// Step 8: after the restore, the recovery host first.
	recKubelet := index(calls, hostRun(rec.Address, "08-restart-kubelet.sh"))
	if recKubelet < restoreAt {
		t.Errorf("kubelet restarted on the recovery host at %d, restore at %d", recKubelet, restoreAt)
	}
	lastKubelet := recKubelet
	for _, m := range e.inv.Others() {
		i := index(calls, hostRun(m.Address, "08-restart-kubelet.sh"))
		if i < recKubelet {
			t.Errorf("kubelet restarted on %s at %d, before the recovery host (%d)", m.Name, i, recKubelet)
		}
		if i > lastKubelet {
			lastKubelet = i
		}
	}
	// Step 9: crictl on the recovery host, then one etcd pod via oc.
	crictlAt := index(calls, func(c coordCall) bool { return c.Tool == "crictl" && c.Args[0] == rec.Address })
	if crictlAt < lastKubelet {
		t.Errorf("step 9.1 crictl at %d, before the last kubelet restart %d", crictlAt, lastKubelet)
	}
	podsAt := index(calls[lastKubelet+1:], ocCall("get", "pods", "-n", "openshift-etcd"))
	if podsAt < 0 {
		t.Errorf("no oc get pods after step 8")
	}
	// Steps 10-12: each operator in order, its revision read before its patch, patched
	// with a unique reason, and done before the next one is patched.
	var reasons []string
	prev := lastKubelet
	for k, op := range coordOperators {
		patchAt := index(calls, ocCall("patch", op, "cluster"))
		if patchAt < prev {
			t.Errorf("%s patched at %d, before %d", op, patchAt, prev)
			continue
		}
		m := reasonRE.FindStringSubmatch(strings.Join(calls[patchAt].Args, " "))
		if m == nil || !calls[patchAt].has("--type=merge") {
			t.Errorf("%s patch %v: want --type=merge and a forceRedeploymentReason recovery-<date --rfc-3339=ns>", op, calls[patchAt])
		} else {
			reasons = append(reasons, m[1])
		}
		revAt := index(calls[prev:], func(c coordCall) bool {
			return ocCall("get", op, "cluster")(c) && strings.Contains(strings.Join(c.Args, " "), "latestAvailableRevision")
		})
		if revAt < 0 || prev+revAt > patchAt {
			t.Errorf("%s latestAvailableRevision not read before its patch", op)
		}
		done := index(calls[patchAt:], func(c coordCall) bool {
			return ocCall("get", op, "cluster")(c) && strings.Contains(strings.Join(c.Args, " "), "NodeInstallerProgressing")
		})
		if done < 0 {
			t.Errorf("%s: no wait on NodeInstallerProgressing after its patch", op)
		}
		if k+1 < len(coordOperators) {
			next := index(calls, ocCall("patch", coordOperators[k+1], "cluster"))
			if _, err := os.Stat(filepath.Join(e.fake, "oc", op+".rolledout")); err != nil || next < patchAt+done {
				t.Errorf("%s patched before %s finished rolling out", coordOperators[k+1], op)
			}
		}
		if n := countCalls(calls, ocCall("patch", op, "cluster")); n != 1 {
			t.Errorf("%s patched %d times", op, n)
		}
		prev = patchAt
	}
	seen := map[string]bool{}
	for _, r := range reasons {
		if seen[r] {
			t.Errorf("forceRedeploymentReason %q used twice", r)
		}
		seen[r] = true
	}
	// Step 13 after the last patch.
	if i := index(calls[prev:], ocCall("get", "pods", "-n", "openshift-etcd")); i < 0 {
		t.Errorf("no step 13 check after the last patch")
	}
}

func countCalls(calls []coordCall, match func(coordCall) bool) int {
	n := 0
	for _, c := range calls {
		if match(c) {
			n++
		}
	}
	return n
}

// checkSSHOptions wants every ssh and scp non-interactive and bounded, through the
// kit's ssh_config (whose Host block for the master holds the inventory's address,
// port, user, identity, known hosts, host key checking, timeout and jump host), with a
// ControlPath in XDG_RUNTIME_DIR (a short directory that holds sockets, not the kit). Only a
// detached ssh -f -N starts a master connection; every working session says
// ControlMaster=no, and no ssh that could become a master had a pipe on its stdout or
// stderr (the fakes record that in piped-masters.log).
func checkSSHOptions(t *testing.T, e *coordEnv, calls []coordCall) {
	t.Helper()
	n := 0
	config := filepath.Join(e.kitDir, "ssh_config")
	for _, c := range calls {
		if c.Tool != "ssh" && c.Tool != "scp" {
			continue
		}
		n++
		joined := " " + strings.Join(c.Args, " ") + " "
		if !strings.Contains(joined, " -F "+config+" ") || !strings.Contains(joined, " -o BatchMode=yes ") {
			t.Errorf("%s without -F %s and BatchMode=yes: %v", c.Tool, config, c)
		}
		if c.has("ControlPath=none") {
			continue // the jump host check, checked by its own test
		}
		cp := regexp.MustCompile(` -o ControlPath=(\S+) `).FindStringSubmatch(joined)
		if cp == nil || !strings.HasPrefix(cp[1], filepath.Join(e.fake, "tmp")+"/restorekit-ssh-") {
			t.Errorf("%s without a ControlPath under XDG_RUNTIME_DIR (not in the kit): %v", c.Tool, c)
		}
		master := c.has("ControlMaster=yes")
		switch {
		case master && !(c.has("-f") && c.has("-N")):
			t.Errorf("%s starts a master connection but not detached (-f -N): %v", c.Tool, c)
		case !master && !c.has("ControlMaster=no"):
			t.Errorf("%s may start a master connection (no ControlMaster=no): %v", c.Tool, c)
		}
		var m *inventory.Master
		for i := range e.inv.Masters {
			if c.has(e.inv.Masters[i].Name) || strings.Contains(joined, " "+e.inv.Masters[i].Name+":") {
				m = &e.inv.Masters[i]
			}
		}
		if m == nil {
			t.Errorf("%s to no master: %v", c.Tool, c)
		}
	}
	if n == 0 {
		t.Errorf("no ssh or scp recorded")
	}
	if b, err := os.ReadFile(filepath.Join(e.fake, "piped-masters.log")); err == nil {
		t.Errorf("ssh that could start a master connection ran with a pipe on stdout or stderr:\n%s", b)
	}
	checkSSHConfigFile(t, e)
}

// checkSSHConfigFile wants the kit's ssh_config to hold each master's inventory values.
func checkSSHConfigFile(t *testing.T, e *coordEnv) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.kitDir, "ssh_config"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Host" {
			cur = f[1]
			continue
		}
		if cur != "" && len(f) == 2 {
			blocks[cur] += f[0] + "=" + strings.Trim(f[1], `"`) + "\n"
		}
	}
	for _, m := range e.inv.Masters {
		s := e.inv.EffectiveSSH(m)
		want := []string{"HostName=" + m.Address, fmt.Sprintf("Port=%d", s.Port), "User=" + s.User,
			"StrictHostKeyChecking=" + s.StrictHostKeyChecking, fmt.Sprintf("ConnectTimeout=%d", s.ConnectTimeout.Seconds())}
		if s.IdentityFile != "" {
			want = append(want, "IdentityFile="+s.IdentityFile)
		}
		if s.KnownHostsFile != "" {
			want = append(want, "UserKnownHostsFile="+s.KnownHostsFile)
		}
		if s.JumpHost != "" {
			want = append(want, "ProxyJump="+s.JumpHost)
		}
		for _, w := range want {
			if !strings.Contains(blocks[m.Name], w+"\n") {
				t.Errorf("ssh_config: Host %s lacks %s:\n%s", m.Name, w, blocks[m.Name])
			}
		}
	}
}

func TestRecoverDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	for _, ex := range coordExamples {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			e := newCoordEnv(t, ex, nil)
			out := e.mustRun(0, "recover.sh", "--dry-run")
			calls := e.calls()
			for _, c := range calls {
				if c.changes() {
					t.Errorf("--dry-run ran a changing command: %v", c)
				}
			}
			checkSSHOptions(t, e, calls)
			for _, m := range e.inv.Others() {
				if !strings.Contains(out, "DRY-RUN: would run: ssh ") || !strings.Contains(out, m.Name+" 'sudo bash restorekit/"+e.inv.Cluster.Name+"-recovery-kit/04-stop-static-pods.sh --yes'") {
					t.Errorf("--dry-run does not show 04-stop-static-pods.sh on %s", m.Name)
				}
			}
			for _, want := range []string{"oc patch etcd cluster", "oc patch kubescheduler cluster", "dry run: nothing was changed"} {
				if !strings.Contains(out, want) {
					t.Errorf("--dry-run output lacks %q", want)
				}
			}
			if _, err := os.Stat(filepath.Join(e.kitDir+".state", "done", "preflight")); err == nil {
				t.Errorf("--dry-run recorded a step as done")
			}
			e.assertKitAsListed()
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// assertKitAsListed fails when the kit directory holds anything SHA256SUMS does not list
// (recover.sh keeps its state outside the kit, so that restorekit verify still passes).
func (e *coordEnv) assertKitAsListed() {
	e.t.Helper()
	sums, err := os.ReadFile(filepath.Join(e.kitDir, "SHA256SUMS"))
	if err != nil {
		e.t.Fatal(err)
	}
	err = filepath.WalkDir(e.kitDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "SHA256SUMS" {
			return err
		}
		rel, _ := filepath.Rel(e.kitDir, p)
		if !strings.Contains(string(sums), "  "+filepath.ToSlash(rel)+"\n") {
			e.t.Errorf("the run left %s in the kit directory", rel)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestRecoverStateOutsideTheKit: the state directory is <kit>.state beside the kit, or,
// where that cannot be created, under $XDG_STATE_HOME; either way recover.sh says which
// at the start, and --state-dir chooses another.
func TestRecoverStateOutsideTheKit(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	out := e.mustRun(0, "recover.sh", "--yes", "--only", "preflight")
	beside := e.kitDir + ".state"
	if !strings.Contains(out, "state directory: "+beside+" ") {
		t.Errorf("recover.sh does not say its state directory is %s:\n%s", beside, out)
	}
	if _, err := os.Stat(filepath.Join(beside, "done", "preflight")); err != nil {
		t.Errorf("no progress beside the kit: %v", err)
	}
	e.assertKitAsListed()

	// Where <kit>.state cannot be a directory, the user's state directory holds it.
	e = newCoordEnv(t, "three-masters", nil)
	e.touch(e.kitDir+".state", "not a directory\n")
	xdg := filepath.Join(e.dir, "xdg-state")
	e.env = append(e.env, "XDG_STATE_HOME="+xdg)
	out = e.mustRun(0, "recover.sh", "--yes", "--only", "preflight")
	want := filepath.Join(xdg, "restorekit", filepath.Base(e.kitDir))
	if !strings.Contains(out, "state directory: "+want+" ") {
		t.Errorf("recover.sh does not say its state directory is %s:\n%s", want, out)
	}
	if _, err := os.Stat(filepath.Join(want, "done", "preflight")); err != nil {
		t.Errorf("no progress under $XDG_STATE_HOME: %v", err)
	}

	// --state-dir overrides both.
	chosen := filepath.Join(e.dir, "chosen")
	out = e.mustRun(0, "recover.sh", "--yes", "--only", "preflight", "--state-dir", chosen)
	if !strings.Contains(out, "state directory: "+chosen+" ") {
		t.Errorf("--state-dir %s is not the state directory:\n%s", chosen, out)
	}
	e.assertKitAsListed()
}

// With the API down, --api-unavailable lets the recovery go on: the preflight says which
// facts were not checked and where they come from, and runs every host check; with only
// the aggregated APIs down no flag is needed, and cluster-admin is still checked.
func TestRecoverAPIUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("down, --api-unavailable", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "three-masters", nil)
		e.env = append(e.env, "FAKE_API=down")
		out := e.mustRun(0, "recover.sh", "--yes", "--api-unavailable")
		for _, want := range []string{"--api-unavailable: the preflight may go on without the API",
			"P2: the API does not answer: no route to it", "NOT CHECKED against the live cluster", "P1: release 4.5.2",
			"control-plane nodes ip-10-0-143-125.ec2.internal ip-10-0-154-194.ec2.internal ip-10-0-173-171.ec2.internal",
			"NOTE: --api-unavailable: release, proxy and control-plane nodes were taken from the kit",
			"P4/2: ip-10-0-143-125.ec2.internal: ssh ok", "P5: ", "==> step 13 (verify-members)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		calls := e.calls()
		restoreAt := index(calls, hostRun(e.inv.Recovery().Address, "05-restore.sh"))
		if i := index(calls, ocCall("get", "clusterversion")); i >= 0 && i < restoreAt {
			t.Errorf("the preflight read the clusterversion with the API down")
		}
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	})
	t.Run("aggregated APIs down", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "three-masters", nil)
		e.env = append(e.env, "FAKE_API=aggregated")
		out := e.mustRun(0, "recover.sh", "--dry-run")
		for _, want := range []string{"oc whoami fails (Error from server (ServiceUnavailable)", "only the aggregated APIs (openshift-apiserver) fail",
			"who may do everything in every namespace", "P1: compared the cluster's clusterversion (status.desired.version 4.5.2, newest history entry Completed 4.5.2) with the kit's release 4.5.2 (the inventory cluster.version): they match"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

// Masters NotReady after the restore, with pending CSRs (kubelet certificates that
// rotated after the backup): the waits report them as soon as seen, and the timeout says
// what to do about them, telling the masters' CSRs from the others.
func TestRecoverReportsNotReadyMasters(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	rec := e.inv.RecoveryHost
	e.env = append(e.env, "FAKE_NOTREADY="+rec, "FAKE_STUCK=etcd",
		"FAKE_CSR=csr-a system:node:"+rec+";csr-b system:node:worker-9;csr-c system:node:"+rec+" Approved")
	out, code := e.run("recover.sh", "--yes")
	if code != 3 {
		t.Fatalf("exit %d, want 3 (the etcd rollout times out):\n%s", code, out)
	}
	for _, want := range []string{"NODES: masters NotReady: " + rec + "; pending CSRs of the masters: csr-a (" + rec + "); other pending CSRs, left alone: csr-b (system:node:worker-9)",
		"what to do first: masters NotReady: " + rec, "move the PEM files of /var/lib/kubelet/pki aside", "oc adm certificate approve NAME"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "csr-c") {
		t.Errorf("an approved CSR is reported as pending")
	}
	// Before the restore nothing is watched.
	if i, j := strings.Index(out, "NODES:"), strings.Index(out, "==> step 8 "); i < j {
		t.Errorf("nodes reported before the kubelet restart")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestRecoverPreflightStops: every preflight problem stops the run before anything
// changes, with a message naming the step.
func TestRecoverPreflightStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault func(e *coordEnv)
		want  []string
	}{
		{"version differs", func(e *coordEnv) { e.env = append(e.env, "FAKE_OC_VERSION=4.5.3") },
			[]string{"P1: the cluster runs OpenShift '4.5.3' but this kit and its backup are for 4.5.2", "FAILED: step P1-P5, 1, 2 (preflight)"}},
		{"proxy differs", func(e *coordEnv) { e.env = append(e.env, "FAKE_PROXY_HTTP=http://other:3128") },
			[]string{"step 6: the cluster's proxy status.httpProxy is 'http://other:3128'", "FAILED: step P1-P5, 1, 2 (preflight)"}},
		{"not cluster-admin", func(e *coordEnv) { e.env = append(e.env, "FAKE_OC_CANI=no") },
			[]string{"P2: this login is not a cluster-admin"}},
		{"API unreachable", func(e *coordEnv) { e.env = append(e.env, "FAKE_API=down") },
			[]string{"P2: the API does not answer: no route to it (Unable to connect to the server", "run recover.sh again with --api-unavailable",
				"without checking them against the live cluster", "preflight only reads: nothing was changed"}},
		{"etcd without quorum", func(e *coordEnv) { e.env = append(e.env, "FAKE_API=etcd") },
			[]string{"P2: kube-apiserver answers but its etcd does not (/readyz: ", "[-]etcd failed", "--api-unavailable"}},
		{"master missing from the inventory", func(e *coordEnv) {
			e.env = append(e.env, "FAKE_NODES=ip-10-0-143-125.ec2.internal ip-10-0-154-194.ec2.internal ip-10-0-173-171.ec2.internal ip-10-0-180-1.ec2.internal")
		}, []string{"P4: the cluster's master node(s) ip-10-0-180-1.ec2.internal are not in the inventory"}},
		{"node name wrong", func(e *coordEnv) {
			e.env = append(e.env, "FAKE_NODES=ip-10-0-143-125.ec2.internal ip-10-0-154-194.ec2.internal other")
		}, []string{"P3/P4: the cluster has no master node named ip-10-0-173-171.ec2.internal", "other are not in the inventory"}},
		{"host unreachable", func(e *coordEnv) { e.touch(filepath.Join(e.host(e.inv.Masters[2]), "unreachable"), "") },
			[]string{"P4/2: cannot ssh to ip-10-0-173-171.ec2.internal", "Connection refused", "preflight found 1 problem(s)"}},
		{"wrong hostname", func(e *coordEnv) { e.touch(filepath.Join(e.host(e.inv.Masters[1]), "hostname"), "somewhere-else\n") },
			[]string{"says its hostname is 'somewhere-else', but the inventory expects 'ip-10-0-154-194.ec2.internal'"}},
		{"no cluster-restore.sh", func(e *coordEnv) { e.touch(filepath.Join(e.host(e.inv.Recovery()), "no-cluster-restore"), "") },
			[]string{"P3: ip-10-0-143-125.ec2.internal (the recovery host) has no /usr/local/bin/cluster-restore.sh"}},
		{"kit changed", func(e *coordEnv) {
			e.touch(filepath.Join(e.kitDir, "hosts", e.inv.RecoveryHost, "05-restore.sh"), "#!/bin/bash\necho changed\n")
		}, []string{"kit files do not match", "SHA256SUMS"}},
		{"backup damaged", func(e *coordEnv) {
			e.touch(filepath.Join(e.kitDir, "backup", e.inv.Backup.Files[0].Name), "not the snapshot")
			_ = os.Remove(filepath.Join(e.kitDir, "SHA256SUMS"))
		}, []string{"P5: ", "bytes, the kit expects", "no SHA256SUMS"}},
		{"no backup anywhere", func(e *coordEnv) {
			if err := os.RemoveAll(filepath.Join(e.kitDir, "backup")); err != nil {
				t.Fatal(err)
			}
			_ = os.Remove(filepath.Join(e.kitDir, "SHA256SUMS"))
		}, []string{"P5: no local backup directory", "P5/3: cannot list ", "recovery-host-backup on ip-10-0-143-125.ec2.internal"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newCoordEnv(t, "three-masters", nil)
			tc.fault(e)
			out := e.mustRun(1, "recover.sh", "--yes")
			for _, w := range append(tc.want, "FAILED: step P1-P5, 1, 2 (preflight), exit 1", "nothing was changed on any host or in the cluster") {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(out, "resume at this step with:") {
				t.Errorf("no resume command:\n%s", out)
			}
			for _, c := range e.calls() {
				if c.changes() {
					t.Errorf("changed something after a failed preflight: %v", c)
				}
			}
		})
	}
}

func TestRecoverRefusesWithoutConfirmation(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	out := e.mustRun(2, "recover.sh")
	if !strings.Contains(out, "stdin is not a terminal") || !strings.Contains(out, "--yes") {
		t.Errorf("refusal does not say why:\n%s", out)
	}
	if calls := e.calls(); len(calls) != 0 {
		t.Errorf("refused run still called %v", calls)
	}
	out = e.mustRun(2, "recover.sh", "--from", "nosuchstep")
	if !strings.Contains(out, "--from nosuchstep: no such step") {
		t.Errorf("unknown step:\n%s", out)
	}
	// A state directory in use by a live recover.sh, or of another kit, is refused.
	state := filepath.Join(e.dir, "state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	e.touch(filepath.Join(state, "lock"), fmt.Sprintln(os.Getpid()))
	if out := e.mustRun(2, "recover.sh", "--yes", "--state-dir", state); !strings.Contains(out, fmt.Sprintf("another recover.sh (pid %d) is using", os.Getpid())) {
		t.Errorf("lock not honoured:\n%s", out)
	}
	e.touch(filepath.Join(state, "lock"), "")
	e.touch(filepath.Join(state, "kit"), "other-recovery-kit\n")
	if out := e.mustRun(2, "recover.sh", "--yes", "--state-dir", state); !strings.Contains(out, "holds the progress of other-recovery-kit") {
		t.Errorf("another kit's state dir not refused:\n%s", out)
	}
	if calls := e.calls(); len(calls) != 0 {
		t.Errorf("refused runs still called %v", calls)
	}
	if out := e.mustRun(2, "recover.sh", "--yes", "--state-dir", filepath.Join(e.kitDir, "RUNBOOK.md", "x")); !strings.Contains(out, "cannot write the state directory") {
		t.Errorf("unwritable state dir:\n%s", out)
	}
	e.mustRun(2, "recover.sh", "--bogus")
	e.mustRun(2, "recover.sh", "--from", "4", "--only", "8")
	if out := e.mustRun(0, "recover.sh", "--help"); !strings.Contains(out, "Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 a wait timed out") {
		t.Errorf("--help does not document exit codes:\n%s", out)
	}
}

// TestRecoverResumesAfterFailure: step 4 fails on one host; the run stops before the
// restore naming step and host, and the printed command resumes at step 4 on that
// host only.
func TestRecoverResumesAfterFailure(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	bad := e.inv.Masters[2]
	failFile := filepath.Join(e.host(bad), "fail-04-stop-static-pods.sh")
	e.touch(failFile, "1")
	out := e.mustRun(1, "recover.sh", "--yes")
	want := "FAILED: step 4 (stop-static-pods) on " + bad.Name + ", exit 1"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	calls := e.calls()
	if index(calls, hostRun(e.inv.Recovery().Address, "05-restore.sh")) >= 0 {
		t.Errorf("05-restore.sh ran after step 4 failed")
	}
	for _, m := range e.inv.Others() {
		if index(calls, hostRun(m.Address, "04-stop-static-pods.sh")) < 0 {
			t.Errorf("step 4 did not run on %s (the hosts run in parallel)", m.Name)
		}
	}
	m := regexp.MustCompile(`resume at this step with:\n\S+ +(.*)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no resume command:\n%s", out)
	}
	args := strings.Fields(m[1])
	if len(args) == 0 || args[0] != filepath.Join(e.kitDir, "recover.sh") {
		t.Fatalf("resume command %q does not run this kit's recover.sh", m[1])
	}
	if err := os.Remove(failFile); err != nil {
		t.Fatal(err)
	}
	out = e.mustRun(0, "recover.sh", args[1:]...)
	calls = e.calls()
	if i := index(calls, ocCall("whoami")); i >= 0 {
		t.Errorf("resumed run repeated the preflight")
	}
	if i := index(calls, func(c coordCall) bool { return c.Tool == "scp" }); i >= 0 {
		t.Errorf("resumed run copied again: %v", calls[i])
	}
	for _, m := range e.inv.Others() {
		n := countCalls(calls, hostRun(m.Address, "04-stop-static-pods.sh"))
		if want := map[bool]int{true: 1, false: 0}[m.Name == bad.Name]; n != want {
			t.Errorf("resumed run: 04-stop-static-pods.sh ran %d times on %s, want %d", n, m.Name, want)
		}
	}
	if !strings.Contains(out, "step P1-P5, 1, 2 (preflight): done by an earlier run") {
		t.Errorf("resumed run does not say what it skipped:\n%s", out)
	}
	if index(calls, hostRun(e.inv.Recovery().Address, "05-restore.sh")) < 0 || index(calls, ocCall("patch", "kubescheduler", "cluster")) < 0 {
		t.Errorf("resumed run did not finish:\n%s", out)
	}
}

// TestRecoverFrom: --from starts at a step (by name or procedure number) and runs it
// and every later one, nothing earlier; --only runs one step.
func TestRecoverFrom(t *testing.T) {
	t.Parallel()
	for _, from := range []string{"restart-kubelet", "8"} {
		t.Run(from, func(t *testing.T) {
			t.Parallel()
			e := newCoordEnv(t, "three-masters", nil)
			// The restore was done by hand up to step 7.
			e.touch(filepath.Join(e.fake, "oc", "restored"), "")
			for _, m := range e.inv.Masters {
				if err := os.MkdirAll(filepath.Join(e.host(m), "home", "restorekit", e.inv.Cluster.Name+"-recovery-kit"), 0o755); err != nil {
					t.Fatal(err)
				}
				e.touch(filepath.Join(e.host(m), "home", "restorekit", e.inv.Cluster.Name+"-recovery-kit", "08-restart-kubelet.sh"), "")
			}
			out := e.mustRun(0, "recover.sh", "--yes", "--from", from)
			calls := e.calls()
			for _, c := range calls {
				if c.Tool == "scp" || (c.Tool == "host" && c.Args[1] != "08-restart-kubelet.sh") || ocCall("whoami")(c) {
					t.Errorf("--from %s ran an earlier step: %v", from, c)
				}
			}
			for _, m := range e.inv.Masters {
				if index(calls, hostRun(m.Address, "08-restart-kubelet.sh")) < 0 {
					t.Errorf("--from %s: no kubelet restart on %s", from, m.Name)
				}
			}
			if index(calls, ocCall("patch", "kubescheduler", "cluster")) < 0 {
				t.Errorf("--from %s did not run to the end:\n%s", from, out)
			}
			if !strings.Contains(out, "note: preflight has not passed") {
				t.Errorf("--from on a fresh state dir does not warn that preflight did not run")
			}
		})
	}
	t.Run("preflight again until something changed", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "three-masters", nil)
		e.mustRun(0, "recover.sh", "--yes", "--only", "preflight")
		e.calls()
		// Not confirmed: nothing changed, so the next run checks again.
		e.mustRun(2, "recover.sh")
		e.env = append(e.env, "FAKE_OC_VERSION=4.5.9")
		out := e.mustRun(1, "recover.sh", "--yes")
		if !strings.Contains(out, "P1: the cluster runs OpenShift '4.5.9'") {
			t.Errorf("preflight not repeated before the first change:\n%s", out)
		}
	})
	t.Run("push fails on one host", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "three-masters", nil)
		bad := e.inv.Masters[1]
		e.touch(filepath.Join(e.host(bad), "unreachable"), "")
		out := e.mustRun(1, "recover.sh", "--yes", "--only", "push-scripts")
		for _, want := range []string{"[" + bad.Name + "] ERROR: cannot create ~core/restorekit/ocp4-recovery-kit",
			"FAILED: step 3 (push-scripts) on " + bad.Name + ", exit 1", "--only push-scripts"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		for _, m := range []inventory.Master{e.inv.Masters[0], e.inv.Masters[2]} {
			if !strings.Contains(out, "["+m.Name+"] scripts: ") {
				t.Errorf("the other hosts were not pushed to:\n%s", out)
			}
		}
	})
	t.Run("only", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "three-masters", nil)
		state := filepath.Join(e.dir, "state")
		e.mustRun(0, "recover.sh", "--yes", "--state-dir", state, "--only", "preflight")
		if calls := e.calls(); index(calls, ocCall("whoami")) < 0 || index(calls, coordCall.changes) >= 0 {
			t.Errorf("--only preflight: %v", calls)
		}
		e.mustRun(0, "recover.sh", "--yes", "--state-dir", state, "--only", "push-scripts")
		calls := e.calls()
		if n := countCalls(calls, func(c coordCall) bool { return c.Tool == "scp" }); n != len(e.inv.Masters) {
			t.Errorf("--only push-scripts: %d scp, want one per master: %v", n, calls)
		}
		if index(calls, func(c coordCall) bool { return c.Tool == "host" }) >= 0 || index(calls, ocCall("whoami")) >= 0 {
			t.Errorf("--only push-scripts ran another step: %v", calls)
		}
		for _, m := range e.inv.Masters {
			p := filepath.Join(e.host(m), "home", "restorekit", e.inv.Cluster.Name+"-recovery-kit", "08-restart-kubelet.sh")
			if _, err := os.Stat(p); err != nil {
				t.Errorf("script not pushed: %v", err)
			}
		}
	})
}

// TestRecoverRolloutTimeout: a rollout that never reaches the new revision ends with
// exit 3 naming the step, and no later operator is patched.
func TestRecoverRolloutTimeout(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", func(inv *inventory.Inventory) {
		inv.Timeouts.KubeAPIServerRollout = inventory.Duration(3 * time.Second)
	})
	e.env = append(e.env, "FAKE_STUCK=kubeapiserver")
	out := e.mustRun(3, "recover.sh", "--yes")
	for _, want := range []string{"TIMEOUT after", "kubeapiserver: latestAvailableRevision above 7", "last seen: revision 8 (was 7); NodeInstallerProgressing: NodeInstallerProgressing (2 nodes are at revision 7; 1 nodes are at revision 8)",
		"FAILED: step 12.1 (redeploy-kubeapiserver), exit 3", "waiting (", "of 3s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	calls := e.calls()
	if index(calls, ocCall("patch", "kubecontrollermanager", "cluster")) >= 0 {
		t.Errorf("patched kubecontrollermanager after the kubeapiserver rollout timed out")
	}
	// Resuming waits for the rollout already started instead of patching again.
	e.env = append(e.env, "FAKE_STUCK=")
	out = e.mustRun(0, "recover.sh", "--yes")
	calls = e.calls()
	if n := countCalls(calls, ocCall("patch", "kubeapiserver", "cluster")); n != 0 {
		t.Errorf("resume patched kubeapiserver again (%d times):\n%s", n, out)
	}
	if !strings.Contains(out, "kubeapiserver was already patched by an earlier run") || index(calls, ocCall("patch", "kubescheduler", "cluster")) < 0 {
		t.Errorf("resume did not finish the rollouts:\n%s", out)
	}
}

func TestRedeploy(t *testing.T) {
	t.Parallel()
	for _, ex := range coordExamples {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			e := newCoordEnv(t, ex, nil)
			e.touch(filepath.Join(e.fake, "oc", "restored"), "")
			out := e.mustRun(0, "redeploy.sh", "--dry-run")
			if calls := e.calls(); len(calls) != 0 {
				t.Errorf("redeploy.sh --dry-run called %v", calls)
			}
			if !strings.Contains(out, "oc patch etcd cluster --type=merge") {
				t.Errorf("redeploy.sh --dry-run does not show the patch:\n%s", out)
			}
			e.mustRun(2, "redeploy.sh")
			out = e.mustRun(0, "redeploy.sh", "--yes")
			calls := e.calls()
			if index(calls, func(c coordCall) bool { return c.Tool != "oc" }) >= 0 {
				t.Errorf("redeploy.sh used more than oc: %v", calls)
			}
			prev := index(calls, ocCall("get", "pods", "-n", "openshift-etcd"))
			for _, op := range coordOperators {
				i := index(calls, ocCall("patch", op, "cluster"))
				if i < prev {
					t.Errorf("%s patched at %d, before %d", op, i, prev)
				}
				prev = i
			}
			if index(calls[prev:], ocCall("get", "pods", "-n", "openshift-etcd")) < 0 {
				t.Errorf("no step 13 check")
			}
			for _, want := range []string{"==> step 9.2", "==> step 10-11", "==> step 12.3", "==> step 13", "one Running etcd pod per master"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// --from resumes at a step: only the later operators are patched.
			out = e.mustRun(0, "redeploy.sh", "--yes", "--from", "12.2")
			calls = e.calls()
			for _, op := range coordOperators {
				n := countCalls(calls, ocCall("patch", op, "cluster"))
				if want := map[bool]int{true: 1, false: 0}[op == "kubecontrollermanager" || op == "kubescheduler"]; n != want {
					t.Errorf("--from 12.2 patched %s %d times, want %d", op, n, want)
				}
			}
			if strings.Contains(out, "==> step 9.2") || !strings.Contains(out, "==> step 13") {
				t.Errorf("--from 12.2 ran the wrong steps:\n%s", out)
			}
			// --from takes the step's name too, and the resource it patches.
			for _, from := range []string{"redeploy-kubescheduler", "kubescheduler"} {
				out = e.mustRun(0, "redeploy.sh", "--yes", "--dry-run", "--from", from)
				if strings.Contains(out, "==> step 12.2") || !strings.Contains(out, "==> step 12.3") {
					t.Errorf("--from %s ran the wrong steps:\n%s", from, out)
				}
			}
			e.mustRun(2, "redeploy.sh", "--yes", "--from", "7")
			out = e.mustRun(0, "redeploy.sh", "--list")
			if !strings.Contains(out, "step 12.2") {
				t.Errorf("--list:\n%s", out)
			}
		})
	}
}

// TestRunbook: the runbook names this cluster's hosts and how to reach them, cites the
// procedure's steps in order, and every command block it gives is valid bash.
func TestRunbook(t *testing.T) {
	t.Parallel()
	for _, ex := range coordExamples {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			e := newCoordEnv(t, ex, nil)
			data, err := os.ReadFile(filepath.Join(e.kitDir, "RUNBOOK.md"))
			if err != nil {
				t.Fatal(err)
			}
			rb := string(data)
			want := []string{"sha256sum -c SHA256SUMS", "Recovery host (step 1): `" + e.inv.RecoveryHost + "`",
				"sudo bash ./04-stop-static-pods.sh", "sudo bash ./05-restore.sh", "sudo bash ./08-restart-kubelet.sh", "./redeploy.sh",
				"./recover.sh --dry-run", "sudo -E /usr/local/bin/cluster-restore.sh " + e.inv.Backup.RemoteDir,
				"sudo crictl ps --name '^etcd$' --state running", "Unable to connect to the server: EOF",
				`oc patch "$OP" cluster -p='{"spec": {"forceRedeploymentReason": "recovery-'"$( date --rfc-3339=ns )"'"}}' --type=merge`,
				"AllNodesAtLatestRevision", fmt.Sprintf("%d nodes are at revision", len(e.inv.Masters))}
			for _, m := range e.inv.Masters {
				s := e.inv.EffectiveSSH(m)
				ssh := "ssh -F ssh_config " + m.Name + "\n"
				want = append(want, "| `"+m.Name+"` | `"+m.ExpectedHostname()+"` | `"+m.Address+"` | "+fmt.Sprint(s.Port)+" |", ssh, "- `etcd-"+m.Name+"`")
			}
			for _, b := range e.inv.Backup.Files {
				want = append(want, b.SHA256)
			}
			for _, w := range want {
				if !strings.Contains(rb, w) {
					t.Errorf("RUNBOOK.md lacks %q", w)
				}
			}
			// The procedure's steps appear in order.
			at := 0
			for _, h := range []string{"## The plan", "| `preflight` | P1-P5, 1, 2 |", "| `verify-members` | 13 |", "## 0. Verify the kit", "## Preconditions P1-P5",
				"### Steps P1-P5, 1, 2 (preflight)", "**Step 1: the recovery host.**", "**Step 2: open a session to every host.**",
				"### Step 3 (copy-backup)", "### Step 3 (push-scripts)", "### Step 4 (stop-static-pods)", "### Steps 5-7 (restore)",
				"### Step 8 (restart-kubelet)", "### Step 9 (verify-single-member)", "### Steps 10-11 (redeploy-etcd)",
				"### Step 12.1 (redeploy-kubeapiserver)", "### Step 12.2 (redeploy-kubecontrollermanager)", "### Step 12.3 (redeploy-kubescheduler)",
				"### Step 13 (verify-members)"} {
				i := strings.Index(rb[at:], h)
				if i < 0 {
					t.Errorf("RUNBOOK.md lacks %q after byte %d", h, at)
					continue
				}
				at += i
			}
			// Every command block is valid bash.
			blocks := regexp.MustCompile("(?s)```bash\n(.*?)```").FindAllStringSubmatch(rb, -1)
			if len(blocks) < 10 {
				t.Errorf("only %d command blocks", len(blocks))
			}
			for _, b := range blocks {
				cmd := exec.Command("bash", "-n")
				cmd.Stdin = strings.NewReader(b[1])
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("command block does not parse: %v\n%s\n%s", err, out, b[1])
				}
			}
		})
	}
}

// TestRecoverInterrupted: Ctrl-C while step 4 runs stops the host jobs, names the step
// and the resume command; the re-run finishes step 4 only where it had not finished.
func TestRecoverInterrupted(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	slow := e.inv.Others()[1]
	e.touch(filepath.Join(e.host(slow), "slow-04-stop-static-pods.sh"), "60")
	bin, err := filepath.Abs(filepath.Join("testdata", "coord", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(e.kitDir, "recover.sh"), "--yes")
	cmd.Env = append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(e.fake, "home"), "TMPDIR=" + filepath.Join(e.fake, "tmp"),
		"XDG_RUNTIME_DIR=" + filepath.Join(e.fake, "tmp"), "LC_ALL=C", "FAKE_ROOT=" + e.fake}, e.env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := "host\x1f" + slow.Address + "\x1f04-stop-static-pods.sh"
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile(filepath.Join(e.fake, "calls.log"))
		if strings.Contains(string(data), started) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("step 4 never started on %s", slow.Name)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted recover.sh: %v, want exit 130\n%s", err, out.String())
	}
	for _, want := range []string{"FAILED: step 4 (stop-static-pods), exit 130", "resume at this step with:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if index(e.calls(), hostRun(e.inv.Recovery().Address, "05-restore.sh")) >= 0 {
		t.Errorf("05-restore.sh ran after the interruption")
	}
	if err := os.Remove(filepath.Join(e.host(slow), "slow-04-stop-static-pods.sh")); err != nil {
		t.Fatal(err)
	}
	res := e.mustRun(0, "recover.sh", "--yes")
	calls := e.calls()
	for _, m := range e.inv.Others() {
		want := 0
		if m.Name == slow.Name {
			want = 1
		}
		if n := countCalls(calls, hostRun(m.Address, "04-stop-static-pods.sh")); n != want {
			t.Errorf("re-run: 04-stop-static-pods.sh ran %d times on %s, want %d\n%s", n, m.Name, want, res)
		}
	}
	if index(calls, ocCall("patch", "kubescheduler", "cluster")) < 0 {
		t.Errorf("re-run did not finish:\n%s", res)
	}
}

// TestRecoverWaitsForEarlierRestore: a 05-restore.sh left running by an interrupted run is
// waited for; the restore never runs twice at the same time.
func TestRecoverWaitsForEarlierRestore(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	rec := e.host(e.inv.Recovery())
	e.touch(filepath.Join(rec, "ps"), "bash restorekit/ocp4-recovery-kit/05-restore.sh --yes\n/bin/bash /usr/local/bin/cluster-restore.sh /home/core/backup\n")
	e.touch(filepath.Join(rec, "ps-count"), "2")
	out := e.mustRun(0, "recover.sh", "--yes")
	calls := e.calls()
	want := "an earlier 05-restore.sh (or the cluster-restore.sh it started) is still running on " + e.inv.RecoveryHost
	if !strings.Contains(out, want) || !strings.Contains(out, "still running on "+e.inv.RecoveryHost+": bash restorekit/ocp4-recovery-kit/05-restore.sh --yes;/bin/bash /usr/local/bin/cluster-restore.sh") {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	restoreAt := index(calls, hostRun(e.inv.Recovery().Address, "05-restore.sh"))
	if n := countCalls(calls[:max(restoreAt, 0)], func(c coordCall) bool { return c.Tool == "ps" }); restoreAt < 0 || n != 3 {
		t.Errorf("05-restore.sh at %d after %d ps calls, want after 3 (2 showing the earlier restore)", restoreAt, n)
	}
}

// TestCoordinatorBash42: the workstation runs bash 4.2 (RHEL 7): the coordinator scripts
// use nothing newer.
func TestCoordinatorBash42(t *testing.T) {
	t.Parallel()
	newer := []struct{ re, why string }{
		{`EPOCHSECONDS|EPOCHREALTIME`, "bash 5.0"},
		{`\bwait\s+-[a-z]*[np]`, "wait -n is bash 4.3, wait -p 5.1"},
		{`\$\{[^}]*@[QEPAKaULuk]\}`, "${var@op} is bash 4.4"},
		{`\b(declare|local|typeset)\s+-[a-zA-Z]*n`, "namerefs are bash 4.3"},
		{`\b(mapfile|readarray)\s+.*-d`, "mapfile -d is bash 4.4"},
		{`\[-[0-9]+\]\}`, "negative array indexes are bash 4.3"},
		{`shopt\s+-s\s+(inherit_errexit|localvar_inherit|assoc_expand_once)`, "bash 4.4+"},
		{`\[\[\s+-v\s`, "[[ -v ]] of array elements is bash 4.3"},
	}
	for _, ex := range coordExamples {
		e := newCoordEnv(t, ex, nil)
		for _, s := range []string{"recover.sh", "redeploy.sh"} {
			data, err := os.ReadFile(filepath.Join(e.kitDir, s))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "#") {
					continue
				}
				for _, n := range newer {
					if regexp.MustCompile(n.re).MatchString(line) {
						t.Errorf("%s %s:%d: %s: %s", ex, s, i+1, n.why, strings.TrimSpace(line))
					}
				}
			}
		}
	}
}

// TestRecoverAfterCompletedRecovery: a second recovery of an already recovered cluster
// (another state directory) stops in the preflight, unless --again, which the host
// scripts that refuse to redo a completed run receive too.
func TestRecoverAfterCompletedRecovery(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	run := filepath.Join(e.inv.QuarantineDir, "restorekit-ocp4-20200805T101010Z-4242")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	e.touch(filepath.Join(run, "completed"), "05-restore.sh\nab12\n")
	out := e.mustRun(1, "recover.sh", "--yes")
	want := "an earlier recovery of this cluster completed on its hosts (ip-10-0-143-125.ec2.internal: 05-restore.sh completed in " + run
	if !strings.Contains(out, want) || !strings.Contains(out, "run recover.sh with --again") {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if i := index(e.calls(), coordCall.changes); i >= 0 {
		t.Errorf("changed something although an earlier recovery completed")
	}
	out = e.mustRun(0, "recover.sh", "--yes", "--again")
	if !strings.Contains(out, "--again: recovering again") {
		t.Errorf("--again does not say so:\n%s", out)
	}
	for _, c := range e.calls() {
		if c.Tool != "host" {
			continue
		}
		again := c.has("--again")
		if want := c.Args[1] != "08-restart-kubelet.sh"; again != want {
			t.Errorf("%s ran with --again %v, want %v", c.Args[1], again, want)
		}
	}
}
