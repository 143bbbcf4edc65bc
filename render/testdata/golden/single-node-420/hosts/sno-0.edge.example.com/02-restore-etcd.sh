#!/usr/bin/env bash
#
# 02-restore-etcd.sh: procedure/procedure-4.18.md step SNO 2, on one control-plane host.
#
# Cluster:  edge (OpenShift 4.20.3, procedure profile ocp-4.18)
# Host:     sno-0.edge.example.com (address 192.168.50.10); `hostname` must print sno-0.edge.example.com or sno-0
# Role:     the RECOVERY host: the restore runs here, and on no other host.
# Kit:      edge-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure/procedure-4.18.md (OpenShift Container Platform 4.18 to 4.22, Backup and restore, Restoring to a previous cluster state (and its single-node variant)).
#
# On this host, run in this order: 02-restore-etcd.sh.
# It needs the kit's lib/host.sh beside it (copy both: restorekit/<kit>/lib/host.sh).
#
# What this script does:
#   SNO 2    check, before anything changes: /home/core/backup holds exactly the backup pair
#        snapshot_2025-06-10_020000.db and static_kuberesources_2025-06-10_020000.tar.gz
#        (cluster-restore.sh takes the newest snapshot*.db and static_kuberesources*.tar.gz
#        by name, whether or not they belong together), with the sizes and sha256 of kit.json;
#        /var/lib/etcd holds nothing but member, revision.json, etcd_perf* (cluster-restore.sh
#        stops with "folder ... is not empty" after etcd is already down otherwise; with
#        --move-etcd-extras the other entries are moved into the run directory);
#        /usr/local/bin/cluster-restore.sh and the etcd scripts it sources are there
#   SNO 2    move an existing /var/lib/etcd-backup and /home/core/assets/manifests-stopped into the
#        run directory (cluster-restore.sh removes /var/lib/etcd-backup/member when run again),
#        then run /usr/local/bin/cluster-restore.sh /home/core/backup once, with the
#        proxy variables passed explicitly (the procedure's `sudo -E`), its output streamed
#        and logged. It waits for etcd, etcdctl, etcd-metrics, etcd-readyz, etcd-rev, etcd-backup-server to stop here.
# The restore runs once: after a completed run, a re-run does nothing while the restore
# pod manifest it left is in place, and refuses once the cluster has moved on (--again
# restores again).
# Run it on the recovery host only. Running it on a second host creates a second etcd cluster.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./02-restore-etcd.sh              show the plan, ask, then run
#   sudo bash ./02-restore-etcd.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./02-restore-etcd.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS sno-0.edge.example.com)
#   --again        restore the snapshot again, although an earlier run completed the restore here
#                  (without it, a re-run after a completed run skips or refuses: see below)
#   --help         print this help
# `hostname` is compared case-insensitively; an FQDN's first label is also accepted
# when no other master of the inventory has the same first label.
#
# Nothing is deleted. What the procedure moves "to /tmp" is moved into a new directory
#   /var/lib/restorekit/restorekit-edge-<UTC YYYYmmddTHHMMSSZ>-<pid>
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
readonly SCRIPT_NAME=02-restore-etcd.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=1
readonly CLUSTER=edge
readonly NODE_NAME=sno-0.edge.example.com
readonly EXPECTED_HOSTNAME=sno-0.edge.example.com
readonly -a ACCEPTED_HOSTNAMES=(sno-0.edge.example.com sno-0)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly BACKUP_DIR=/home/core/backup
# The backup pair: snapshot first; sizes and sha256 are empty when not recorded.
readonly -a BACKUP_NAMES=(snapshot_2025-06-10_020000.db static_kuberesources_2025-06-10_020000.tar.gz)
readonly -a BACKUP_SIZES=(20512 418)
readonly -a BACKUP_SHA256=(658b92bbd6de95c7a66b9790ad1ba36e2e10a58e8e9c14cb950525b780af5c63 99d2f5556f736ca6f334dbd8a4f8205fd64ea90092f50f4ad79eb0728b293d70)
readonly CLUSTER_RESTORE=/usr/local/bin/cluster-restore.sh
# What cluster-restore.sh sources: without them it refuses.
readonly ETCD_SCRIPTS_DIR=/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly ETCD_DATA_DIR=/var/lib/etcd
readonly ETCD_BACKUP_DIR=/var/lib/etcd-backup
readonly STOPPED_MANIFESTS_DIR=/home/core/assets/manifests-stopped
# The entries cluster-restore.sh deals with in the etcd data directory (names, or a
# prefix followed by *).
readonly -a ETCD_DIR_ALLOWED=(member revision.json 'etcd_perf*')
# Seconds cluster-restore.sh may take (timeouts.restore).
readonly RESTORE_TIMEOUT=1200
# The cluster-wide proxy (empty: none).
readonly PROXY_HTTP=''
readonly PROXY_HTTPS=''
readonly PROXY_NO=''
# This script's own option (lib/host.sh collects it in EXTRA_ARGS).
EXTRA_FLAGS=(--move-etcd-extras)

# The kit's shared host library: lib/ beside this script (restorekit/<kit>/ on a host)
# or ../../lib (in the kit itself). It is sourced only when its sha256 is the one this
# script was rendered with, so a changed or missing copy is refused before anything
# changes.
readonly HOST_LIB_SHA256=f2a4fc3aca96efee9949e3ecdc085031e3d72b39273b73ac7129f97aa5233fb4
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

# Problems found by the checks; reported together before anything changes.
PROBLEMS=()
# --move-etcd-extras: move them into the run directory instead of stopping.
MOVE_EXTRAS=0
# 1 when an earlier run completed the restore and nothing has changed since.
ALREADY_DONE=0

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--again] [--move-etcd-extras] [--help]" \
    "" \
    "Procedure step SNO 2 on ${NODE_NAME} (cluster ${CLUSTER}), the RECOVERY host:" \
    "  check that ${BACKUP_DIR} holds exactly ${BACKUP_NAMES[0]} and ${BACKUP_NAMES[1]}" \
    "  and that ${ETCD_DATA_DIR} holds nothing but ${ETCD_DIR_ALLOWED[*]}," \
    "  move an existing ${ETCD_BACKUP_DIR} and ${STOPPED_MANIFESTS_DIR} into the run directory," \
    "  then run ${CLUSTER_RESTORE} ${BACKUP_DIR} with the proxy variables." \
    "The run directory is a new directory under ${QUARANTINE_DIR}; nothing is deleted." \
    "" \
    "  --yes               do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run           run the checks, print every command it would run, change nothing" \
    "  --force-host        run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "  --again             restore the snapshot again although an earlier run completed the" \
    "                      restore here (without it such a run does nothing, or refuses once" \
    "                      the cluster moved on)" \
    "  --move-etcd-extras  move what else is in ${ETCD_DATA_DIR} into the run directory" \
    "                      (without it, such entries stop the script before any change)" \
    "" \
    "Exit codes: 0 done, 1 a step or check failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  local e
  log "plan for ${NODE_NAME}, the recovery host of cluster ${CLUSTER}, procedure step SNO 2:"
  plan_line "SNO 2 move ${ETCD_BACKUP_DIR} and ${STOPPED_MANIFESTS_DIR}, where present, to ${RUN_DIR}"
  for e in "${ETCD_DIR_EXTRAS[@]}"; do
    plan_line "SNO 2 move ${e} to ${RUN_DIR}${e} (--move-etcd-extras)"
  done
  if ((${#PROXY_ENV[@]} > 0)); then
    plan_line "SNO 2 run env ${PROXY_ENV[*]} ${CLUSTER_RESTORE} ${BACKUP_DIR} (at most $(human_duration "$RESTORE_TIMEOUT"))"
  else
    plan_line "SNO 2 run ${CLUSTER_RESTORE} ${BACKUP_DIR} (at most $(human_duration "$RESTORE_TIMEOUT"); no cluster-wide proxy)"
  fi
  plan_line "  it stops etcd here, moves ${ETCD_DATA_DIR}/member to ${ETCD_BACKUP_DIR} and starts a one-member etcd from the snapshot"
  if ((AGAIN)); then
    plan_line "NOTE: --again: an earlier run completed the restore here; this restores the snapshot again"
  fi
}

# problem TEXT: record a failed check.
problem() {
  PROBLEMS+=("$*")
  log "check failed: $*"
}

# etcd_manifest_digest: the sha256 of the etcd pod manifest ("none" when absent). Right
# after the restore it is the restore pod's; the etcd operator's next revision replaces it.
etcd_manifest_digest() {
  local sum
  if [[ ! -f ${MANIFESTS_DIR}/etcd-pod.yaml ]]; then
    printf 'none\n'
    return 0
  fi
  sum="$(sha256sum <"${MANIFESTS_DIR}/etcd-pod.yaml")"
  printf '%s\n' "${sum%% *}"
}

# The restore runs once: a re-run changes nothing while the restore pod manifest is in
# place, and refuses once the cluster has moved on; --again restores again.
check_earlier_restore() {
  CURRENT_STEP="SNO 2 (earlier runs)"
  local earlier name recorded="" now
  if ! earlier="$(earlier_completed)"; then
    return 0
  fi
  if ((AGAIN)); then
    log "WARNING: step SNO 2: an earlier run completed the restore here (${earlier}); restoring the snapshot again because of --again"
    return 0
  fi
  { read -r name && read -r recorded; } <"${earlier}/completed" || true
  now="$(etcd_manifest_digest)"
  if [[ -n $recorded && $now == "$recorded" ]]; then
    ALREADY_DONE=1
    log "step SNO 2: an earlier run completed the restore here (${earlier}) and its restore etcd pod manifest is still in place: nothing to do. (Only to restore the snapshot again: --again.)"
    return 0
  fi
  fail "$EXIT_REFUSED" "step SNO 2: an earlier run completed the restore on this host (${earlier}), and ${MANIFESTS_DIR}/etcd-pod.yaml has changed since (sha256 ${now}, was ${recorded:-unknown}): the cluster has moved on, and restoring again would throw away everything written since. Nothing was changed. Check the cluster first (oc get pods -n openshift-etcd); only to restore the snapshot again, run it with --again."
}

# The backup directory holds exactly the expected pair, intact.
check_backup() {
  CURRENT_STEP="SNO 2 (check the backup)"
  local i name path size sum f base
  if [[ ! -d $BACKUP_DIR ]]; then
    problem "the backup directory ${BACKUP_DIR} does not exist: copy ${BACKUP_NAMES[0]} and ${BACKUP_NAMES[1]} there first"
    return 0
  fi
  for i in 0 1; do
    name="${BACKUP_NAMES[i]}"
    path="${BACKUP_DIR}/${name}"
    if [[ ! -f $path ]]; then
      problem "${path} is missing: copy it from the backup"
      continue
    fi
    if [[ -n ${BACKUP_SIZES[i]} ]]; then
      size="$(stat -c %s -- "$path")"
      if [[ $size != "${BACKUP_SIZES[i]}" ]]; then
        problem "${path} has ${size} bytes, kit.json records ${BACKUP_SIZES[i]}: copy it again"
        continue
      fi
    fi
    if [[ -n ${BACKUP_SHA256[i]} ]]; then
      sum="$(sha256sum <"$path")"
      if [[ ${sum%% *} != "${BACKUP_SHA256[i]}" ]]; then
        problem "${path} has sha256 ${sum%% *}, kit.json records ${BACKUP_SHA256[i]}: copy it again"
        continue
      fi
      log "${path}: size and sha256 match kit.json"
    else
      log "${path} is there (kit.json records no checksum for it)"
    fi
  done
  for f in "$BACKUP_DIR"/snapshot*.db "$BACKUP_DIR"/static_kuberesources*.tar.gz; do
    base="${f##*/}"
    if [[ -e $f && $base != "${BACKUP_NAMES[0]}" && $base != "${BACKUP_NAMES[1]}" ]]; then
      problem "${f} is not part of the backup pair, but cluster-restore.sh could pick it (it takes the newest by name): move it out of ${BACKUP_DIR}"
    fi
  done
}

# The restore script of the release and what it sources are there.
check_prerequisites() {
  CURRENT_STEP="SNO 2 (check)"
  local f
  if [[ -f $CLUSTER_RESTORE && -x $CLUSTER_RESTORE ]]; then
    log "${CLUSTER_RESTORE} is there"
  else
    problem "${CLUSTER_RESTORE} is missing or not executable: the etcd operator installs it on every control-plane host; is this one at OpenShift 4.20.3?"
  fi
  for f in "${ETCD_SCRIPTS_DIR}/etcd.env" "${ETCD_SCRIPTS_DIR}/etcd-common-tools"; do
    if [[ ! -f $f ]]; then
      problem "${f} is missing: cluster-restore.sh needs it (\"required dependencies not found\"); the recovery host must have run an etcd member (P3)"
    fi
  done
}

# The etcd data directory holds nothing cluster-restore.sh would stop at, after it has
# stopped etcd and moved member/ aside.
check_etcd_dir() {
  CURRENT_STEP="SNO 2 (check ${ETCD_DATA_DIR})"
  etcd_dir_extras "$ETCD_DATA_DIR" "${ETCD_DIR_ALLOWED[@]}"
  if ((${#ETCD_DIR_EXTRAS[@]} == 0)); then
    log "${ETCD_DATA_DIR} holds nothing but ${ETCD_DIR_ALLOWED[*]}"
  elif ((MOVE_EXTRAS)); then
    log "${ETCD_DATA_DIR} also holds ${ETCD_DIR_EXTRAS[*]}: moved into the run directory before the restore (--move-etcd-extras)"
  else
    problem "${ETCD_DATA_DIR} also holds ${ETCD_DIR_EXTRAS[*]}: cluster-restore.sh would stop with \"folder ${ETCD_DATA_DIR} is not empty\" after etcd is already down. Look at what it is; move it away yourself, or run again with --move-etcd-extras to move it into the run directory"
  fi
}

report_problems() {
  local p
  if ((${#PROBLEMS[@]} == 0)); then
    return 0
  fi
  log "the checks found ${#PROBLEMS[@]} problem(s); nothing was changed:"
  for p in "${PROBLEMS[@]}"; do
    log "  - ${p}"
  done
  fail "$EXIT_FAILED" "checks failed: fix the problems above and run ${SCRIPT_NAME} again"
}

# What an earlier restore left would be removed or overwritten by cluster-restore.sh,
# and what it would refuse in the data directory goes with it (--move-etcd-extras).
set_aside() {
  CURRENT_STEP="SNO 2 (set aside)"
  local e
  quarantine_move "SNO 2" "$ETCD_BACKUP_DIR" "no ${ETCD_BACKUP_DIR} (no earlier restore on this host): nothing to set aside"
  quarantine_move "SNO 2" "$STOPPED_MANIFESTS_DIR" "no ${STOPPED_MANIFESTS_DIR}: nothing to set aside"
  for e in "${ETCD_DIR_EXTRAS[@]}"; do
    quarantine_move "SNO 2" "$e"
  done
}

# `sudo -E cluster-restore.sh /home/core/backup`, once, bounded by timeouts.restore.
step_cluster_restore() {
  CURRENT_STEP="SNO 2"
  local -a cmd=(env "${PROXY_ENV[@]}" "$CLUSTER_RESTORE" "$BACKUP_DIR")
  run_bounded "SNO 2" "$RESTORE_TIMEOUT" cluster-restore.log \
    "read its output (it waits for the etcd containers to stop: crictl ps -a --name '^etcd\$'), fix what it reports, then run ${SCRIPT_NAME} again: what it moved is set aside first, nothing is lost" \
    "${cmd[@]}"
  if ((DRY_RUN)); then
    return 0
  fi
  if [[ -d ${ETCD_BACKUP_DIR}/member ]]; then
    MOVED+=("${ETCD_DATA_DIR}/member -> ${ETCD_BACKUP_DIR}/member (by cluster-restore.sh)")
  fi
  if [[ ! -f ${MANIFESTS_DIR}/etcd-pod.yaml ]]; then
    log "WARNING: ${MANIFESTS_DIR}/etcd-pod.yaml is not there after cluster-restore.sh: the restore etcd pod will not start; read ${RUN_DIR}/cluster-restore.log"
  fi
  mark_completed "$(etcd_manifest_digest)"
}

main() {
  prepare "$@"
  if [[ " ${EXTRA_ARGS[*]} " == *" --move-etcd-extras "* ]]; then
    MOVE_EXTRAS=1
  fi
  check_earlier_restore
  if ((ALREADY_DONE)); then
    CURRENT_STEP="SNO 2 (done earlier)"
    return 0
  fi
  check_backup
  check_prerequisites
  check_etcd_dir
  report_problems
  proxy_env
  confirm
  start_run
  set_aside
  step_cluster_restore
  CURRENT_STEP="SNO 2 (done)"
  log "step SNO 2 is done on ${NODE_NAME}: the restore etcd pod starts a one-member etcd from the snapshot. Next: wait for the API from the workstation (./redeploy.sh)."
}

main "$@"
