#!/usr/bin/env bash
#
# 08-restart-kubelet.sh: procedure/procedure.md step 8 (and 9.1 on the recovery host), on one control-plane host.
#
# Cluster:  ocp4 (OpenShift 4.5.2, procedure profile ocp-4.5)
# Host:     ip-10-0-143-125.ec2.internal (address 10.0.143.125); `hostname` must print ip-10-0-143-125.ec2.internal or ip-10-0-143-125
# Role:     the RECOVERY host: the restore runs here, and on no other host.
# Kit:      ocp4-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure.md (OpenShift Container Platform 4.5, Backup and restore, 5.3 Restoring to a previous cluster state).
#
# On this host, run in this order: 05-restore.sh then 08-restart-kubelet.sh.
# Only when told to (troubleshooting): 08-repair-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   8    `systemctl restart kubelet.service`, then wait until `systemctl is-active kubelet.service`
#        prints active
#   9.1  wait until `crictl ps --name '^etcd$' --state running -q` lists the same container
#        over consecutive polls: the restored one-member etcd runs (a container replaced
#        in between exited: the end of its log, crictl logs, says why)
# Run it here first, right after 05-restore.sh, then on every other control-plane host.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./08-restart-kubelet.sh              show the plan, ask, then run
#   sudo bash ./08-restart-kubelet.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./08-restart-kubelet.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS ip-10-0-143-125.ec2.internal)
#   --help         print this help
# `hostname` is compared case-insensitively; an FQDN's first label is also accepted
# when no other master of the inventory has the same first label.
#
# Nothing is deleted. What the procedure moves "to /tmp" is moved into a new directory
#   /var/lib/restorekit/restorekit-ocp4-<UTC YYYYmmddTHHMMSSZ>-<pid>
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
readonly SCRIPT_NAME=08-restart-kubelet.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=0
readonly CLUSTER=ocp4
readonly NODE_NAME=ip-10-0-143-125.ec2.internal
readonly EXPECTED_HOSTNAME=ip-10-0-143-125.ec2.internal
readonly -a ACCEPTED_HOSTNAMES=(ip-10-0-143-125.ec2.internal ip-10-0-143-125)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
# Seconds kubelet may take to become active again (timeouts.kubeletRestart).
readonly KUBELET_TIMEOUT=300
# Seconds the restored etcd may take to run (timeouts.singleMember).
readonly ETCD_RUNNING_TIMEOUT=1200

# The kit's shared host library: lib/ beside this script (restorekit/<kit>/ on a host)
# or ../../lib (in the kit itself). It is sourced only when its sha256 is the one this
# script was rendered with, so a changed or missing copy is refused before anything
# changes.
readonly HOST_LIB_SHA256=a7f2455e4771c9cc4abe247849478d50cc748f1dfac3131e7b544c4d4ff7643f
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
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--help]" \
    "" \
    "Procedure steps 8 and 9.1 on ${NODE_NAME} (cluster ${CLUSTER}), the RECOVERY host:" \
    "  8 restart kubelet.service and wait until it is active" \
    "  9.1 wait until a container named etcd runs" \
    "Run it here first, right after 05-restore.sh, then on every other control-plane host." \
    "A run.log goes to a new directory under ${QUARANTINE_DIR}; nothing is moved or deleted." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}):"
  plan_line "8 systemctl restart kubelet.service, then wait until it is active (at most $(human_duration "$KUBELET_TIMEOUT"))"
  plan_line "9.1 wait until the same container named etcd runs over ${STEADY_POLLS} polls in a row (at most $(human_duration "$ETCD_RUNNING_TIMEOUT"))"
}

# Step 8, before anything changes: the tools it needs, and a look at the manifests.
check_prerequisites() {
  CURRENT_STEP="8 (prerequisites)"
  require_tool systemctl crictl
  if [[ ! -f ${MANIFESTS_DIR}/etcd-pod.yaml ]]; then
    log "WARNING: step 8: ${MANIFESTS_DIR}/etcd-pod.yaml is not there: has 05-restore.sh (step 7) run on this host? Step 9.1 will wait for an etcd that cannot start."
  fi
}

# kubelet_active: succeed when systemctl reports kubelet.service active.
kubelet_active() {
  local state
  state="$(systemctl is-active kubelet.service)" || true
  PROBE_SEEN="systemctl is-active kubelet.service prints ${state:-nothing}"
  [[ $state == active ]]
}

# Step 8: `systemctl restart kubelet.service`, and wait until it is active.
step_8_restart_kubelet() {
  CURRENT_STEP="8"
  run systemctl restart kubelet.service
  wait_until "8" "$KUBELET_TIMEOUT" "kubelet.service is active" \
    "look at systemctl status kubelet.service and journalctl -u kubelet.service; once it is active, run this script again" \
    kubelet_active
}

# Step 9.1: `crictl ps | grep etcd | grep -v operator` shows a Running etcd container
# (an exact name filter, so etcd-operator never counts).
step_9_1_check_etcd_running() {
  CURRENT_STEP="9.1"
  wait_until "9.1" "$ETCD_RUNNING_TIMEOUT" "the same etcd container runs over ${STEADY_POLLS} polls in a row" \
    "look at crictl ps -a --name '^etcd\$', crictl logs CONTAINER-ID, and ${MANIFESTS_DIR}/etcd-pod.yaml (05-restore.sh puts the restore pod there); do not go on to step 9.2 before etcd runs" \
    container_steady etcd
}

main() {
  prepare "$@"
  check_prerequisites
  confirm
  start_run
  step_8_restart_kubelet
  step_9_1_check_etcd_running
  CURRENT_STEP="9.1 (done)"
  mark_completed "steps 8 and 9.1 on ${NODE_NAME}"
  log "steps 8 and 9.1 are done on ${NODE_NAME}: kubelet restarted and the restored etcd runs. Next: 08-restart-kubelet.sh on every other control-plane host, then step 9.2 (redeploy.sh or recover.sh)."
}

main "$@"
