package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// The three-master example: the recovery host and one of the others.
const (
	recoveryNode = "ip-10-0-143-125.ec2.internal"
	otherNode    = "ip-10-0-154-194.ec2.internal"
)

func wantCode(t *testing.T, r result, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
	for _, s := range contains {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not contain %q", s)
		}
	}
}

func TestStopStaticPodsMovesIntoRunDir(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	// An earlier manual attempt left <quarantineDir>/etcd (the procedure's /tmp/etcd).
	stale := filepath.Join(h.quarantine, "etcd", "member", "snap", "db")
	must(t, os.MkdirAll(filepath.Dir(stale), 0o755))
	must(t, os.WriteFile(stale, []byte("an earlier manual attempt\n"), 0o644))
	before := h.snapshot()
	r := h.run(otherNode, "04-stop-static-pods.sh", []string{"FAKEHOST_STOP_POLLS=2"}, "--yes")
	wantCode(t, r, 0, "step 4.1", "step 4.2", "step 4.3", "step 4.4", "step 4.5", "where everything went:")

	dirs := h.runDirs()
	if len(dirs) != 1 {
		t.Fatalf("run directories: %v, want exactly one", dirs)
	}
	run := dirs[0]
	if got, err := os.ReadFile(stale); err != nil || string(got) != "an earlier manual attempt\n" {
		t.Errorf("%s changed: %q, %v", stale, got, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(h.quarantine, "etcd")); len(entries) != 1 {
		t.Errorf("something was moved into the existing %s: %v", filepath.Join(h.quarantine, "etcd"), entries)
	}
	if !strings.Contains(r.stderr, "run directory: "+run) {
		t.Errorf("the run directory %s is not printed", run)
	}
	if info, err := os.Stat(run); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("run directory mode: %v %v, want 0700", info, err)
	}
	for _, gone := range []string{"etc/kubernetes/manifests/etcd-pod.yaml", "etc/kubernetes/manifests/kube-apiserver-pod.yaml", "var/lib/etcd"} {
		if h.exists(gone) {
			t.Errorf("%s is still in place", gone)
		}
		moved := filepath.Join(run, h.root, gone)
		if _, err := os.Stat(moved); err != nil {
			t.Errorf("%s was not moved to %s: %v", gone, moved, err)
		}
		if !strings.Contains(r.stderr, "moved "+filepath.Join(h.root, gone)+" to "+moved) {
			t.Errorf("where %s went is not printed", gone)
		}
	}
	for _, kept := range []string{"etc/kubernetes/manifests/kube-controller-manager-pod.yaml", "etc/kubernetes/manifests/kube-scheduler-pod.yaml"} {
		if !h.exists(kept) {
			t.Errorf("%s was moved; step 4 leaves it alone", kept)
		}
	}
	h.assertNothingLost(before, true)

	log, err := os.ReadFile(filepath.Join(run, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "host check: hostname is") || !strings.Contains(string(log), "step 4.5: moved") {
		t.Errorf("run.log lacks the early lines or the steps:\n%s", log)
	}
	// Exact container names, never a substring match that also sees operators.
	cmds := h.commands()
	for _, want := range []string{"crictl ps --name ^etcd$ --state running -q", "crictl ps --name ^kube-apiserver$ --state running -q"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("never ran %q; ran:\n%s", want, cmds)
		}
	}
	if !strings.Contains(r.stderr, "still waiting") {
		t.Errorf("no progress line while the containers were stopping")
	}
	// The wait for etcd ends before kube-apiserver's manifest moves.
	if i, j := strings.Index(r.stderr, "step 4.2: no etcd container runs"), strings.Index(r.stderr, "step 4.3: moved"); i < 0 || j < 0 || i > j {
		t.Errorf("step 4.3 did not wait for step 4.2 (%d, %d)", i, j)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		node, script string
		want         []string
	}{
		{otherNode, "04-stop-static-pods.sh", []string{"dry-run: would run: mv -T --", "dry-run: step 4.2: would wait until no etcd container runs", "now: still running: etcd ("}},
		{recoveryNode, "05-restore.sh", []string{"size and sha256 match kit.json", "dry-run: would run: mv -T -- ", "dry-run: would run: env ", "/usr/local/bin/cluster-restore.sh "}},
		{recoveryNode, "08-restart-kubelet.sh", []string{"dry-run: would run: systemctl restart kubelet.service", "dry-run: step 9.1: would wait until the same etcd container runs over 3 polls in a row"}},
		{otherNode, "08-restart-kubelet.sh", []string{"dry-run: would run: systemctl restart kubelet.service"}},
	}
	for _, tt := range tests {
		t.Run(tt.node+"/"+tt.script, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, tt.node, nil)
			// 05-restore.sh would set this aside; the dry run only says so.
			h.write("var/lib/etcd-backup/member/snap/db", "an earlier attempt\n")
			before := h.snapshot()
			r := h.run(tt.node, tt.script, nil, "--dry-run")
			wantCode(t, r, 0, append(tt.want, "dry-run: would create ")...)
			h.assertUnchanged(before)
			for _, changing := range []string{"systemctl restart", "cluster-restore.sh "} {
				if strings.Contains(h.commands(), changing) {
					t.Errorf("the dry run ran %q", changing)
				}
			}
		})
	}
}

func TestStopStaticPodsRerunIsIdempotent(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	before := h.snapshot()
	wantCode(t, h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes"), 0)
	first := h.runDirs()
	// The second run starts at least one second later, so its directory differs.
	time.Sleep(time.Second)
	r := h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes")
	wantCode(t, r, 0, "already moved to "+first[0])
	dirs := h.runDirs()
	if len(dirs) != 2 {
		t.Fatalf("run directories %v, want two", dirs)
	}
	entries, err := os.ReadDir(dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !h.isBookkeeping(filepath.Join(dirs[1], e.Name())) || e.IsDir() {
			t.Errorf("the second run moved something: %s", e.Name())
		}
	}
	h.assertNothingLost(before, true)
}

func TestHostScriptsRefuseTheWrongHost(t *testing.T) {
	t.Parallel()
	for _, script := range []string{"04-stop-static-pods.sh", "08-restart-kubelet.sh"} {
		t.Run(script, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, otherNode, nil)
			h.hostname = "ip-10-0-173-171.ec2.internal"
			before := h.snapshot()
			r := h.run(otherNode, script, nil, "--yes")
			wantCode(t, r, 2, "wrong host", "--force-host", "Nothing was changed")
			h.assertUnchanged(before)
			if strings.Contains(h.commands(), "systemctl restart") {
				t.Errorf("kubelet restarted on the wrong host")
			}
		})
	}
	t.Run("05-restore.sh", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, nil)
		h.hostname = otherNode
		before := h.snapshot()
		wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, "--yes"), 2, "wrong host")
		h.assertUnchanged(before)
		if strings.Contains(h.commands(), "cluster-restore.sh") {
			t.Errorf("cluster-restore.sh ran on the wrong host")
		}
	})
}

func TestHostnameForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hostname string // what `hostname` prints
		args     []string
		code     int
	}{
		{"exact", otherNode, nil, 0},
		{"upper case", strings.ToUpper(otherNode), nil, 0},
		{"short form of the FQDN", "ip-10-0-154-194", nil, 0},
		{"another master", "ip-10-0-173-171", nil, 2},
		{"same prefix", "ip-10-0-154-1945", nil, 2},
		{"forced", "rescue-shell", []string{"--force-host"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, otherNode, nil)
			h.hostname = tt.hostname
			r := h.run(otherNode, "08-restart-kubelet.sh", nil, append([]string{"--yes"}, tt.args...)...)
			wantCode(t, r, tt.code)
		})
	}
}

func TestHostScriptsNeedConfirmation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ node, script string }{
		{otherNode, "04-stop-static-pods.sh"}, {recoveryNode, "05-restore.sh"}, {recoveryNode, "08-restart-kubelet.sh"},
	} {
		t.Run(tt.script, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, tt.node, nil)
			before := h.snapshot()
			r := h.run(tt.node, tt.script, nil)
			wantCode(t, r, 2, "stdin is not a terminal", "--yes", "plan for "+tt.node)
			h.assertUnchanged(before)
		})
	}
}

func TestHostScriptsUsage(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	r := h.run(otherNode, "04-stop-static-pods.sh", nil, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "usage: sudo bash ./04-stop-static-pods.sh") || !strings.Contains(r.stdout, "Exit codes:") {
		t.Errorf("--help: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	wantCode(t, h.run(otherNode, "04-stop-static-pods.sh", nil, "--bogus"), 2, "unknown argument: --bogus")
	// The usage line names --again exactly where the script takes it.
	for _, tt := range []struct {
		node, script string
		again        bool
	}{{otherNode, "04-stop-static-pods.sh", true}, {recoveryNode, "05-restore.sh", true}, {otherNode, "08-restart-kubelet.sh", false}} {
		r := h.run(tt.node, tt.script, nil, "--help")
		usage, _, _ := strings.Cut(r.stdout, "\n")
		if got := strings.Contains(usage, "[--again]"); got != tt.again {
			t.Errorf("%s usage line %q: names --again %v, want %v", tt.script, usage, got, tt.again)
		}
	}
}

func TestStopStaticPodsTimesOut(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, func(inv *inventory.Inventory) {
		inv.Timeouts.StaticPodStop = inventory.Duration(2 * time.Second)
	})
	before := h.snapshot()
	r := h.run(otherNode, "04-stop-static-pods.sh", []string{"FAKEHOST_STUCK=etcd-metrics"}, "--yes")
	wantCode(t, r, 3, "step 4.2: timed out after", "Expected: no etcd container runs", "Seen: still running: etcd-metrics (", "What to do:")
	if strings.Contains(r.stderr, "step 4.3") {
		t.Errorf("a later step ran after the timeout")
	}
	if !h.exists("etc/kubernetes/manifests/kube-apiserver-pod.yaml") || !h.exists("var/lib/etcd") {
		t.Errorf("steps 4.3-4.5 changed something after the timeout")
	}
	h.assertNothingLost(before, true)
	// Once the container has stopped, a re-run continues where the first stopped.
	time.Sleep(time.Second)
	r = h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes")
	wantCode(t, r, 0, "already moved to", "step 4.5: moved")
	h.assertNothingLost(before, true)
}

func TestRestoreRunsClusterRestore(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, recoveryNode, func(inv *inventory.Inventory) {
		inv.Proxy = &inventory.Proxy{HTTPProxy: "http://proxy.example.com:3128", HTTPSProxy: "http://proxy.example.com:3128", NoProxy: ".cluster.local,10.0.0.0/16"}
	})
	// Left by an earlier, manual attempt: cluster-restore.sh would delete its member/.
	h.write("var/lib/etcd-backup/member/snap/db", "the data of an earlier attempt\n")
	before := h.snapshot()
	r := h.run(recoveryNode, "05-restore.sh", nil, "--yes")
	wantCode(t, r, 0, "step 7: moved "+filepath.Join(h.root, "var/lib/etcd-backup")+" to ", "size and sha256 match kit.json", "step 6: exported HTTP_PROXY=", "restore complete", "cluster-restore.sh finished")
	want := "cluster-restore.sh " + h.inv.Backup.RemoteDir + " HTTP_PROXY=http://proxy.example.com:3128 HTTPS_PROXY=http://proxy.example.com:3128 NO_PROXY=.cluster.local,10.0.0.0/16"
	if !strings.Contains(h.commands(), want) {
		t.Errorf("cluster-restore.sh was not run with the proxy; want %q in:\n%s", want, h.commands())
	}
	if !h.exists("var/lib/etcd-backup/member/snap/db") || !h.exists("etc/kubernetes/manifests/etcd-pod.yaml") {
		t.Errorf("the restore did not happen")
	}
	run := h.runDirs()[0]
	if _, err := os.Stat(filepath.Join(run, "cluster-restore.log")); err != nil {
		t.Errorf("no cluster-restore.log in the run directory: %v", err)
	}
	h.assertNothingLost(before, false)
}

func TestRestoreTwiceKeepsTheFirstBackup(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, recoveryNode, nil)
	before := h.snapshot()
	wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, "--yes"), 0)
	firstMember := sha256File(t, filepath.Join(h.root, "var/lib/etcd-backup/member/snap/db"))
	afterFirst := h.snapshot()
	time.Sleep(time.Second)
	r := h.run(recoveryNode, "05-restore.sh", nil, "--yes", "--again")
	wantCode(t, r, 0, "step 7: moved "+filepath.Join(h.root, "var/lib/etcd-backup"), "NOTE: --again")
	second := h.runDirs()[1]
	kept := filepath.Join(second, h.root, "var/lib/etcd-backup/member/snap/db")
	if got := sha256File(t, kept); got != firstMember {
		t.Errorf("%s: sha256 %s, want the first run's %s", kept, got, firstMember)
	}
	h.assertNothingLost(before, false)
	h.assertNothingLost(afterFirst, false)
}

func TestRestoreChecksChangeNothing(t *testing.T) {
	t.Parallel()
	backup := "home/core/backup/"
	tests := []struct {
		name  string
		setup func(h *fakeHost)
		want  string
	}{
		{"snapshot missing", func(h *fakeHost) {
			must(t, os.Remove(filepath.Join(h.root, backup, h.inv.Backup.Files[0].Name)))
		}, "is missing"},
		{"another pair beside it", func(h *fakeHost) {
			h.write(backup+"snapshot_2020-09-01_000000.db", "newer")
			h.write(backup+"static_kuberesources_2020-09-01_000000.tar.gz", "newer")
		}, "is not part of the backup pair, but cluster-restore.sh could pick it"},
		{"checksum differs", func(h *fakeHost) {
			p := filepath.Join(h.root, backup, h.inv.Backup.Files[1].Name)
			data, err := os.ReadFile(p)
			must(t, err)
			data[len(data)-1] ^= 0xff
			must(t, os.WriteFile(p, data, 0o644))
		}, "kit.json records " + "%s"},
		{"size differs", func(h *fakeHost) {
			h.write(backup+h.inv.Backup.Files[0].Name, "short")
		}, "has 5 bytes"},
		{"no backup directory", func(h *fakeHost) {
			must(t, os.RemoveAll(filepath.Join(h.root, backup)))
		}, "does not exist"},
		{"never an etcd member", func(h *fakeHost) {
			must(t, os.RemoveAll(filepath.Join(h.root, "etc/kubernetes/static-pod-resources/etcd-pod-1")))
		}, "has never run an etcd member"},
		{"no cluster-restore.sh", func(h *fakeHost) {
			must(t, os.Remove(filepath.Join(h.root, "usr/local/bin/cluster-restore.sh")))
		}, "is missing or not executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, recoveryNode, nil)
			tt.setup(h)
			want := tt.want
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", h.inv.Backup.Files[1].SHA256)
			}
			before := h.snapshot()
			for _, args := range [][]string{{"--yes"}, {"--dry-run"}} {
				r := h.run(recoveryNode, "05-restore.sh", nil, args...)
				wantCode(t, r, 1, want, "nothing was changed")
				h.assertUnchanged(before)
			}
			if strings.Contains(h.commands(), "cluster-restore.sh") {
				t.Errorf("cluster-restore.sh ran although a check failed")
			}
		})
	}
}

func TestRestoreFailureAndTimeout(t *testing.T) {
	t.Parallel()
	t.Run("cluster-restore.sh fails", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, nil)
		before := h.snapshot()
		r := h.run(recoveryNode, "05-restore.sh", []string{"FAKEHOST_RESTORE_FAIL=1"}, "--yes")
		wantCode(t, r, 1, "step 7: "+filepath.Join(h.root, "usr/local/bin/cluster-restore.sh")+" exited with status 1", "cluster-restore.log")
		h.assertNothingLost(before, true)
	})
	t.Run("cluster-restore.sh hangs", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, func(inv *inventory.Inventory) {
			inv.Timeouts.Restore = inventory.Duration(2 * time.Second)
		})
		r := h.run(recoveryNode, "05-restore.sh", []string{"FAKEHOST_RESTORE_SLEEP=30"}, "--yes")
		wantCode(t, r, 3, "step 7: timed out after", "Expected: cluster-restore.sh to finish", "What to do:")
	})
}

func TestRestartKubelet(t *testing.T) {
	t.Parallel()
	t.Run("recovery host checks etcd runs (9.1)", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, nil)
		r := h.run(recoveryNode, "08-restart-kubelet.sh", nil, "--yes")
		wantCode(t, r, 0, "step 8: kubelet.service is active: yes", "step 9.1: the same etcd container runs over 3 polls in a row: yes")
		completed, err := os.ReadFile(filepath.Join(h.runDirs()[0], "completed"))
		if err != nil || !strings.HasPrefix(string(completed), "08-restart-kubelet.sh\n") {
			t.Errorf("run directory: completed = %q, %v", completed, err)
		}
		if !strings.Contains(h.commands(), "systemctl restart kubelet.service") || !strings.Contains(h.commands(), "crictl ps --name ^etcd$ --state running -q") {
			t.Errorf("commands:\n%s", h.commands())
		}
	})
	t.Run("other host does not look for etcd", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, otherNode, nil)
		r := h.run(otherNode, "08-restart-kubelet.sh", nil, "--yes")
		wantCode(t, r, 0, "step 8 is done")
		if strings.Contains(h.commands(), "crictl") {
			t.Errorf("08-restart-kubelet.sh on a non-recovery host ran crictl")
		}
	})
	t.Run("etcd never runs", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, func(inv *inventory.Inventory) {
			inv.Timeouts.SingleMember = inventory.Duration(2 * time.Second)
		})
		must(t, os.Remove(filepath.Join(h.root, "etc/kubernetes/manifests/etcd-pod.yaml")))
		r := h.run(recoveryNode, "08-restart-kubelet.sh", nil, "--yes")
		wantCode(t, r, 3, "step 9.1: timed out", "Seen: no running etcd container", "What to do:")
	})
	t.Run("kubelet never active", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, otherNode, func(inv *inventory.Inventory) {
			inv.Timeouts.KubeletRestart = inventory.Duration(2 * time.Second)
		})
		r := h.run(otherNode, "08-restart-kubelet.sh", []string{"FAKEHOST_KUBELET_STATE=activating"}, "--yes")
		wantCode(t, r, 3, "step 8: timed out", "Seen: systemctl is-active kubelet.service prints activating")
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestInterruptedScriptsSayWhereThingsAre(t *testing.T) {
	t.Parallel()
	t.Run("04-stop-static-pods.sh during the wait", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, otherNode, nil)
		before := h.snapshot()
		r := h.runInterrupted(otherNode, "04-stop-static-pods.sh", []string{"FAKEHOST_STUCK=etcd"}, "step 4.2: still waiting", func() {
			// A second run while the first waits is refused and changes nothing.
			r := h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes")
			wantCode(t, r, 2, "another run is still going on this host: 04-stop-static-pods.sh (pid ", "Nothing was changed")
			if strings.Contains(r.stderr, "step 4.3") {
				t.Errorf("the second run went on")
			}
		}, syscall.SIGINT, "--yes")
		wantCode(t, r, 1, "interrupted during step 4.2", "where everything went:", "etc/kubernetes/manifests/etcd-pod.yaml -> ")
		h.assertNothingLost(before, true)
	})
	t.Run("05-restore.sh while cluster-restore.sh runs", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, nil)
		r := h.runInterrupted(recoveryNode, "05-restore.sh", []string{"FAKEHOST_RESTORE_SLEEP=5"}, "cluster-restore.sh running", nil, syscall.SIGTERM, "--yes")
		wantCode(t, r, 1, "interrupted during step 7", "is still running and was not stopped")
		m := regexp.MustCompile(`cluster-restore.sh \(pid (\d+)\) is still running`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatal("the pid of cluster-restore.sh is not printed")
		}
		orphan, _ := strconv.Atoi(m[1])
		// Let the orphan finish before the temporary directories go.
		defer waitGone(t, orphan)
		// While it runs, a second 05-restore.sh refuses to start another one.
		r = h.run(recoveryNode, "05-restore.sh", nil, "--yes")
		wantCode(t, r, 2, "another run is still going on this host: "+filepath.Join(h.root, "usr/local/bin/cluster-restore.sh")+" (pid "+m[1]+",")
		if n := strings.Count(h.commands(), "cluster-restore.sh "); n != 1 {
			t.Errorf("cluster-restore.sh ran %d times", n)
		}
	})
}

// waitGone waits until process pid has ended (or is a zombie nobody reaps).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return
		}
	}
	t.Errorf("process %d still runs", pid)
}

// When the ssh session goes away (stderr closed, SIGHUP), the script still records in
// run.log how far it got and where everything is.
func TestLostSessionIsLogged(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	f := h.kit.File("hosts/" + otherNode + "/04-stop-static-pods.sh")
	script := h.install(t.TempDir(), f)
	cmd := exec.Command("bash", script, "--yes")
	cmd.Env = append(append([]string{}, h.env...), "FAKEHOST_HOSTNAME="+h.hostname, "FAKEHOST_STUCK=etcd")
	rd, wr, err := os.Pipe()
	must(t, err)
	cmd.Stderr = wr
	must(t, cmd.Start())
	wr.Close()
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte("step 4.2: still waiting")) {
		n, err := rd.Read(buf)
		if err != nil {
			t.Fatalf("the script ended before waiting in step 4.2: %v\n%s", err, seen)
		}
		seen = append(seen, buf[:n]...)
	}
	rd.Close() // the session is gone: further writes to stderr fail
	must(t, cmd.Process.Signal(syscall.SIGHUP))
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1", err)
	}
	dirs := h.runDirs()
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	log, err := os.ReadFile(filepath.Join(dirs[0], "run.log"))
	must(t, err)
	for _, want := range []string{"interrupted during step 4.2", "where everything went:", "stopped with exit code 1"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("run.log lacks %q:\n%s", want, log)
		}
	}
}

// The restore runs once: a re-run changes nothing while the restore pod manifest is in
// place (a resumed coordinator), refuses once the cluster has moved on, and restores
// again only with --again.
func TestRestoreRunsOnce(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, recoveryNode, nil)
	wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, "--yes"), 0)
	before := h.snapshot()
	wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, "--yes"), 0, "an earlier run completed the restore here", "nothing to do")
	h.assertUnchanged(before)

	// Steps 10-12 roll out a new etcd revision: the manifest changes.
	h.write("etc/kubernetes/manifests/etcd-pod.yaml", "etcd revision 8\n")
	before = h.snapshot()
	for _, args := range [][]string{{"--yes"}, {"--dry-run"}} {
		wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, args...), 2, "has changed since", "--again", "Nothing was changed")
		h.assertUnchanged(before)
	}
	if n := strings.Count(h.commands(), "cluster-restore.sh "); n != 1 {
		t.Errorf("cluster-restore.sh ran %d times, want once", n)
	}
	time.Sleep(time.Second)
	wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, "--yes", "--again"), 0, "restoring the snapshot again because of --again", "restore complete")
	if n := strings.Count(h.commands(), "cluster-restore.sh "); n != 2 {
		t.Errorf("cluster-restore.sh ran %d times, want twice", n)
	}
}

// After step 4 completed, manifests back in place belong to the recovered cluster:
// 04-stop-static-pods.sh leaves them alone unless told --again.
func TestStopStaticPodsAfterRecovery(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	wantCode(t, h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes"), 0)
	h.write("etc/kubernetes/manifests/etcd-pod.yaml", "etcd revision 8\n")
	h.write("var/lib/etcd/member/snap/db", "the rejoined member\n")
	before := h.snapshot()
	r := h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes")
	wantCode(t, r, 2, "an earlier run completed step 4 on this host", "etcd-pod.yaml", "are back in place", "--again")
	h.assertUnchanged(before)
	time.Sleep(time.Second)
	r = h.run(otherNode, "04-stop-static-pods.sh", nil, "--yes", "--again")
	wantCode(t, r, 0, "moving them again because of --again", "step 4.1: moved", "step 4.5: moved")
	h.assertNothingLost(before, true)
}

func TestAgainOnlyWhereItMeansSomething(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	before := h.snapshot()
	wantCode(t, h.run(otherNode, "08-restart-kubelet.sh", nil, "--yes", "--again"), 2, "08-restart-kubelet.sh has no --again")
	h.assertUnchanged(before)
}

func TestHostScriptsRefuseNonRoot(t *testing.T) {
	t.Parallel()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv to run a script as another user")
	}
	h := newFakeHost(t, otherNode, nil)
	// A directory nobody can read, holding each script with the kit's library beside it.
	dir, err := os.MkdirTemp("", "restorekit-nonroot-")
	must(t, err)
	defer os.RemoveAll(dir)
	must(t, os.Chmod(dir, 0o755))
	for _, name := range []string{"hosts/" + otherNode + "/04-stop-static-pods.sh", "hosts/" + recoveryNode + "/05-restore.sh", "hosts/" + recoveryNode + "/08-restart-kubelet.sh"} {
		script := h.install(dir, h.kit.File(name))
		must(t, os.Chmod(filepath.Join(dir, "lib"), 0o755))
		cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", script, "--yes")
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "must run as root, but runs as uid 65534") {
			t.Errorf("%s as nobody: %v\n%s", name, err, out)
		}
	}
}

// Every host script sources the kit's lib/host.sh only when it is the library the
// script was rendered with: a missing, changed or foreign library is refused (exit 2)
// before anything changes.
func TestHostScriptsRefuseAMissingOrChangedLibrary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(lib string)
		want   string
	}{
		{"missing", func(lib string) { must(t, os.Remove(lib)) }, "the kit's host library is missing: no "},
		{"changed", func(lib string) {
			f, err := os.OpenFile(lib, os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteString("check_root() { :; }\n")
			must(t, err)
			must(t, f.Close())
		}, "but this script was rendered with"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, otherNode, nil)
			before := h.snapshot()
			dir := t.TempDir()
			script := h.install(dir, h.kit.File("hosts/"+otherNode+"/04-stop-static-pods.sh"))
			tc.change(filepath.Join(dir, HostLibPath))
			cmd := exec.Command("bash", script, "--yes")
			cmd.Env = append(append([]string{}, h.env...), "FAKEHOST_HOSTNAME="+h.hostname)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "Nothing was changed.") {
				t.Errorf("library %s: %v\n%s", tc.name, err, out)
			}
			h.assertUnchanged(before)
		})
	}
}

// What restorekit plan --commands lists for a host script is what the script itself
// shows it will do (its plan, printed before it asks and with --dry-run), line for line:
// the offline listing and the scripts cannot drift apart. With and without a proxy, on
// the recovery host and on another.
func TestHostCommandsAreWhatTheScriptsShow(t *testing.T) {
	t.Parallel()
	for _, withProxy := range []bool{false, true} {
		for _, node := range []string{recoveryNode, otherNode} {
			t.Run(fmt.Sprintf("%s/proxy=%v", node, withProxy), func(t *testing.T) {
				t.Parallel()
				h := newFakeHost(t, node, func(inv *inventory.Inventory) {
					if withProxy {
						inv.Proxy = &inventory.Proxy{HTTPProxy: "http://proxy.example:3128", HTTPSProxy: "http://proxy.example:3128", NoProxy: ".cluster.local,10.0.0.0/16"}
					} else {
						inv.Proxy = nil
					}
				})
				var host *Host
				for _, c := range h.kit.Plan.Hosts {
					if c.Name == node {
						host = c
					}
				}
				if len(host.Steps) == 0 {
					t.Fatalf("%s runs no host step", node)
				}
				for _, s := range host.Steps {
					want, ok := h.kit.Plan.hostCommands(s, host, h.inv, h.paths)
					if !ok {
						t.Errorf("step kind %s has no command listing", s.Kind)
						continue
					}
					r := h.run(node, s.ScriptName(), nil, "--dry-run")
					wantCode(t, r, 0)
					if got := shownPlan(t, r.stderr); strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("%s on %s shows:\n%s\nplan --commands lists:\n%s", s.ScriptName(), node, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			})
		}
	}
}

// shownPlan is the plan a host script printed (the lines under "plan for ..."), with
// its run directory written as RunDirWord.
func shownPlan(t *testing.T, stderr string) []string {
	t.Helper()
	runDir := regexp.MustCompile(`dry-run: would create (\S+) \(mode`).FindStringSubmatch(stderr)
	if runDir == nil {
		t.Fatalf("no run directory in:\n%s", stderr)
	}
	var out []string
	in := false
	for _, line := range strings.Split(stderr, "\n") {
		switch {
		case strings.Contains(line, "plan for "):
			in = true
		case in && strings.HasPrefix(line, "  "):
			out = append(out, strings.ReplaceAll(strings.TrimPrefix(line, "  "), runDir[1], RunDirWord))
		case in:
			return out
		}
	}
	return out
}

// A quarantine directory on tmpfs (RHCOS's /tmp) is refused before anything changes:
// what is set aside there is in memory and gone at the next reboot.
func TestQuarantineOnTmpfsRefused(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	// stat -f reports tmpfs for the quarantine directory (or its nearest parent).
	real, err := exec.LookPath("stat")
	if err != nil {
		t.Skip("no stat")
	}
	must(t, os.WriteFile(filepath.Join(h.bin, "stat"), []byte("#!/usr/bin/env bash\n"+
		"if [[ $1 == -f ]]; then echo tmpfs; exit 0; fi\nexec "+real+" \"$@\"\n"), 0o755))
	before := h.snapshot()
	for _, args := range [][]string{{"--yes"}, {"--dry-run"}} {
		r := h.run(otherNode, "04-stop-static-pods.sh", []string{"FAKEHOST_STOP_POLLS=2"}, args...)
		wantCode(t, r, 2, "is on tmpfs", "lost at the next reboot", "Nothing was changed", "/var/lib/restorekit")
	}
	h.assertUnchanged(before)
	if dirs := h.runDirs(); len(dirs) != 0 {
		t.Errorf("run directories %v created on tmpfs", dirs)
	}
}

// Across filesystems, a move copies: it is said, and refused when the room is lacking.
func TestQuarantineOnAnotherFilesystemChecksSpace(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, otherNode, nil)
	real, err := exec.LookPath("stat")
	if err != nil {
		t.Skip("no stat")
	}
	// stat -c %d differs between what is moved and the quarantine; df says 1 KiB free.
	must(t, os.WriteFile(filepath.Join(h.bin, "stat"), []byte("#!/usr/bin/env bash\n"+
		"if [[ $1 == -c && $2 == %d ]]; then case $4 in "+h.quarantine+"*) echo 2 ;; *) echo 1 ;; esac; exit 0; fi\nexec "+real+" \"$@\"\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(h.bin, "df"), []byte("#!/usr/bin/env bash\n"+
		"printf 'Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/x 10 9 0 99%% /q\\n'\n"), 0o755))
	r := h.run(otherNode, "04-stop-static-pods.sh", []string{"FAKEHOST_STOP_POLLS=2"}, "--yes")
	wantCode(t, r, 1, "on different filesystems: moving it copies", "not enough room to set", "was not moved")
}
