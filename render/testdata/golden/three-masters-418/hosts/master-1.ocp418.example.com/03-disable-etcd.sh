#!/usr/bin/env bash
#
# 03-disable-etcd.sh: procedure/procedure-4.18.md step 3, on one control-plane host.
#
# Cluster:  ocp418 (OpenShift 4.18.7, procedure profile ocp-4.18)
# Host:     master-1.ocp418.example.com (address 10.0.10.11); `hostname` must print master-1.ocp418.example.com or master-1
# Role:     a non-recovery control-plane host (the recovery host is master-0.ocp418.example.com).
# Kit:      ocp418-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure-4.18.md (OpenShift Container Platform 4.18 to 4.22, Backup and restore, Restoring to a previous cluster state (and its single-node variant)).
#
# On this host, run in this order: 03-disable-etcd.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   3    run this host's own /usr/local/bin/disable-etcd.sh (the procedure's
#        `sudo -E disable-etcd.sh`: the proxy variables are passed explicitly, sudo has reset the
#        environment). It moves /etc/kubernetes/manifests/etcd-pod.yaml to
#        /home/core/assets/manifests-stopped/ and waits for the etcd containers to exit;
#        it does not touch kube-apiserver, kube-controller-manager, kube-scheduler or
#        /var/lib/etcd.
#        This script bounds that wait (timeouts.staticPodStop) and checks, by exact name,
#        that none of these containers runs any more: etcd, etcdctl, etcd-metrics, etcd-readyz, etcd-rev, etcd-backup-server
#        (the list of OpenShift 4.18.7).
# After a completed run, a re-run only checks that etcd is still stopped; once
# etcd-pod.yaml is back (the recovered cluster's own revision), it refuses (--again).
# Run it on every non-recovery host before 05-restore-etcd.sh runs on the recovery host.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./03-disable-etcd.sh              show the plan, ask, then run
#   sudo bash ./03-disable-etcd.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./03-disable-etcd.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-1.ocp418.example.com)
#   --again        stop etcd on this host again, although an earlier run completed step 3 here
#                  (without it, a re-run after a completed run skips or refuses: see below)
#   --help         print this help
# `hostname` is compared case-insensitively; an FQDN's first label is also accepted
# when no other master of the inventory has the same first label.
#
# Nothing is deleted. What the procedure moves "to /tmp" is moved into a new directory
#   /var/lib/restorekit/restorekit-ocp418-<UTC YYYYmmddTHHMMSSZ>-<pid>
# under the same absolute path (e.g. <run dir>/var/lib/etcd), together with run.log, the
# timestamped log of this run. Re-running is safe: what an earlier run already moved is
# reported ("already moved to ...") and skipped.
# One run at a time: a run refuses (exit 2) while an earlier run of this kit, or the
# cluster-restore.sh it started, is still running on this host. Interrupted (Ctrl-C,
# lost session), a script says how far it got; run it again to continue.
#
# Exit codes:
#   0  done
#   1  a step failed (the message names the step; the log says what was moved so far)
#   2  usage error or refused: unknown option, not root, wrong host, not confirmed
#   3  timed out waiting (the message says what was expected, what was seen, what to do)

set -euo pipefail

# Values from the inventory.
readonly SCRIPT_NAME=03-disable-etcd.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=1
readonly CLUSTER=ocp418
readonly NODE_NAME=master-1.ocp418.example.com
readonly EXPECTED_HOSTNAME=master-1.ocp418.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-1.ocp418.example.com master-1)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly DISABLE_ETCD=/usr/local/bin/disable-etcd.sh
# The etcd pod's containers disable-etcd.sh waits for, by exact name.
readonly -a ETCD_CONTAINERS=(etcd etcdctl etcd-metrics etcd-readyz etcd-rev etcd-backup-server)
# Seconds etcd may take to stop (timeouts.staticPodStop).
readonly STOP_TIMEOUT=600
# The cluster-wide proxy (empty: none).
readonly PROXY_HTTP=''
readonly PROXY_HTTPS=''
readonly PROXY_NO=''

# The kit's shared host library: lib/ beside this script (restorekit/<kit>/ on a host)
# or ../../lib (in the kit itself). It is sourced only when its sha256 is the one this
# script was rendered with, so a changed or missing copy is refused before anything
# changes.
readonly HOST_LIB_SHA256=9baae7df516edc8a9ffcff31df4a09404b8f6e613d9994aa082fcbeb9ef44929
host_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOST_LIB=""
for host_lib_candidate in "${host_lib_dir}/lib/host.sh" "${host_lib_dir}/../../lib/host.sh"; do
  if [[ -f $host_lib_candidate ]]; then
    HOST_LIB=$host_lib_candidate
    break
  fi
done
if [[ -z $HOST_LIB ]]; then
  printf '%s\n' "${SCRIPT_NAME}: ERROR: the kit's host library is missing: no ${host_lib_dir}/lib/host.sh. Copy it with the scripts (the kit's lib/host.sh to lib/host.sh beside ${SCRIPT_NAME}). Nothing was changed." >&2
  exit 2
fi
host_lib_sum="$(sha256sum <"$HOST_LIB")"
if [[ ${host_lib_sum%% *} != "$HOST_LIB_SHA256" ]]; then
  printf '%s\n' "${SCRIPT_NAME}: ERROR: ${HOST_LIB} has sha256 ${host_lib_sum%% *}, but this script was rendered with ${HOST_LIB_SHA256}: it is not this kit's library (changed, damaged or from another kit). Copy the kit's lib/host.sh again. Nothing was changed." >&2
  exit 2
fi
# shellcheck source=../../lib/host.sh
source "$HOST_LIB"

# 1 when an earlier run completed step 3 and etcd is still stopped.
ALREADY_DONE=0

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--again] [--help]" \
    "" \
    "Procedure step 3 on ${NODE_NAME} (cluster ${CLUSTER}), a non-recovery control-plane host:" \
    "  run ${DISABLE_ETCD} with the proxy variables and wait until none of" \
    "  ${ETCD_CONTAINERS[*]} runs (at most ${STOP_TIMEOUT}s)." \
    "Its output and run.log go to a new run directory under ${QUARANTINE_DIR}; nothing is deleted." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "  --again       stop etcd again although an earlier run completed step 3 here and" \
    "                etcd-pod.yaml is back in place (without it, such a run is refused)" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}), procedure step 3:"
  if ((${#PROXY_ENV[@]} > 0)); then
    plan_line "3 run env ${PROXY_ENV[*]} ${DISABLE_ETCD}"
  else
    plan_line "3 run ${DISABLE_ETCD} (no cluster-wide proxy)"
  fi
  plan_line "  it moves ${MANIFESTS_DIR}/etcd-pod.yaml aside and waits for etcd to stop (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "3 check that none of ${ETCD_CONTAINERS[*]} runs"
}

# Step 3, before anything changes: the script of the release and crictl.
check_prerequisites() {
  CURRENT_STEP="3 (prerequisites)"
  require_tool crictl
  if [[ ! -f $DISABLE_ETCD || ! -x $DISABLE_ETCD ]]; then
    fail "$EXIT_FAILED" "step 3: ${DISABLE_ETCD} is missing or not executable: the etcd operator installs it on OpenShift 4.18 and later; is this host at 4.18.7? Nothing was changed."
  fi
}

# Step 3, before anything changes: after a completed run, etcd-pod.yaml back in place
# is most likely the recovered cluster's own revision, which this would stop again.
check_earlier_run() {
  CURRENT_STEP="3 (earlier runs)"
  local earlier
  if ! earlier="$(earlier_completed)"; then
    return 0
  fi
  if [[ ! -e ${MANIFESTS_DIR}/etcd-pod.yaml ]] && containers_stopped "${ETCD_CONTAINERS[@]}"; then
    ALREADY_DONE=1
    log "step 3: an earlier run completed step 3 here (${earlier}) and etcd is still stopped (${PROBE_SEEN}): nothing to do"
    return 0
  fi
  if ((AGAIN)); then
    log "WARNING: step 3: an earlier run completed step 3 here (${earlier}), and etcd is back; stopping it again because of --again"
    return 0
  fi
  fail "$EXIT_REFUSED" "step 3: an earlier run completed step 3 on this host (${earlier}), and ${MANIFESTS_DIR}/etcd-pod.yaml is back in place since: most likely the recovered cluster's own etcd, which this script would stop again. Nothing was changed. Check the cluster first (oc get pods -n openshift-etcd); only to stop etcd here again, run it with --again."
}

# Step 3: `sudo -E disable-etcd.sh`, bounded, its output in the run directory.
step_disable_etcd() {
  CURRENT_STEP="3"
  local -a cmd=(env "${PROXY_ENV[@]}" "$DISABLE_ETCD")
  RUN_WATCH_CONTAINERS=("${ETCD_CONTAINERS[@]}")
  run_bounded "3" "$STOP_TIMEOUT" disable-etcd.log \
    "see why etcd does not stop with: crictl ps -a --name '^etcd\$' and journalctl -u kubelet.service; once it has stopped, run this script again" \
    "${cmd[@]}"
  RUN_WATCH_CONTAINERS=()
}

# Step 3 (check): by exact name, no container of the etcd pod runs any more.
step_check_stopped() {
  CURRENT_STEP="3 (check)"
  wait_until "3" "$STOP_TIMEOUT" \
    "none of ${ETCD_CONTAINERS[*]} runs" \
    "see why with: crictl ps -a --name '^etcd\$' and journalctl -u kubelet.service; once they have stopped, run this script again" \
    containers_stopped "${ETCD_CONTAINERS[@]}"
}

main() {
  prepare "$@"
  check_prerequisites
  check_earlier_run
  if ((ALREADY_DONE)); then
    CURRENT_STEP="3 (done earlier)"
    return 0
  fi
  proxy_env
  confirm
  start_run
  step_disable_etcd
  step_check_stopped
  CURRENT_STEP="3 (done)"
  mark_completed "step 3 on ${NODE_NAME}"
  log "step 3 is done on ${NODE_NAME}: etcd is stopped (${ETCD_CONTAINERS[*]}). Next: the same on the other non-recovery hosts, then 05-restore-etcd.sh on the recovery host."
}

main "$@"
