#!/usr/bin/env bash
#
# 04-stop-static-pods.sh: procedure/procedure-4.16.md step 4, on one control-plane host.
#
# Cluster:  ocp416 (OpenShift 4.16.21, procedure profile ocp-4.16)
# Host:     master-2.ocp416.example.com (address 192.168.111.22); `hostname` must print master-2.ocp416.example.com or master-2
# Role:     a non-recovery control-plane host (the recovery host is master-0.ocp416.example.com).
# Kit:      ocp416-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure-4.16.md (OpenShift Container Platform 4.16 and 4.17, Backup and restore, Restoring to a previous cluster state).
#
# On this host, run in this order: 04-stop-static-pods.sh then 04.k-stop-keepalived.sh then 09-repair-node.sh then 10-restart-kubelet.sh then 14-ovn-node.sh then 22-restore-keepalived.sh then 24-reboot-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   4.b  move /etc/kubernetes/manifests/etcd-pod.yaml into the run directory (the procedure's `mv ... /tmp`)
#   4.c  wait until no etcd container runs, by exact name with
#        `crictl ps --state running --name` in namespace openshift-etcd (never `grep etcd`, which also matches
#        operator and guard containers): etcd, etcdctl, etcd-metrics, etcd-readyz
#   4.d  move /etc/kubernetes/manifests/kube-apiserver-pod.yaml into the run directory (the procedure's `mv ... /tmp`)
#   4.e  wait until no kube-apiserver container runs, by exact name with
#        `crictl ps --state running --name` in namespace openshift-kube-apiserver (never `grep kube-apiserver`, which also matches
#        operator and guard containers): kube-apiserver, kube-apiserver-cert-syncer, kube-apiserver-cert-regeneration-controller, kube-apiserver-insecure-readyz, kube-apiserver-check-endpoints
#   4.f  move /etc/kubernetes/manifests/kube-controller-manager-pod.yaml into the run directory (the procedure's `mv ... /tmp`)
#   4.g  wait until no kube-controller-manager container runs, by exact name with
#        `crictl ps --state running --name` in namespace openshift-kube-controller-manager (never `grep kube-controller-manager`, which also matches
#        operator and guard containers): kube-controller-manager, cluster-policy-controller, kube-controller-manager-cert-syncer, kube-controller-manager-recovery-controller
#   4.h  move /etc/kubernetes/manifests/kube-scheduler-pod.yaml into the run directory (the procedure's `mv ... /tmp`)
#   4.i  wait until no kube-scheduler container runs, by exact name with
#        `crictl ps --state running --name` in namespace openshift-kube-scheduler (never `grep kube-scheduler`, which also matches
#        operator and guard containers): kube-scheduler, kube-scheduler-cert-syncer, kube-scheduler-recovery-controller
#   4.j  move /var/lib/etcd into the run directory (never into an existing /tmp/etcd)
# After a completed run, a re-run only reports where things went; if the manifests or
# the etcd data are back in place (the recovered cluster's own), it refuses (--again
# stops them again).
# Run it on every non-recovery host before 07-restore.sh runs on the recovery host.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./04-stop-static-pods.sh              show the plan, ask, then run
#   sudo bash ./04-stop-static-pods.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./04-stop-static-pods.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-2.ocp416.example.com)
#   --again        stop this host's static pods and move its etcd data again, although an earlier run completed step 4 here
#                  (without it, a re-run after a completed run skips or refuses: see below)
#   --help         print this help
# `hostname` is compared case-insensitively; an FQDN's first label is also accepted
# when no other master of the inventory has the same first label.
#
# Nothing is deleted. What the procedure moves "to /tmp" is moved into a new directory
#   /var/lib/restorekit/restorekit-ocp416-<UTC YYYYmmddTHHMMSSZ>-<pid>
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
readonly CLUSTER=ocp416
readonly NODE_NAME=master-2.ocp416.example.com
readonly EXPECTED_HOSTNAME=master-2.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-2.ocp416.example.com master-2)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly ETCD_DATA_DIR=/var/lib/etcd
# Seconds each static pod may take to stop (timeouts.staticPodStop).
readonly STOP_TIMEOUT=600

# The kit's shared host library: lib/ beside this script (restorekit/<kit>/ on a host)
# or ../../lib (in the kit itself). It is sourced only when its sha256 is the one this
# script was rendered with, so a changed or missing copy is refused before anything
# changes.
readonly HOST_LIB_SHA256=6322045cb5183a04bbecbd61c4477e11118c7229078a4965b1479fa37b9ddbe8
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
    "  4.b move ${MANIFESTS_DIR}/etcd-pod.yaml into the run directory" \
    "  4.c wait until no etcd container runs (etcd, etcdctl, etcd-metrics, etcd-readyz)" \
    "  4.d move ${MANIFESTS_DIR}/kube-apiserver-pod.yaml into the run directory" \
    "  4.e wait until no kube-apiserver container runs (kube-apiserver, kube-apiserver-cert-syncer, kube-apiserver-cert-regeneration-controller, kube-apiserver-insecure-readyz, kube-apiserver-check-endpoints)" \
    "  4.f move ${MANIFESTS_DIR}/kube-controller-manager-pod.yaml into the run directory" \
    "  4.g wait until no kube-controller-manager container runs (kube-controller-manager, cluster-policy-controller, kube-controller-manager-cert-syncer, kube-controller-manager-recovery-controller)" \
    "  4.h move ${MANIFESTS_DIR}/kube-scheduler-pod.yaml into the run directory" \
    "  4.i wait until no kube-scheduler container runs (kube-scheduler, kube-scheduler-cert-syncer, kube-scheduler-recovery-controller)" \
    "  4.j move ${ETCD_DATA_DIR} into the run directory" \
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
  plan_line "4.b move ${MANIFESTS_DIR}/etcd-pod.yaml to ${RUN_DIR}${MANIFESTS_DIR}/etcd-pod.yaml"
  plan_line "4.c wait until no etcd container runs (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "4.d move ${MANIFESTS_DIR}/kube-apiserver-pod.yaml to ${RUN_DIR}${MANIFESTS_DIR}/kube-apiserver-pod.yaml"
  plan_line "4.e wait until no kube-apiserver container runs (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "4.f move ${MANIFESTS_DIR}/kube-controller-manager-pod.yaml to ${RUN_DIR}${MANIFESTS_DIR}/kube-controller-manager-pod.yaml"
  plan_line "4.g wait until no kube-controller-manager container runs (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "4.h move ${MANIFESTS_DIR}/kube-scheduler-pod.yaml to ${RUN_DIR}${MANIFESTS_DIR}/kube-scheduler-pod.yaml"
  plan_line "4.i wait until no kube-scheduler container runs (at most $(human_duration "$STOP_TIMEOUT"))"
  plan_line "4.j move ${ETCD_DATA_DIR} to ${RUN_DIR}${ETCD_DATA_DIR}"
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
# is back in place is most likely the recovered cluster's own (etcd, kube-apiserver, kube-controller-manager and kube-scheduler are
# redeployed by the later steps): stopping it again needs --again.
step_4_check_earlier_run() {
  CURRENT_STEP="4 (earlier runs)"
  local earlier path
  local -a back=()
  if ! earlier="$(earlier_completed)"; then
    return 0
  fi
  for path in "${MANIFESTS_DIR}/etcd-pod.yaml" "${MANIFESTS_DIR}/kube-apiserver-pod.yaml" "${MANIFESTS_DIR}/kube-controller-manager-pod.yaml" "${MANIFESTS_DIR}/kube-scheduler-pod.yaml" "$ETCD_DATA_DIR"; do
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

# Step 4.b: `mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp`, into the run directory instead.
step_4_b_move_etcd_pod_yaml() {
  CURRENT_STEP="4.b"
  quarantine_move "4.b" "${MANIFESTS_DIR}/etcd-pod.yaml"
}

# Step 4.c: wait until no etcd container runs (exact names, so operators never match).
step_4_c_wait_etcd_stopped() {
  CURRENT_STEP="4.c"
  wait_until "4.c" "$STOP_TIMEOUT" \
    "no etcd container runs (etcd, etcdctl, etcd-metrics, etcd-readyz)" \
    "see why with: crictl ps -a --label io.kubernetes.pod.namespace=openshift-etcd --name '^etcd\$' and journalctl -u kubelet.service; once they have stopped, run this script again (what was moved stays moved and is skipped)" \
    pod_containers_stopped openshift-etcd etcd etcdctl etcd-metrics etcd-readyz
}

# Step 4.d: `mv /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp`, into the run directory instead.
step_4_d_move_kube_apiserver_pod_yaml() {
  CURRENT_STEP="4.d"
  quarantine_move "4.d" "${MANIFESTS_DIR}/kube-apiserver-pod.yaml"
}

# Step 4.e: wait until no kube-apiserver container runs (exact names, so operators never match).
step_4_e_wait_kube_apiserver_stopped() {
  CURRENT_STEP="4.e"
  wait_until "4.e" "$STOP_TIMEOUT" \
    "no kube-apiserver container runs (kube-apiserver, kube-apiserver-cert-syncer, kube-apiserver-cert-regeneration-controller, kube-apiserver-insecure-readyz, kube-apiserver-check-endpoints)" \
    "see why with: crictl ps -a --label io.kubernetes.pod.namespace=openshift-kube-apiserver --name '^kube-apiserver\$' and journalctl -u kubelet.service; once they have stopped, run this script again (what was moved stays moved and is skipped)" \
    pod_containers_stopped openshift-kube-apiserver kube-apiserver kube-apiserver-cert-syncer kube-apiserver-cert-regeneration-controller kube-apiserver-insecure-readyz kube-apiserver-check-endpoints
}

# Step 4.f: `mv /etc/kubernetes/manifests/kube-controller-manager-pod.yaml /tmp`, into the run directory instead.
step_4_f_move_kube_controller_manager_pod_yaml() {
  CURRENT_STEP="4.f"
  quarantine_move "4.f" "${MANIFESTS_DIR}/kube-controller-manager-pod.yaml"
}

# Step 4.g: wait until no kube-controller-manager container runs (exact names, so operators never match).
step_4_g_wait_kube_controller_manager_stopped() {
  CURRENT_STEP="4.g"
  wait_until "4.g" "$STOP_TIMEOUT" \
    "no kube-controller-manager container runs (kube-controller-manager, cluster-policy-controller, kube-controller-manager-cert-syncer, kube-controller-manager-recovery-controller)" \
    "see why with: crictl ps -a --label io.kubernetes.pod.namespace=openshift-kube-controller-manager --name '^kube-controller-manager\$' and journalctl -u kubelet.service; once they have stopped, run this script again (what was moved stays moved and is skipped)" \
    pod_containers_stopped openshift-kube-controller-manager kube-controller-manager cluster-policy-controller kube-controller-manager-cert-syncer kube-controller-manager-recovery-controller
}

# Step 4.h: `mv /etc/kubernetes/manifests/kube-scheduler-pod.yaml /tmp`, into the run directory instead.
step_4_h_move_kube_scheduler_pod_yaml() {
  CURRENT_STEP="4.h"
  quarantine_move "4.h" "${MANIFESTS_DIR}/kube-scheduler-pod.yaml"
}

# Step 4.i: wait until no kube-scheduler container runs (exact names, so operators never match).
step_4_i_wait_kube_scheduler_stopped() {
  CURRENT_STEP="4.i"
  wait_until "4.i" "$STOP_TIMEOUT" \
    "no kube-scheduler container runs (kube-scheduler, kube-scheduler-cert-syncer, kube-scheduler-recovery-controller)" \
    "see why with: crictl ps -a --label io.kubernetes.pod.namespace=openshift-kube-scheduler --name '^kube-scheduler\$' and journalctl -u kubelet.service; once they have stopped, run this script again (what was moved stays moved and is skipped)" \
    pod_containers_stopped openshift-kube-scheduler kube-scheduler kube-scheduler-cert-syncer kube-scheduler-recovery-controller
}

# Step 4.j: `mv /var/lib/etcd/ /tmp`, into the run directory instead.
step_4_j_move_etcd_data() {
  CURRENT_STEP="4.j"
  quarantine_move "4.j" "$ETCD_DATA_DIR"
}

main() {
  prepare "$@"
  check_prerequisites
  step_4_check_earlier_run
  confirm
  start_run
  step_4_b_move_etcd_pod_yaml
  step_4_c_wait_etcd_stopped
  step_4_d_move_kube_apiserver_pod_yaml
  step_4_e_wait_kube_apiserver_stopped
  step_4_f_move_kube_controller_manager_pod_yaml
  step_4_g_wait_kube_controller_manager_stopped
  step_4_h_move_kube_scheduler_pod_yaml
  step_4_i_wait_kube_scheduler_stopped
  step_4_j_move_etcd_data
  CURRENT_STEP="4 (done)"
  mark_completed "step 4 on ${NODE_NAME}"
  log "step 4 is done on ${NODE_NAME}: etcd, kube-apiserver, kube-controller-manager and kube-scheduler are stopped and the etcd data is out of the way. Next (step 4.k): 04.k-stop-keepalived.sh here, then both on the other non-recovery hosts, one at a time."
}

main "$@"
