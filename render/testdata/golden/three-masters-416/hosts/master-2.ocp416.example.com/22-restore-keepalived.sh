#!/usr/bin/env bash
#
# 22-restore-keepalived.sh: procedure/procedure-4.16.md step 22, on one control-plane host.
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
#   22   copy keepalived.yaml back from where 04.k-stop-keepalived.sh (step 4.k) recorded it
#        moved it (the procedure's `cp -v /home/core/keepalived.yaml /etc/kubernetes/manifests/`); the
#        moved copy stays where it is. Nothing recorded: nothing to do. Already back and
#        identical: nothing to do. A different keepalived.yaml in place is left alone.
# Run it on every non-recovery host once the rollouts of steps 20-21 are done.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./22-restore-keepalived.sh              show the plan, ask, then run
#   sudo bash ./22-restore-keepalived.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./22-restore-keepalived.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-2.ocp416.example.com)
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
readonly SCRIPT_NAME=22-restore-keepalived.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=0
readonly CLUSTER=ocp416
readonly NODE_NAME=master-2.ocp416.example.com
readonly EXPECTED_HOSTNAME=master-2.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-2.ocp416.example.com master-2)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly KEEPALIVED_MANIFEST="${MANIFESTS_DIR}/keepalived.yaml"

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

# Where step 4.k put keepalived.yaml (check_moved).
SOURCE=""

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--help]" \
    "" \
    "Procedure step 22 on ${NODE_NAME} (cluster ${CLUSTER}), a non-recovery control-plane host:" \
    "  copy keepalived.yaml back to ${MANIFESTS_DIR}/ from where 04.k-stop-keepalived.sh moved it" \
    "  (the moved copy stays). Nothing recorded, or already back: nothing to do." \
    "A run.log goes to a new directory under ${QUARANTINE_DIR}; nothing is deleted." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused."
}

show_plan() {
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}), procedure step 22:"
  plan_line "22 copy ${SOURCE} to ${KEEPALIVED_MANIFEST} (the kubelet then starts keepalived)"
}

# Step 22, before anything changes: where step 4.k put keepalived.yaml, and whether it
# is back already. Returns 1 when there is nothing to do.
check_moved() {
  CURRENT_STEP="22 (check)"
  if ! SOURCE="$(read_state keepalived-manifest)" && ! SOURCE="$(earlier_copy "$KEEPALIVED_MANIFEST")"; then
    SOURCE=""
    if [[ -e $KEEPALIVED_MANIFEST ]]; then
      log "step 22: no run of 04.k-stop-keepalived.sh moved keepalived.yaml on this host, and ${KEEPALIVED_MANIFEST} is in place: nothing to do"
    else
      log "step 22: no run of 04.k-stop-keepalived.sh moved keepalived.yaml on this host (no state.keepalived-manifest in a run directory under ${QUARANTINE_DIR}): nothing to do"
    fi
    return 1
  fi
  if [[ ! -f $SOURCE ]]; then
    fail "$EXIT_FAILED" "step 22: 04.k-stop-keepalived.sh recorded that it moved keepalived.yaml to ${SOURCE}, but it is not there. Nothing was changed. Find it (ls ${QUARANTINE_DIR}/restorekit-${CLUSTER}-*${KEEPALIVED_MANIFEST}) and copy it to ${MANIFESTS_DIR}/ by hand."
  fi
  if [[ -e $KEEPALIVED_MANIFEST ]]; then
    if [[ $(sha256sum <"$SOURCE") == "$(sha256sum <"$KEEPALIVED_MANIFEST")" ]]; then
      log "step 22: ${KEEPALIVED_MANIFEST} is already back and identical to ${SOURCE}: nothing to do"
      return 1
    fi
    fail "$EXIT_REFUSED" "step 22: ${KEEPALIVED_MANIFEST} is in place but differs from ${SOURCE}, which step 4.k moved aside: something else has put a keepalived.yaml back. Nothing was changed (it is not overwritten). Compare them (diff ${SOURCE} ${KEEPALIVED_MANIFEST}) and keep the right one by hand."
  fi
  return 0
}

# Step 22: `cp -v .../keepalived.yaml /etc/kubernetes/manifests/`: copied under a name the kubelet
# ignores, then renamed into place, so it never reads half a manifest.
step_copy_back() {
  CURRENT_STEP="22"
  local tmp="${MANIFESTS_DIR}/.keepalived.yaml.restorekit-$$"
  run cp -p -- "$SOURCE" "$tmp"
  run mv -T -- "$tmp" "$KEEPALIVED_MANIFEST"
  if ((DRY_RUN)); then
    return 0
  fi
  log "step 22: copied ${SOURCE} to ${KEEPALIVED_MANIFEST} (the moved copy stays); the kubelet starts keepalived (crictl ps --name '^keepalived\$')"
}

main() {
  prepare "$@"
  if ! check_moved; then
    CURRENT_STEP="22 (nothing to do)"
    return 0
  fi
  confirm
  start_run
  step_copy_back
  CURRENT_STEP="22 (done)"
  mark_completed "step 22 on ${NODE_NAME}"
  log "step 22 is done on ${NODE_NAME}: keepalived.yaml is back in ${MANIFESTS_DIR}."
}

main "$@"
