package render

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// fakeOC418 is an oc for redeploy.sh's 4.18 tail: an `oc adm` without
// wait-for-stable-cluster unless OC_HAS_WFS=1, cluster operators that settle after
// OC_UNSTABLE_CALLS calls (kube-apiserver Progressing until then), the etcd override
// kept in a file, three Running and Ready etcd pods. Every call goes to $OC_LOG.
const fakeOC418 = `#!/bin/bash
printf '%s\n' "$*" >>"$OC_LOG"
args=()
for a in "$@"; do [[ $a == --request-timeout=* ]] || args+=("$a"); done
set -- "${args[@]}"
case "$1 $2" in
"adm --help")
  printf 'Usage:\n  oc adm [flags]\n\nAvailable Commands:\n  upgrade\n'
  [[ ${OC_HAS_WFS:-0} == 1 ]] && printf '  wait-for-stable-cluster\n'
  exit 0 ;;
"adm wait-for-stable-cluster") echo "All clusteroperators are stable"; exit 0 ;;
"get etcd") echo cluster ;;
"get etcd/cluster") cat "$OC_DIR/override" 2>/dev/null; exit 0 ;;
"patch etcd/cluster")
  if [[ $5 == *null* ]]; then rm -f "$OC_DIR/override"; else echo '{"useUnsupportedUnsafeNonHANonProductionUnstableEtcd":true}' >"$OC_DIR/override"; fi
  echo "etcd.operator.openshift.io/cluster patched" ;;
"get clusteroperators")
  n=$(( $(cat "$OC_DIR/co" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$OC_DIR/co"
  echo "NAME VERSION AVAILABLE PROGRESSING DEGRADED SINCE MESSAGE"
  if (( n <= OC_UNSTABLE_CALLS )); then echo "kube-apiserver 4.18.7 True True False 1m NodeInstaller"; else echo "kube-apiserver 4.18.7 True False False 1m"; fi
  echo "etcd 4.18.7 True False False 1m" ;;
"get pods")
  echo "NAME READY STATUS RESTARTS AGE"
  for m in master-0 master-1 master-2; do echo "etcd-$m.ocp418.example.com 5/5 Running 0 1m"; done ;;
*) echo "fake oc: unexpected: $*" >&2; exit 1 ;;
esac
`

// runTail418 runs redeploy.sh of the 4.18 example from STEP with the fake oc.
func runTail418(t *testing.T, from string, env ...string) (string, []string, error) {
	t.Helper()
	inv := loadExample(t, "three-masters-418")
	inv.Timeouts.PollInterval = inventory.Duration(time.Second)
	inv.Timeouts.MinimumStablePeriod = inventory.Duration(time.Second)
	inv.Timeouts.StableCluster = inventory.Duration(5 * time.Second)
	kit, err := Render(inv, Options{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "redeploy.sh")
	if err := os.WriteFile(script, kit.File("redeploy.sh").Data, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "oc"), []byte(fakeOC418), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script, "--yes", "--from", from)
	cmd.Env = append(os.Environ(), append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "OC_LOG=" + filepath.Join(dir, "oc.log"), "OC_DIR=" + dir,
		"OC_UNSTABLE_CALLS=2", "LC_ALL=C"}, env...)...)
	out, err := cmd.CombinedOutput()
	calls, _ := os.ReadFile(filepath.Join(dir, "oc.log"))
	return string(out), strings.Split(strings.TrimSpace(string(calls)), "\n"), err
}

// With an oc that lacks wait-for-stable-cluster, step 8 polls oc get clusteroperators,
// names the operators not yet stable, waits for the stable period, and the tail goes on
// to turn the guard on and check it is gone.
func TestTail418PollsOperatorsWithAnOldOC(t *testing.T) {
	out, calls, err := runTail418(t, "quorum-guard-off")
	if err != nil {
		t.Fatalf("redeploy.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"has no adm wait-for-stable-cluster: polling oc get clusteroperators",
		"not stable yet: kube-apiserver (Progressing)", "every cluster operator stable for 1s of 1s",
		"quorum guard on: etcd/cluster has no unsupportedConfigOverrides", "one Running and Ready etcd pod per master (3)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "adm wait-for-stable-cluster") {
			t.Errorf("ran %q with an oc that lacks it", c)
		}
	}
	if strings.Contains(out, "STILL OPEN") {
		t.Errorf("a completed tail reports an open duty:\n%s", out)
	}
}

// With an oc that has it, step 8 is one oc adm wait-for-stable-cluster with the
// inventory's timeout and minimum stable period.
func TestTail418WaitsWithWaitForStableCluster(t *testing.T) {
	out, calls, err := runTail418(t, "wait-stable", "OC_HAS_WFS=1")
	if err != nil {
		t.Fatalf("redeploy.sh: %v\n%s", err, out)
	}
	found := false
	for _, c := range calls {
		if c == "adm wait-for-stable-cluster --timeout=5s --minimum-stable-period=1s" {
			found = true
		}
	}
	if !found {
		t.Errorf("no oc adm wait-for-stable-cluster --timeout=5s --minimum-stable-period=1s in %q", calls)
	}
}

// A tail that stops while the guard is off says so on its last line, with the fix.
func TestTail418StoppedWithTheGuardOffSaysSo(t *testing.T) {
	out, _, err := runTail418(t, "quorum-guard-off", "OC_UNSTABLE_CALLS=1000")
	if err == nil {
		t.Fatalf("redeploy.sh succeeded with operators that never settle:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("exit %v, want 3 (a wait timed out)", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "STILL OPEN: the etcd quorum guard is still OFF") ||
		!strings.Contains(last, `oc patch etcd/cluster --type=merge -p '{"spec": {"unsupportedConfigOverrides": null}}'`) {
		t.Errorf("last line %q", last)
	}
}
