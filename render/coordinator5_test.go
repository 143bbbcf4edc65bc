package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// The smaller things of issue 12 item 5, in the coordinator (see testdata/coord).

// TestRecoverProxyNoProxyIsInTheStatus: an inventory written from the configured proxy
// (install-config, spec.noProxy) passes when each of its noProxy entries is in the
// status.noProxy the network operator expanded; httpProxy and httpsProxy are compared
// exactly; the status values read are logged and kept in the state dir for the restore.
func TestRecoverProxyNoProxyIsInTheStatus(t *testing.T) {
	t.Parallel()
	const status = ".cluster.local,.corp.example.com,.svc,10.128.0.0/14,127.0.0.1,172.30.0.0/16,192.0.2.0/24,api-int.prod-east.example.com,etcd-0.prod-east.example.com,localhost"
	t.Run("spec entries only", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "five-masters-proxy-jumphost", func(inv *inventory.Inventory) {
			inv.Proxy.NoProxy = "192.0.2.0/24,.corp.example.com"
		})
		e.env = append(e.env, "FAKE_PROXY_STATUS_NO="+status)
		out := e.mustRun(0, "recover.sh", "--yes", "--dry-run")
		for _, w := range []string{
			"step 6: proxy noProxy: every entry of the inventory's (.corp.example.com 192.0.2.0/24) is in the cluster's status.noProxy",
			"step 6: the cluster's proxy status, for the restore: httpProxy=http://proxy.prod-east.example.com:3128 httpsProxy=http://proxy.prod-east.example.com:3128 noProxy=" + status,
		} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		state, err := os.ReadFile(filepath.Join(e.kitDir+".state", "preflight.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(state), "\nnoProxy="+status+"\n") || !strings.Contains(string(state), "\nproxyFrom=cluster status\n") {
			t.Errorf("preflight.txt does not keep the cluster's status values:\n%s", state)
		}
	})
	t.Run("an entry the cluster does not have", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "five-masters-proxy-jumphost", func(inv *inventory.Inventory) {
			inv.Proxy.NoProxy = "192.0.2.0/24,10.9.9.0/24"
		})
		e.env = append(e.env, "FAKE_PROXY_STATUS_NO="+status)
		out := e.mustRun(1, "recover.sh", "--yes")
		if w := "step 6: the inventory's noProxy has 10.9.9.0/24, which the cluster's status.noProxy '" + status + "' lacks"; !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	})
	t.Run("httpsProxy differs by a slash", func(t *testing.T) {
		t.Parallel()
		e := newCoordEnv(t, "five-masters-proxy-jumphost", nil)
		e.env = append(e.env, "FAKE_PROXY_HTTPS=http://proxy.prod-east.example.com:3128/")
		out := e.mustRun(1, "recover.sh", "--yes")
		if w := "the cluster's proxy status.httpsProxy is 'http://proxy.prod-east.example.com:3128/' but the inventory says 'http://proxy.prod-east.example.com:3128'"; !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	})
}

// TestRecoverP1: P1 says what it compared, and refuses a cluster whose newest
// clusterversion history entry is not Completed at the kit's release (mid-upgrade),
// naming the versions seen.
func TestRecoverP1(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	out := e.mustRun(0, "recover.sh", "--yes", "--dry-run")
	if w := "P1: compared the cluster's clusterversion (status.desired.version 4.5.2, newest history entry Completed 4.5.2) with the kit's release 4.5.2"; !strings.Contains(out, w) {
		t.Errorf("output lacks %q:\n%s", w, out)
	}
	e = newCoordEnv(t, "three-masters", nil)
	e.env = append(e.env, "FAKE_OC_HISTORY=Partial 4.5.2;Completed 4.5.1")
	out = e.mustRun(1, "recover.sh", "--yes")
	if w := "P1: the cluster is not settled at 4.5.2: its newest clusterversion history entry is Partial 4.5.2 (desired 4.5.2; history, newest first: Partial 4.5.2, Completed 4.5.1)"; !strings.Contains(out, w) {
		t.Errorf("output lacks %q:\n%s", w, out)
	}
	if i := index(e.calls(), coordCall.changes); i >= 0 {
		t.Errorf("changed something on a cluster mid-upgrade")
	}
}

// TestRecoverNoBackupNamesTheWays: without a local backup directory the problem names
// every way to give the pair.
func TestRecoverNoBackupNamesTheWays(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	if err := os.RemoveAll(filepath.Join(e.kitDir, "backup")); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(e.kitDir, "SHA256SUMS"))
	out := e.mustRun(1, "recover.sh", "--yes")
	for _, w := range []string{"give the backup pair one of three ways:", "recover.sh --backup-dir DIR", "restorekit build --include-backup",
		"copy " + e.inv.Backup.Files[0].Name + " and " + e.inv.Backup.Files[1].Name + " by hand to " + e.inv.Backup.RemoteDir + " on " + e.inv.RecoveryHost} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestRecoverForbiddenFailsFast: an oc error that another try cannot change (Forbidden,
// NotFound) stops the wait after a few tries instead of the whole operator timeout.
func TestRecoverForbiddenFailsFast(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	e.env = append(e.env, "FAKE_FORBIDDEN=kubeapiserver")
	start := time.Now()
	out := e.mustRun(1, "recover.sh", "--yes")
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("took %s: the Forbidden patch was retried as if it could pass", took)
	}
	if n := countCalls(e.calls(), ocCall("patch", "kubeapiserver", "cluster")); n != 3 {
		t.Errorf("patched kubeapiserver %d times, want 3 tries", n)
	}
	for _, w := range []string{"is forbidden: User", "oc answered the same Forbidden 3 times in a row: another try cannot change it", "FAILED: step 12.1 (redeploy-kubeapiserver), exit 1"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestRedeployWaitOnly: after a rollout wait timed out, redeploy.sh --from STEP
// --wait-only waits for that rollout again without a new patch; the later steps run as
// usual. The RUNBOOK's "run the wait again" gives that command.
func TestRedeployWaitOnly(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	e.touch(filepath.Join(e.fake, "oc", "restored"), "")
	e.env = append(e.env, "FAKE_STUCK=kubeapiserver")
	e.mustRun(3, "redeploy.sh", "--yes")
	e.calls()
	e.env = e.env[:len(e.env)-1]
	out := e.mustRun(0, "redeploy.sh", "--yes", "--from", "12.1", "--wait-only")
	calls := e.calls()
	for op, want := range map[string]int{"etcd": 0, "kubeapiserver": 0, "kubecontrollermanager": 1, "kubescheduler": 1} {
		if n := countCalls(calls, ocCall("patch", op, "cluster")); n != want {
			t.Errorf("--from 12.1 --wait-only patched %s %d times, want %d", op, n, want)
		}
	}
	if w := "step 12.1: --wait-only: not patching kubeapiserver; waiting for its newest revision 8"; !strings.Contains(out, w) {
		t.Errorf("output lacks %q:\n%s", w, out)
	}
	e.mustRun(2, "redeploy.sh", "--yes", "--wait-only")
	runbook, err := os.ReadFile(filepath.Join(e.kitDir, "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(runbook), "run the wait again without a new patch (`./redeploy.sh --from <step> --wait-only`)") {
		t.Errorf("the RUNBOOK does not give the wait-only command for a rollout that does not finish")
	}
}

// TestRecoverKilledBetweenPatchAndMemo: a SIGKILL right after `oc patch` went through,
// before the patch was recorded: the resumed run finds its reason in
// spec.forceRedeploymentReason and waits for that rollout instead of patching again.
func TestRecoverKilledBetweenPatchAndMemo(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	e.env = append(e.env, "FAKE_KILL_AFTER_PATCH=kubeapiserver")
	if out, code := e.run("recover.sh", "--yes"); code != -1 {
		t.Fatalf("recover.sh was not killed after the kubeapiserver patch: exit %d\n%s", code, out)
	}
	out := e.mustRun(0, "recover.sh", "--yes")
	if n := countCalls(e.calls(), ocCall("patch", "kubeapiserver", "cluster")); n != 1 {
		t.Errorf("kubeapiserver patched %d times over both runs, want 1\n%s", n, out)
	}
	if w := "step 12.1: the earlier run's patch of kubeapiserver went through before it was stopped (spec.forceRedeploymentReason is its reason recovery-"; !strings.Contains(out, w) {
		t.Errorf("output lacks %q:\n%s", w, out)
	}
}

// TestStopJobsLeavesNoJobNotice: stopping the host jobs prints no job notice. Bash 4.2
// reports a background job killed by SIGTERM ("line N: PID Terminated run_host_script
// ..."): it is built without DONT_REPORT_SIGTERM; 5.2 is not, but reports other signals the
// same way, so the test has stop_jobs' kill send SIGHUP to see what 4.2 would print.
func TestStopJobsLeavesNoJobNotice(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	data, err := os.ReadFile(filepath.Join(e.kitDir, "recover.sh"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	i := strings.Index(src, "\nstop_jobs() {\n")
	if i < 0 {
		t.Fatal("recover.sh has no stop_jobs")
	}
	fn := src[i : i+strings.Index(src[i:], "\n}\n")+3]
	script := `kill() { if [[ $1 == -TERM ]]; then shift; command kill -HUP "$@"; else command kill "$@"; fi; }
BG_PIDS=()
run_host_script() { sleep 30; }
` + fn + `
set -m
run_host_script 1 2 &
BG_PIDS+=("$!")
set +m
sleep 0.3
stop_jobs
sleep 0.3
/bin/true
echo end
`
	// A script file, not bash -c: bash prints no job notice for -c commands.
	p := filepath.Join(t.TempDir(), "stop-jobs.sh")
	if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", p).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "end" {
		t.Errorf("stopping the host jobs printed a job notice:\n%s", out)
	}
}

// TestRecoverPreflightChecksEtcdDir45: the 4.5 preflight lists what else than member/
// the recovery host's /var/lib/etcd holds and stops before step 4 takes etcd down.
func TestRecoverPreflightChecksEtcdDir45(t *testing.T) {
	t.Parallel()
	e := newCoordEnv(t, "three-masters", nil)
	data := filepath.Join(e.host(e.inv.Recovery()), "etcd-data")
	for _, d := range []string{"member", "restore-5f2a8c1e"} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := e.mustRun(1, "recover.sh", "--yes")
	if w := "P3: /var/lib/etcd on " + e.inv.RecoveryHost + " must hold nothing but member, but it also holds /var/lib/etcd/restore-5f2a8c1e"; !strings.Contains(out, w) {
		t.Errorf("output lacks %q:\n%s", w, out)
	}
	if strings.Contains(out, "--move-etcd-extras to have") {
		t.Errorf("the 4.5 preflight offers --move-etcd-extras, which its 05-restore.sh does not have:\n%s", out)
	}
	if i := index(e.calls(), coordCall.changes); i >= 0 {
		t.Errorf("changed something although /var/lib/etcd holds a leftover")
	}
}
