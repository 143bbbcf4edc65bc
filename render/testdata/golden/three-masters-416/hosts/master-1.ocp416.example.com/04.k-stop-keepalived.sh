#!/usr/bin/env bash
#
# 04.k-stop-keepalived.sh: procedure/procedure-4.16.md step 4.k, on one control-plane host.
#
# Cluster:  ocp416 (OpenShift 4.16.21, procedure profile ocp-4.16)
# Host:     master-1.ocp416.example.com (address 192.168.111.21); `hostname` must print master-1.ocp416.example.com or master-1
# Role:     a non-recovery control-plane host (the recovery host is master-0.ocp416.example.com).
# Kit:      ocp416-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure-4.16.md (OpenShift Container Platform 4.16 and 4.17, Backup and restore, Restoring to a previous cluster state).
#
# On this host, run in this order: 04-stop-static-pods.sh then 04.k-stop-keepalived.sh then 09-repair-node.sh then 10-restart-kubelet.sh then 14-ovn-node.sh then 22-restore-keepalived.sh then 24-reboot-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   4.k  only when /etc/kubernetes/manifests/keepalived.yaml exists (without it this host runs no
#        keepalived: nothing to do): move it into the run directory (the procedure's
#        `mv ... /home/core/`) and record where, for 22-restore-keepalived.sh (step 22);
#        wait until no keepalived container runs (exact names: keepalived, keepalived-monitor);
#        then remove from this host, and only from it, each VIP of the inventory it still
#        holds (192.168.111.5, 192.168.111.4): `ip address del <vip>/<prefix> dev <device>`,
#        the device as `ip -o address` shows it. No other address is touched.
# A re-run after keepalived.yaml was moved says where it is and checks the VIPs again.
# Run it on every non-recovery host, after 04-stop-static-pods.sh, before 07-restore.sh.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./04.k-stop-keepalived.sh              show the plan, ask, then run
#   sudo bash ./04.k-stop-keepalived.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./04.k-stop-keepalived.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS master-1.ocp416.example.com)
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
readonly SCRIPT_NAME=04.k-stop-keepalived.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=0
readonly CLUSTER=ocp416
readonly NODE_NAME=master-1.ocp416.example.com
readonly EXPECTED_HOSTNAME=master-1.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-1.ocp416.example.com master-1)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly KEEPALIVED_MANIFEST="${MANIFESTS_DIR}/keepalived.yaml"
# The containers of keepalived's static pod (its namespace depends on the platform).
readonly -a KEEPALIVED_CONTAINERS=(keepalived keepalived-monitor)
# The VIPs keepalived holds (cluster.apiVIPs, then cluster.ingressVIPs).
readonly -a VIPS=(192.168.111.5 192.168.111.4)
# Seconds keepalived may take to stop (timeouts.staticPodStop).
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

# Where keepalived.yaml is now when an earlier run moved it ("" when none did).
MOVED_TO=""
# The VIPs this host holds: "VIP ADDRESS/PREFIX DEVICE" per line (vips_held).
HELD=()

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--help]" \
    "" \
    "Procedure step 4.k on ${NODE_NAME} (cluster ${CLUSTER}), a non-recovery control-plane host:" \
    "  move ${KEEPALIVED_MANIFEST} into the run directory (only when it exists) and record where," \
    "  wait until no keepalived container runs (${KEEPALIVED_CONTAINERS[*]})," \
    "  then remove the VIPs ${VIPS[*]} from this host's devices (ip address del), only those." \
    "The run directory is a new directory under ${QUARANTINE_DIR}; nothing is deleted." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  local h
  local -a f
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}), procedure step 4.k:"
  if [[ -n $MOVED_TO ]]; then
    plan_line "4.k ${KEEPALIVED_MANIFEST} was already moved to ${MOVED_TO} by an earlier run"
  else
    plan_line "4.k move ${KEEPALIVED_MANIFEST} to ${RUN_DIR}${KEEPALIVED_MANIFEST} and record where"
  fi
  plan_line "4.k wait until none of ${KEEPALIVED_CONTAINERS[*]} runs (at most $(human_duration "$STOP_TIMEOUT"))"
  if ((${#HELD[@]} == 0)); then
    plan_line "4.k then remove what this host still holds of ${VIPS[*]} (now: none)"
  fi
  for h in "${HELD[@]}"; do
    read -r -a f <<<"$h"
    plan_line "4.k then ip address del ${f[1]} dev ${f[2]} (now held here)"
  done
}

# vips_held: set HELD to the inventory's VIPs that `ip -o address` shows on this host,
# each with its address/prefix and device; nothing else is ever listed.
vips_held() {
  local line vip addr
  local -a f
  HELD=()
  if ! line="$(ip -o address)"; then
    fail "$EXIT_FAILED" "step 4.k: ip -o address failed; the VIPs were not checked"
  fi
  while read -r -a f; do
    # "2: br-ex    inet 192.0.2.5/32 scope global br-ex ...": device, family, address.
    if ((${#f[@]} < 4)) || [[ ${f[2]} != inet && ${f[2]} != inet6 ]]; then
      continue
    fi
    addr=${f[3]}
    for vip in "${VIPS[@]}"; do
      if [[ ${addr%/*} == "${vip,,}" || ${addr%/*} == "$vip" ]]; then
        HELD+=("${vip} ${addr} ${f[1]%@*}")
      fi
    done
  done <<<"$line"
}

# Step 4.k, before anything changes: the tools, and whether keepalived runs here at all.
# Returns 1 when there is nothing to do.
check_keepalived() {
  CURRENT_STEP="4.k (check)"
  require_tool crictl ip
  if [[ -e $KEEPALIVED_MANIFEST ]]; then
    return 0
  fi
  if MOVED_TO="$(read_state keepalived-manifest)" || MOVED_TO="$(earlier_copy "$KEEPALIVED_MANIFEST")"; then
    if [[ -e $MOVED_TO ]]; then
      log "step 4.k: ${KEEPALIVED_MANIFEST} was already moved to ${MOVED_TO} by an earlier run; checking that keepalived has stopped and the VIPs again"
      return 0
    fi
    fail "$EXIT_FAILED" "step 4.k: an earlier run recorded that it moved ${KEEPALIVED_MANIFEST} to ${MOVED_TO}, but neither is there. Nothing was changed. Find keepalived.yaml (ls ${QUARANTINE_DIR}/restorekit-${CLUSTER}-*${KEEPALIVED_MANIFEST}); step 22 puts it back from there."
  fi
  MOVED_TO=""
  log "step 4.k: there is no ${KEEPALIVED_MANIFEST} on this host and no earlier run moved one: this host runs no keepalived, nothing to do"
  return 1
}

# Step 4.k: `mv /etc/kubernetes/manifests/keepalived.yaml /home/core/`, into the run directory instead,
# and record where it went: 22-restore-keepalived.sh copies it back from there in step 22.
step_move_keepalived() {
  CURRENT_STEP="4.k (move)"
  if [[ -n $MOVED_TO ]]; then
    MOVED+=("${KEEPALIVED_MANIFEST} -> ${MOVED_TO} (earlier run)")
    return 0
  fi
  quarantine_move "4.k" "$KEEPALIVED_MANIFEST"
  record_state keepalived-manifest "${RUN_DIR}${KEEPALIVED_MANIFEST}"
}

# Step 4.k: wait until no keepalived container runs (exact names).
step_wait_keepalived_stopped() {
  CURRENT_STEP="4.k (wait)"
  wait_until "4.k" "$STOP_TIMEOUT" \
    "no keepalived container runs (${KEEPALIVED_CONTAINERS[*]})" \
    "see why with: crictl ps -a --name '^keepalived' and journalctl -u kubelet.service; keepalived.yaml must no longer be in ${MANIFESTS_DIR}. Once they have stopped, run this script again: it removes the VIPs then" \
    containers_stopped "${KEEPALIVED_CONTAINERS[@]}"
}

# Step 4.k: `ip address del <vip> dev <device>` for each VIP of the inventory this host
# still holds; every other address stays.
step_remove_vips() {
  CURRENT_STEP="4.k (VIPs)"
  local h vip
  local -a f removed=()
  vips_held
  if ((${#HELD[@]} == 0)); then
    log "step 4.k: this host holds none of the VIPs ${VIPS[*]}: nothing to remove"
    return 0
  fi
  for h in "${HELD[@]}"; do
    read -r -a f <<<"$h"
    run ip address del "${f[1]}" dev "${f[2]}"
    removed+=("${f[1]} (${f[2]})")
  done
  if ((DRY_RUN)); then
    return 0
  fi
  vips_held
  if ((${#HELD[@]} > 0)); then
    fail "$EXIT_FAILED" "step 4.k: after ip address del, this host still holds ${HELD[*]}: is keepalived running again (crictl ps --name '^keepalived')? Run this script again."
  fi
  for vip in "${removed[@]}"; do
    log "step 4.k: removed VIP ${vip} from this host"
  done
}

main() {
  prepare "$@"
  if ! check_keepalived; then
    CURRENT_STEP="4.k (nothing to do)"
    return 0
  fi
  vips_held
  confirm
  start_run
  step_move_keepalived
  step_wait_keepalived_stopped
  step_remove_vips
  CURRENT_STEP="4.k (done)"
  mark_completed "step 4.k on ${NODE_NAME}"
  log "step 4.k is done on ${NODE_NAME}: keepalived is stopped and this host holds none of ${VIPS[*]}. keepalived.yaml is in $(read_state keepalived-manifest || printf '%s' "${RUN_DIR}${KEEPALIVED_MANIFEST}") until step 22 (22-restore-keepalived.sh) puts it back."
}

main "$@"
