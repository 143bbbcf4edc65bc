#!/usr/bin/env bash
#
# 14-ovn-node.sh: procedure/procedure-4.16.md step 14, on one worker node.
#
# Cluster:  ocp416 (OpenShift 4.16.21, procedure profile ocp-4.16)
# Host:     worker-0.ocp416.example.com (address 192.168.111.30); `hostname` must print worker-0.ocp416.example.com or worker-0
# Role:     a worker node (the recovery host is master-0.ocp416.example.com).
# Kit:      ocp416-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure-4.16.md (OpenShift Container Platform 4.16 and 4.17, Backup and restore, Restoring to a previous cluster state).
#
# On this host, run in this order: 09-repair-node.sh then 14-ovn-node.sh then 24-reboot-node.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   14.a  move /var/lib/ovn-ic/etc/*.db (this node's OVN databases) into the run directory:
#         the procedure deletes them (`rm -f`); the kit keeps them
#   14.b  `systemctl restart ovs-vswitchd ovsdb-server`, then wait until both are active
# recover.sh then deletes this node's ovnkube-node pod (14.c-e), which rebuilds the
# databases. Nodes go one at a time: the recovery host, the other masters, the workers.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./14-ovn-node.sh              show the plan, ask, then run
#   sudo bash ./14-ovn-node.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./14-ovn-node.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS worker-0.ocp416.example.com)
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
readonly SCRIPT_NAME=14-ovn-node.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=0
readonly CLUSTER=ocp416
readonly NODE_NAME=worker-0.ocp416.example.com
readonly EXPECTED_HOSTNAME=worker-0.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(worker-0.ocp416.example.com worker-0)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly OVN_DB_DIR=/var/lib/ovn-ic/etc
# Seconds Open vSwitch may take to become active again (timeouts.singleMember).
readonly OVS_TIMEOUT=1200

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
    "Procedure steps 14.a and 14.b on ${NODE_NAME} (cluster ${CLUSTER}):" \
    "  14.a move ${OVN_DB_DIR}/*.db into the run directory (never deleted)" \
    "  14.b restart ovs-vswitchd and ovsdb-server and wait until they are active" \
    "Then, from the workstation, delete this node's ovnkube-node pod (14.c-e)." \
    "A run.log goes to a new directory under ${QUARANTINE_DIR}." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     print every command it would run and change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "" \
    "Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  log "plan for ${NODE_NAME} (cluster ${CLUSTER}):"
  plan_line "14.a move ${OVN_DB_DIR}/*.db into the run directory"
  plan_line "14.b systemctl restart ovs-vswitchd ovsdb-server, wait until both are active (at most $(human_duration "$OVS_TIMEOUT"))"
}

check_prerequisites() {
  CURRENT_STEP="14 (prerequisites)"
  require_tool systemctl
}

# ovs_active: succeed when both Open vSwitch units are active.
ovs_active() {
  local a b
  a="$(systemctl is-active ovs-vswitchd.service)" || true
  b="$(systemctl is-active ovsdb-server.service)" || true
  PROBE_SEEN="ovs-vswitchd ${a:-unknown}, ovsdb-server ${b:-unknown}"
  [[ $a == active && $b == active ]]
}

# Step 14.a: the databases into the run directory.
step_14a_move_databases() {
  local f n=0
  CURRENT_STEP="14.a"
  for f in "${OVN_DB_DIR}"/*.db; do
    if [[ -e $f ]]; then
      quarantine_move "14.a" "$f"
      n=$((n + 1))
    fi
  done
  if ((n == 0)); then
    log "step 14.a: no *.db in ${OVN_DB_DIR}: nothing to move (an earlier run moved them?)"
  fi
}

# Step 14.b: Open vSwitch restarted.
step_14b_restart_ovs() {
  CURRENT_STEP="14.b"
  run systemctl restart ovs-vswitchd ovsdb-server
  wait_until "14.b" "$OVS_TIMEOUT" "ovs-vswitchd and ovsdb-server are active" \
    "look at systemctl status ovs-vswitchd ovsdb-server and their journal; once they are active, run this script again" \
    ovs_active
}

main() {
  prepare "$@"
  check_prerequisites
  confirm
  start_run
  step_14a_move_databases
  step_14b_restart_ovs
  CURRENT_STEP="14.b (done)"
  log "steps 14.a and 14.b are done on ${NODE_NAME}: the OVN databases are in ${RUN_DIR}${OVN_DB_DIR}. Next: delete this node's ovnkube-node pod (14.c)."
}

main "$@"
