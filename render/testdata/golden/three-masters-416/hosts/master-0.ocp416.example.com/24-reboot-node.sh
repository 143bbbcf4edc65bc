#!/usr/bin/env bash
#
# 24-reboot-node.sh: procedure/procedure-4.16.md step 24, on one control-plane host.
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
#   24  reboot this node: the reboot is scheduled a few seconds ahead, in a session of
#       its own, so that this script and its ssh session end cleanly first
# recover.sh then waits until the node is down, back over ssh and Ready, before the
# next node (masters first, then workers, one at a time).
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./24-reboot-node.sh              show the plan, ask, then run
#   sudo bash ./24-reboot-node.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./24-reboot-node.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-0.ocp416.example.com)
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
readonly SCRIPT_NAME=24-reboot-node.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=0
readonly CLUSTER=ocp416
readonly NODE_NAME=master-0.ocp416.example.com
readonly EXPECTED_HOSTNAME=master-0.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-0.ocp416.example.com master-0)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
# Seconds between the end of this script and the reboot.
readonly REBOOT_DELAY=5
# A mark in /tmp (tmpfs: gone after the reboot) that tells the coordinator the reboot
# has not happened yet.
readonly REBOOT_MARK=/tmp/restorekit-ocp416-recovery-kit.reboot

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
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--help]" \
    "" \
    "Procedure step 24 on ${NODE_NAME} (cluster ${CLUSTER}): reboot it, ${REBOOT_DELAY}s after this" \
    "script ends (the ssh session then ends). Wait until it is back and Ready before the next node." \
    "A run.log goes to a new directory under ${QUARANTINE_DIR}." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "" \
    "Exit codes: 0 done (the reboot is scheduled), 1 a step failed, 2 usage error or refused."
}

show_plan() {
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}):"
  plan_line "24 systemctl reboot, ${REBOOT_DELAY}s after this script ends"
}

check_prerequisites() {
  CURRENT_STEP="24 (prerequisites)"
  require_tool systemctl setsid nohup
}

# Step 24: the reboot, scheduled in a new session (no terminal, no ssh pipes, the hangup
# of the ending session ignored), so that the session ends before the host goes and its
# end does not stop the reboot.
step_24_reboot() {
  CURRENT_STEP="24"
  run touch -- "$REBOOT_MARK"
  run nohup setsid -f bash -c "sleep ${REBOOT_DELAY}; systemctl reboot" </dev/null >/dev/null 2>&1
}

main() {
  prepare "$@"
  check_prerequisites
  confirm
  start_run
  step_24_reboot
  CURRENT_STEP="24 (scheduled)"
  log "step 24: ${NODE_NAME} reboots in ${REBOOT_DELAY}s; wait until it is back and Ready (oc get nodes) before the next node."
}

main "$@"
