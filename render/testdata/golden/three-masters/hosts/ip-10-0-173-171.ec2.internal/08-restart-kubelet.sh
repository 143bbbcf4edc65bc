#!/usr/bin/env bash
#
# 08-restart-kubelet.sh: procedure/procedure.md step 8 (and 9.1 on the recovery host), on one control-plane host.
#
# Cluster:  ocp4 (OpenShift 4.5.2, procedure profile ocp-4.5)
# Host:     ip-10-0-173-171.ec2.internal (address 10.0.173.171); `hostname` must print ip-10-0-173-171.ec2.internal or ip-10-0-173-171
# Role:     a non-recovery control-plane host (the recovery host is ip-10-0-143-125.ec2.internal).
# Kit:      ocp4-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure.md (OpenShift Container Platform 4.5, Backup and restore, 5.3 Restoring to a previous cluster state).
#
# On this host, run in this order: 04-stop-static-pods.sh then 08-restart-kubelet.sh.
# Only when told to (troubleshooting): 08-repair-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   8    `systemctl restart kubelet.service`, then wait until `systemctl is-active kubelet.service`
#        prints active
# Run it after 08-restart-kubelet.sh has finished on the recovery host ip-10-0-143-125.ec2.internal.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./08-restart-kubelet.sh              show the plan, ask, then run
#   sudo bash ./08-restart-kubelet.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./08-restart-kubelet.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS ip-10-0-173-171.ec2.internal)
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
readonly NODE_NAME=ip-10-0-173-171.ec2.internal
readonly EXPECTED_HOSTNAME=ip-10-0-173-171.ec2.internal
readonly -a ACCEPTED_HOSTNAMES=(ip-10-0-173-171.ec2.internal ip-10-0-173-171)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
# Seconds kubelet may take to become active again (timeouts.kubeletRestart).
readonly KUBELET_TIMEOUT=300

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
    "Procedure step 8 on ${NODE_NAME} (cluster ${CLUSTER}):" \
    "  8 restart kubelet.service and wait until it is active" \
    "Run it after it has finished on the recovery host." \
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
}

# Step 8, before anything changes: the tools it needs, and a look at the manifests.
check_prerequisites() {
  CURRENT_STEP="8 (prerequisites)"
  require_tool systemctl
  if [[ -f ${MANIFESTS_DIR}/etcd-pod.yaml ]]; then
    log "WARNING: step 8: ${MANIFESTS_DIR}/etcd-pod.yaml is still there: step 4 (04-stop-static-pods.sh) has not run on this host, so its old etcd member starts again."
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

main() {
  prepare "$@"
  check_prerequisites
  confirm
  start_run
  step_8_restart_kubelet
  CURRENT_STEP="8 (done)"
  mark_completed "step 8 on ${NODE_NAME}"
  log "step 8 is done on ${NODE_NAME}: kubelet restarted."
}

main "$@"
