package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// A fakeHost is a control-plane host simulated in a temporary directory: a fake root
// file system with the paths the procedure touches, the fake tools of
// testdata/fakehost first on PATH, and a kit rendered with its paths pointed there.
type fakeHost struct {
	t          *testing.T
	root       string // the fake "/"
	quarantine string // the inventory's quarantineDir
	bin        string // fake crictl, systemctl, hostname
	hostname   string // what the fake hostname prints
	env        []string
	inv        *inventory.Inventory
	kit        *Kit
	paths      HostPaths // the host paths the kit was rendered with
}

// skipUnlessRoot skips execution tests when not root: the scripts refuse to run
// otherwise, and there is no way around that check (by design).
func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("host script execution tests need root: the scripts refuse to run as any other user (CI runs them as root)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not on PATH")
	}
}

// loadExample loads an example inventory with its backup pair.
func loadExample(t testing.TB, name string) *inventory.Inventory {
	t.Helper()
	// As restorekit build loads it: the backup pair read inside, its release recorded.
	inv, _, err := inventory.Load(filepath.Join("..", "examples", name+".yaml"), inventory.LoadOptions{ReadBackup: true})
	if err != nil {
		t.Fatalf("load example %s: %v", name, err)
	}
	return inv
}

// newFakeHost builds a fake root for the master called node of the three-master
// example, with every file the procedure touches, and the backup pair in remoteDir.
func newFakeHost(t *testing.T, node string, tune func(inv *inventory.Inventory)) *fakeHost {
	t.Helper()
	skipUnlessRoot(t)
	dir := t.TempDir()
	h := &fakeHost{t: t, root: filepath.Join(dir, "root"), quarantine: filepath.Join(dir, "quarantine"), bin: filepath.Join(dir, "bin")}
	h.inv = loadExample(t, "three-masters")
	h.inv.QuarantineDir = h.quarantine
	h.inv.Backup.RemoteDir = filepath.Join(h.root, "home/core/backup")
	h.inv.Timeouts.PollInterval = inventory.Duration(time.Second)
	if tune != nil {
		tune(h.inv)
	}
	for _, m := range h.inv.Masters {
		if m.Name == node {
			h.hostname = m.ExpectedHostname()
		}
	}
	if h.hostname == "" {
		t.Fatalf("no master %s in the inventory", node)
	}

	// The state of a healthy master before the restore. Every file's content is
	// unique, so its sha256 proves where it went.
	files := map[string]string{
		"etc/kubernetes/manifests/etcd-pod.yaml":                                     "",
		"etc/kubernetes/manifests/kube-apiserver-pod.yaml":                           "",
		"etc/kubernetes/manifests/kube-controller-manager-pod.yaml":                  "",
		"etc/kubernetes/manifests/kube-scheduler-pod.yaml":                           "",
		"etc/kubernetes/static-pod-resources/etcd-pod-1/pod.yaml":                    "",
		"etc/kubernetes/static-pod-resources/kube-apiserver-pod-3/pod.yaml":          "",
		"etc/kubernetes/static-pod-resources/kube-controller-manager-pod-2/pod.yaml": "",
		"etc/kubernetes/static-pod-resources/kube-scheduler-pod-2/pod.yaml":          "",
		"var/lib/etcd/member/snap/db":                                                "",
		"var/lib/etcd/member/wal/0000000000000000-0000000000000000.wal":              "",
	}
	for name := range files {
		h.write(name, fmt.Sprintf("%s on %s\n", name, node))
	}
	for _, f := range h.inv.Backup.Files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		h.write(filepath.Join("home/core/backup", f.Name), string(data))
	}
	copyFile(t, "testdata/fakehost/cluster-restore.sh", filepath.Join(h.root, "usr/local/bin/cluster-restore.sh"))
	for _, tool := range []string{"crictl", "systemctl", "hostname", "ip"} {
		copyFile(t, filepath.Join("testdata/fakehost", tool), filepath.Join(h.bin, tool))
	}
	h.env = append(os.Environ(),
		"PATH="+h.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKEHOST_ROOT="+h.root,
		"FAKEHOST_LOG="+filepath.Join(dir, "commands.log"),
		"LC_ALL=C",
	)
	h.render()
	return h
}

// render (re-)renders the kit from h.inv with the host paths inside the fake root.
func (h *fakeHost) render() {
	h.t.Helper()
	paths := hostPaths
	for _, p := range []*string{&paths.Manifests, &paths.StaticPodResources, &paths.EtcdData, &paths.EtcdBackup, &paths.ClusterRestore, &paths.StoppedManifests, &paths.Bin, &paths.OC} {
		*p = filepath.Join(h.root, *p)
	}
	kit, err := render(h.inv, Options{ToolVersion: "test"}, paths)
	if err != nil {
		h.t.Fatalf("render: %v", err)
	}
	h.kit, h.paths = kit, paths
}

func (h *fakeHost) write(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) exists(name string) bool {
	_, err := os.Lstat(filepath.Join(h.root, name))
	return err == nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// result is one run of a host script.
type result struct {
	code   int
	stderr string
	stdout string
}

// install copies a host script into dir with the kit's host library beside it, as
// the RUNBOOK's copy commands do, and returns the script's path.
func (h *fakeHost) install(dir string, f *File) string {
	h.t.Helper()
	lib := h.kit.File(HostLibPath)
	if lib == nil {
		h.t.Fatalf("kit has no %s", HostLibPath)
	}
	path := filepath.Join(dir, filepath.Base(f.Name))
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(HostLibPath)), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, HostLibPath), lib.Data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, f.Data, 0o755); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// run runs the kit's hosts/<node>/<script> with real bash, stdin not a terminal.
func (h *fakeHost) run(node, script string, extraEnv []string, args ...string) result {
	h.t.Helper()
	f := h.kit.File("hosts/" + node + "/" + script)
	if f == nil {
		h.t.Fatalf("kit has no hosts/%s/%s", node, script)
	}
	dir := h.t.TempDir()
	path := h.install(dir, f)
	cmd := exec.Command("bash", append([]string{path}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(append([]string{}, h.env...), "FAKEHOST_HOSTNAME="+h.hostname), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		h.t.Fatalf("run %s: %v", script, err)
	}
	h.t.Logf("%s %s: exit %d\n%s", script, strings.Join(args, " "), res.code, res.stderr)
	return res
}

// commands is what the fake tools were asked to do, one call per line.
func (h *fakeHost) commands() string {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(h.root), "commands.log"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.t.Fatal(err)
	}
	return string(data)
}

// runDirs are the run directories under the quarantine, oldest first.
func (h *fakeHost) runDirs() []string {
	h.t.Helper()
	matches, err := filepath.Glob(filepath.Join(h.quarantine, "restorekit-"+h.inv.Cluster.Name+"-*"))
	if err != nil {
		h.t.Fatal(err)
	}
	sort.Strings(matches)
	return matches
}

// snapshot describes every file, directory and link under the fake root and the
// quarantine (the fake tools' bookkeeping excepted): what "nothing changed" compares.
func (h *fakeHost) snapshot() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, top := range []string{h.root, h.quarantine} {
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == top {
				return nil
			}
			if err != nil {
				return err
			}
			if d.Name() == ".fakehost" {
				return filepath.SkipDir
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			desc := info.Mode().String()
			if info.Mode().IsRegular() {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				desc += " " + sha256Hex(data)
			}
			out[p] = desc
			return nil
		})
		if err != nil {
			h.t.Fatal(err)
		}
	}
	return out
}

// digests maps the sha256 of every regular file under the fake root and the
// quarantine to the paths holding it.
func (h *fakeHost) digests() map[string][]string {
	h.t.Helper()
	out := map[string][]string{}
	for p, desc := range h.snapshot() {
		if i := strings.LastIndexByte(desc, ' '); i > 0 {
			out[desc[i+1:]] = append(out[desc[i+1:]], p)
		}
	}
	return out
}

// assertUnchanged fails when anything under the fake root or the quarantine differs.
func (h *fakeHost) assertUnchanged(before map[string]string) {
	h.t.Helper()
	after := h.snapshot()
	for p, d := range before {
		if after[p] != d {
			h.t.Errorf("changed: %s: was %q, now %q", p, d, after[p])
		}
	}
	for p, d := range after {
		if _, ok := before[p]; !ok {
			h.t.Errorf("created: %s (%s)", p, d)
		}
	}
}

// assertNothingLost fails unless every file of before still exists somewhere with
// the same content, and (when once) in exactly one place: moved, not copied twice.
func (h *fakeHost) assertNothingLost(before map[string]string, once bool) {
	h.t.Helper()
	now := h.digests()
	for p, d := range before {
		if h.isBookkeeping(p) {
			continue
		}
		i := strings.LastIndexByte(d, ' ')
		if i < 0 {
			continue
		}
		sum := d[i+1:]
		switch n := len(now[sum]); {
		case n == 0:
			h.t.Errorf("lost: %s (sha256 %s) exists nowhere any more", p, sum)
		case once && n > 1:
			h.t.Errorf("%s (sha256 %s) exists %d times: %v", p, sum, n, now[sum])
		}
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runInterrupted runs a host script like run; once its stderr shows marker (it has
// reached the point to interrupt) it calls during, if any, then sends sig.
func (h *fakeHost) runInterrupted(node, script string, extraEnv []string, marker string, during func(), sig os.Signal, args ...string) result {
	h.t.Helper()
	f := h.kit.File("hosts/" + node + "/" + script)
	if f == nil {
		h.t.Fatalf("kit has no hosts/%s/%s", node, script)
	}
	dir := h.t.TempDir()
	path := h.install(dir, f)
	cmd := exec.Command("bash", append([]string{path}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(append([]string{}, h.env...), "FAKEHOST_HOSTNAME="+h.hostname), extraEnv...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			h.t.Errorf("%s ended before %q appeared", script, marker)
			waiting = false
		case <-time.After(50 * time.Millisecond):
			if strings.Contains(stderr.String(), marker) {
				if during != nil {
					during()
				}
				if err := cmd.Process.Signal(sig); err != nil {
					h.t.Fatal(err)
				}
				err = <-done
				waiting = false
			}
		}
	}
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		h.t.Fatalf("run %s: %v", script, err)
	}
	h.t.Logf("%s %s (interrupted): exit %d\n%s", script, strings.Join(args, " "), res.code, res.stderr)
	return res
}

// isBookkeeping reports whether p is a script's own record at the top of a run
// directory (run.log, running, completed, ...), not something moved there.
func (h *fakeHost) isBookkeeping(p string) bool {
	dir := filepath.Dir(p)
	return filepath.Dir(dir) == h.quarantine && strings.HasPrefix(filepath.Base(dir), "restorekit-")
}
