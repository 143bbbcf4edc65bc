#!/usr/bin/env bash
#
# 04-stop-static-pods.sh: procedure/procedure.md step 4, on one control-plane host.
#
# Cluster:  prod-east (OpenShift 4.5.7, procedure profile ocp-4.5)
# Host:     master-2.prod-east.example.com (address 192.0.2.12); `hostname` must print master-2
# Role:     a non-recovery control-plane host (the recovery host is master-0.prod-east.example.com).
# Kit:      prod-east-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure.md (OpenShift Container Platform 4.5, Backup and restore, 5.3 Restoring to a previous cluster state).
#
# On this host, run in this order: 04-stop-static-pods.sh then 08-restart-kubelet.sh.
# Only when told to (troubleshooting): 08-repair-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   4.1  move /etc/kubernetes/manifests/etcd-pod.yaml into the run directory (the procedure's `mv ... /tmp`)
#   4.2  wait until no etcd container runs, by exact name with
#        `crictl ps --state running --name` (never `grep etcd`, which also matches
#        operator containers): etcd, etcdctl, etcd-metrics
#   4.3  move /etc/kubernetes/manifests/kube-apiserver-pod.yaml into the run directory (the procedure's `mv ... /tmp`)
#   4.4  wait until no kube-apiserver container runs, by exact name with
#        `crictl ps --state running --name` (never `grep kube-apiserver`, which also matches
#        operator containers): kube-apiserver, kube-apiserver-cert-syncer, kube-apiserver-cert-regeneration-controller, kube-apiserver-insecure-readyz, kube-apiserver-check-endpoints
#   4.5  move /var/lib/etcd into the run directory (never into an existing /tmp/etcd)
# After a completed run, a re-run only reports where things went; if the manifests or
# the etcd data are back in place (the recovered cluster's own), it refuses (--again
# stops them again).
# Run it on every non-recovery host before 05-restore.sh runs on the recovery host.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./04-stop-static-pods.sh              show the plan, ask, then run
#   sudo bash ./04-stop-static-pods.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./04-stop-static-pods.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-2.prod-east.example.com)
#   --again        stop this host's static pods and move its etcd data again, although an earlier run completed step 4 here
#                  (without it, a re-run after a completed run skips or refuses: see below)
#   --help         print this help
# `hostname` is compared case-insensitively; an FQDN's first label is also accepted
# when no other master of the inventory has the same first label.
#
# Nothing is deleted. What the procedure moves "to /tmp" is moved into a new directory
#   /var/tmp/restorekit-prod-east-<UTC YYYYmmddTHHMMSSZ>-<pid>
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
readonly SCRIPT_NAME=04-stop-static-pods.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=1
readonly CLUSTER=prod-east
readonly NODE_NAME=master-2.prod-east.example.com
readonly EXPECTED_HOSTNAME=master-2
readonly -a ACCEPTED_HOSTNAMES=(master-2)
readonly QUARANTINE_DIR=/var/tmp
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=15
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly ETCD_DATA_DIR=/var/lib/etcd
# Seconds each static pod may take to stop (timeouts.staticPodStop).
readonly STOP_TIMEOUT=900

# The kit's shared host library: lib/ beside this script (restorekit/<kit>/ on a host)
# or ../../lib (in the kit itself). It is sourced only when its sha256 is the one this
# script was rendered with, so a changed or missing copy is refused before anything
# changes.
readonly HOST_LIB_SHA256=412d0c838263e8a3ec10882724c26b427488965f85d91c657fa338180d707f09
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

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--again] [--help]" \
    "" \
    "Procedure step 4 on ${NODE_NAME} (cluster ${CLUSTER}), a non-recovery control-plane host:" \
    "  4.1 move ${MANIFESTS_DIR}/etcd-pod.yaml into the run directory" \
    "  4.2 wait until no etcd container runs (etcd, etcdctl, etcd-metrics)" \
    "  4.3 move ${MANIFESTS_DIR}/kube-apiserver-pod.yaml into the run directory" \
    "  4.4 wait until no kube-apiserver container runs (kube-apiserver, kube-apiserver-cert-syncer, kube-apiserver-cert-regeneration-controller, kube-apiserver-insecure-readyz, kube-apiserver-check-endpoints)" \
    "  4.5 move ${ETCD_DATA_DIR} into the run directory" \
    "The run directory is a new directory under ${QUARANTINE_DIR}; nothing is deleted." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "  --again       stop the static pods again although an earlier run completed step 4 here" \
    "                and they are back in place (without it, such a run is refused)" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}), procedure step 4:"
  plan_line "4.1 move ${MANIFESTS_DIR}/etcd-pod.yaml to ${RUN_DIR}${MANIFESTS_DIR}/etcd-pod.yaml"
  plan_line "4.2 wait until no etcd container runs (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "4.3 move ${MANIFESTS_DIR}/kube-apiserver-pod.yaml to ${RUN_DIR}${MANIFESTS_DIR}/kube-apiserver-pod.yaml"
  plan_line "4.4 wait until no kube-apiserver container runs (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "4.5 move ${ETCD_DATA_DIR} to ${RUN_DIR}${ETCD_DATA_DIR}"
  plan_line "nothing is deleted; what an earlier run already moved is skipped"
}

# Step 4, before anything changes: the tools and directories it needs.
check_prerequisites() {
  CURRENT_STEP="4 (prerequisites)"
  require_tool crictl
  if [[ ! -d $MANIFESTS_DIR ]]; then
    fail "$EXIT_FAILED" "step 4: ${MANIFESTS_DIR} does not exist: is this a control-plane host? Nothing was changed."
  fi
}
# Step 4, before anything changes: after an earlier run completed step 4 here, what
# is back in place is most likely the recovered cluster's own (etcd and kube-apiserver are
# redeployed by the later steps): stopping it again needs --again.
step_4_check_earlier_run() {
  CURRENT_STEP="4 (earlier runs)"
  local earlier path
  local -a back=()
  if ! earlier="$(earlier_completed)"; then
    return 0
  fi
  for path in "${MANIFESTS_DIR}/etcd-pod.yaml" "${MANIFESTS_DIR}/kube-apiserver-pod.yaml" "$ETCD_DATA_DIR"; do
    if [[ -e $path || -L $path ]]; then
      back+=("$path")
    fi
  done
  if ((${#back[@]} == 0)); then
    log "step 4: an earlier run completed step 4 here (${earlier}); everything it moved is still out of place, so this run only reports it"
    return 0
  fi
  if ((AGAIN)); then
    log "WARNING: step 4: an earlier run completed step 4 here (${earlier}), and ${back[*]} are back; moving them again because of --again"
    return 0
  fi
  fail "$EXIT_REFUSED" "step 4: an earlier run completed step 4 on this host (${earlier}), and ${back[*]} are back in place since: most likely the recovered cluster's own (the later steps redeploy etcd), which this script would stop again. Nothing was changed. Check the cluster first (oc get pods -n openshift-etcd); only to stop this host's static pods again, run it with --again."
}

# Step 4.1: `mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp`, into the run directory instead.
step_4_1_move_etcd_pod_yaml() {
  CURRENT_STEP="4.1"
  quarantine_move "4.1" "${MANIFESTS_DIR}/etcd-pod.yaml"
}

# Step 4.2: wait until no etcd container runs (exact names, so operators never match).
step_4_2_wait_etcd_stopped() {
  CURRENT_STEP="4.2"
  wait_until "4.2" "$STOP_TIMEOUT" \
    "no etcd container runs (etcd, etcdctl, etcd-metrics)" \
    "see why with: crictl ps -a --name '^etcd\$' and journalctl -u kubelet.service; once they have stopped, run this script again (what was moved stays moved and is skipped)" \
    containers_stopped etcd etcdctl etcd-metrics
}

# Step 4.3: `mv /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp`, into the run directory instead.
step_4_3_move_kube_apiserver_pod_yaml() {
  CURRENT_STEP="4.3"
  quarantine_move "4.3" "${MANIFESTS_DIR}/kube-apiserver-pod.yaml"
}

# Step 4.4: wait until no kube-apiserver container runs (exact names, so operators never match).
step_4_4_wait_kube_apiserver_stopped() {
  CURRENT_STEP="4.4"
  wait_until "4.4" "$STOP_TIMEOUT" \
    "no kube-apiserver container runs (kube-apiserver, kube-apiserver-cert-syncer, kube-apiserver-cert-regeneration-controller, kube-apiserver-insecure-readyz, kube-apiserver-check-endpoints)" \
    "see why with: crictl ps -a --name '^kube-apiserver\$' and journalctl -u kubelet.service; once they have stopped, run this script again (what was moved stays moved and is skipped)" \
    containers_stopped kube-apiserver kube-apiserver-cert-syncer kube-apiserver-cert-regeneration-controller kube-apiserver-insecure-readyz kube-apiserver-check-endpoints
}

# Step 4.5: `mv /var/lib/etcd/ /tmp`, into the run directory instead.
step_4_5_move_etcd_data() {
  CURRENT_STEP="4.5"
  quarantine_move "4.5" "$ETCD_DATA_DIR"
}

main() {
  prepare "$@"
  check_prerequisites
  step_4_check_earlier_run
  confirm
  start_run
  step_4_1_move_etcd_pod_yaml
  step_4_2_wait_etcd_stopped
  step_4_3_move_kube_apiserver_pod_yaml
  step_4_4_wait_kube_apiserver_stopped
  step_4_5_move_etcd_data
  CURRENT_STEP="4 (done)"
  mark_completed "step 4 on ${NODE_NAME}"
  log "step 4 is done on ${NODE_NAME}: etcd and kube-apiserver are stopped and the etcd data is out of the way. Next: the same on the other non-recovery hosts, then 05-restore.sh on the recovery host."
}

main "$@"
