#!/usr/bin/env bash
#
# 16-force-redeploy-on-host.sh: procedure/procedure-4.16.md step 16-17, on one control-plane host.
#
# Cluster:  ocp416 (OpenShift 4.16.21, procedure profile ocp-4.16)
# Host:     master-0.ocp416.example.com (address 192.168.111.20); `hostname` must print master-0.ocp416.example.com or master-0
# Role:     the RECOVERY host: the restore runs here, and on no other host.
# Kit:      ocp416-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure-4.16.md (OpenShift Container Platform 4.16 and 4.17, Backup and restore, Restoring to a previous cluster state).
#
# On this host, run in this order: 05-check-api-vip.sh then 07-restore.sh then 09-repair-node.sh then 10-restart-kubelet.sh then 14-ovn-node.sh then 16-force-redeploy-on-host.sh then 24-reboot-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   16-17 on the recovery host, with KUBECONFIG=/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost-recovery.kubeconfig
#        (the host's own recovery kubeconfig): oc patch etcd cluster with a unique
#        forceRedeploymentReason (recovery-<date --rfc-3339=ns>), then read it back.
#        The reason is recorded on this host BEFORE the patch: a re-run compares it with
#        spec.forceRedeploymentReason and never patches twice (--again patches anew).
# It runs the host's own /usr/bin/oc (RHCOS ships it), by that path: sudo resets PATH.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./16-force-redeploy-on-host.sh              show the plan, ask, then run
#   sudo bash ./16-force-redeploy-on-host.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./16-force-redeploy-on-host.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-0.ocp416.example.com)
#   --again        patch etcd/cluster with a new forceRedeploymentReason, although an earlier run already patched it
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
readonly SCRIPT_NAME=16-force-redeploy-on-host.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=1
readonly CLUSTER=ocp416
readonly NODE_NAME=master-0.ocp416.example.com
readonly EXPECTED_HOSTNAME=master-0.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-0.ocp416.example.com master-0)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly RECOVERY_KUBECONFIG=/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/node-kubeconfigs/localhost-recovery.kubeconfig
readonly RESOURCE=etcd
# The host's oc, by absolute path (sudo resets PATH).
readonly OC=/usr/bin/oc
# Seconds each oc call may take before it gives up.
readonly OC_REQUEST_TIMEOUT=30s

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

# The reason this run patches with (new, or recorded by an interrupted run).
REASON=""
# 1 when an earlier run's patch is in place: nothing to do.
ALREADY_DONE=0

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--again] [--help]" \
    "" \
    "Procedure steps 16-17 on ${NODE_NAME} (cluster ${CLUSTER}), the RECOVERY host:" \
    "  with KUBECONFIG=${RECOVERY_KUBECONFIG}," \
    "  oc patch ${RESOURCE} cluster with a unique forceRedeploymentReason (recorded first)." \
    "A run.log goes to a new directory under ${QUARANTINE_DIR}." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "  --again       patch with a new reason although an earlier run's patch is in place" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused."
}

show_plan() {
  log "plan for ${NODE_NAME}, the recovery host of cluster ${CLUSTER}, procedure steps 16-17:"
  plan_line "16-17 record ${REASON:-a new reason} in ${RUN_DIR}/state.${RESOURCE}-force-redeployment-reason"
  plan_line "16-17 KUBECONFIG=${RECOVERY_KUBECONFIG} oc patch ${RESOURCE} cluster --type=merge -p '{\"spec\": {\"forceRedeploymentReason\": \"${REASON:-recovery-<now>}\"}}'"
}

# oc_recovery ARG...: oc with the recovery kubeconfig (exported in step 16), bounded.
oc_recovery() {
  "$OC" --request-timeout="$OC_REQUEST_TIMEOUT" "$@"
}

# Step 16: the host's oc and the recovery kubeconfig.
step_16_check() {
  CURRENT_STEP="16 (check)"
  local on_path
  if [[ ! -x $OC ]]; then
    on_path="$(command -v oc || true)"
    if [[ -n $on_path ]]; then
      on_path=" (there is ${on_path} on root's PATH, but sudo resets PATH and this script runs ${OC} only)"
    fi
    fail "$EXIT_FAILED" "step 16: there is no ${OC} on this host${on_path}: RHCOS control-plane hosts ship it. Nothing was changed. Install the oc of this release as ${OC}, or do steps 16-17 by hand from the RUNBOOK with an oc of your own."
  fi
  log "step 16: oc is ${OC}"
  if [[ ! -f $RECOVERY_KUBECONFIG ]]; then
    fail "$EXIT_FAILED" "step 16: the recovery kubeconfig ${RECOVERY_KUBECONFIG} does not exist: is this the recovery host, and did 07-restore.sh (step 8) restore the static pod resources? Nothing was changed."
  fi
  export KUBECONFIG=$RECOVERY_KUBECONFIG
  log "step 16: export KUBECONFIG=${RECOVERY_KUBECONFIG}"
}

# current_reason: print spec.forceRedeploymentReason of RESOURCE/cluster; fail when oc does.
current_reason() {
  local out
  if ! out="$(oc_recovery get "$RESOURCE" cluster -o 'jsonpath={.spec.forceRedeploymentReason}' 2>&1)"; then
    fail "$EXIT_FAILED" "step 17: oc get ${RESOURCE} cluster failed with the recovery kubeconfig: ${out}. Is the restored kube-apiserver up here (crictl ps --name '^kube-apiserver\$')? Nothing was patched; run ${SCRIPT_NAME} again once it answers."
  fi
  printf '%s\n' "$out"
}

# Step 17, before anything changes: a reason an earlier run recorded. In place: that
# run patched, nothing to do. Not in place: it was stopped before its patch landed,
# and this run patches with the same reason, so there is never a second redeployment.
step_17_check_earlier() {
  CURRENT_STEP="17 (earlier runs)"
  local recorded now
  if ((AGAIN)) || ! recorded="$(read_state "${RESOURCE}-force-redeployment-reason")"; then
    return 0
  fi
  now="$(current_reason)"
  if [[ $now == "$recorded" ]]; then
    ALREADY_DONE=1
    log "step 17: an earlier run already patched ${RESOURCE}/cluster with forceRedeploymentReason ${recorded}: nothing to do (only to force another redeployment: --again)"
    printf 'forceRedeploymentReason=%s\n' "$recorded"
    return 0
  fi
  REASON=$recorded
  log "step 17: an earlier run recorded forceRedeploymentReason ${recorded}, but spec.forceRedeploymentReason is '${now}': it was stopped before its patch landed; patching with the same reason"
}

# Step 17: `oc patch etcd cluster -p='{"spec": {"forceRedeploymentReason": "recovery-'"$( date --rfc-3339=ns )"'"}}' --type=merge`.
step_17_patch() {
  CURRENT_STEP="17"
  local now
  if [[ -z $REASON ]]; then
    REASON="recovery-$(date -u --rfc-3339=ns)"
  fi
  record_state "${RESOURCE}-force-redeployment-reason" "$REASON"
  run "$OC" --request-timeout="$OC_REQUEST_TIMEOUT" patch "$RESOURCE" cluster --type=merge \
    -p "{\"spec\": {\"forceRedeploymentReason\": \"${REASON}\"}}"
  if ((DRY_RUN)); then
    return 0
  fi
  now="$(current_reason)"
  if [[ $now != "$REASON" ]]; then
    fail "$EXIT_FAILED" "step 17: after the patch, spec.forceRedeploymentReason of ${RESOURCE}/cluster is '${now}', not ${REASON}. Run ${SCRIPT_NAME} again (it patches with the recorded reason)."
  fi
  log "step 17: patched ${RESOURCE}/cluster: forceRedeploymentReason is ${REASON}"
  printf 'forceRedeploymentReason=%s\n' "$REASON"
}

main() {
  prepare "$@"
  step_16_check
  step_17_check_earlier
  if ((ALREADY_DONE)); then
    CURRENT_STEP="17 (done earlier)"
    return 0
  fi
  confirm
  start_run
  step_17_patch
  CURRENT_STEP="17 (done)"
  mark_completed "$REASON"
  log "steps 16-17 are done: the etcd operator rolls out a new revision. Next (step 18-19): turn the etcd quorum guard back on and check that unsupportedConfigOverrides is gone."
}

main "$@"
