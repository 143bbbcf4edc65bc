#!/usr/bin/env bash
#
# 05-restore.sh: procedure/procedure.md step 3 (check), 6, 7, on one control-plane host.
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
#   3    check, before anything changes: /home/core/backup holds exactly the backup pair
#        snapshot_2020-08-04_184021.db and static_kuberesources_2020-08-04_184021.tar.gz
#        (no other snapshot*.db or static_kuberesources*.tar.gz, which cluster-restore.sh
#        could pick instead) with the sizes and sha256 recorded in kit.json;
#        /usr/local/bin/cluster-restore.sh exists; this host has been an etcd member
#        (/etc/kubernetes/static-pod-resources/etcd-pod-* exists);
#        /var/lib/etcd holds nothing but member (the restore pod stops otherwise)
#   6    export no proxy: the inventory has none
#   7    move an existing /var/lib/etcd-backup and /home/core/assets/manifests-stopped into the run
#        directory (cluster-restore.sh deletes or overwrites them when run again), then run
#        /usr/local/bin/cluster-restore.sh /home/core/backup with the proxy variables passed
#        explicitly (the procedure's `sudo -E`: sudo resets the environment)
# The restore runs once: after a completed run, a re-run does nothing while the restore
# pod manifest it left is in place, and refuses once the cluster has moved on (--again
# restores again).
# Run it on the recovery host only, after 04-stop-static-pods.sh has finished on every
# other control-plane host. Running it on a second host creates a second etcd cluster.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./05-restore.sh              show the plan, ask, then run
#   sudo bash ./05-restore.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./05-restore.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS ip-10-0-143-125.ec2.internal)
#   --again        restore the snapshot again, although an earlier run completed the restore here
#                  (without it, a re-run after a completed run skips or refuses: see below)
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
readonly SCRIPT_NAME=05-restore.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=1
readonly CLUSTER=ocp4
readonly NODE_NAME=ip-10-0-143-125.ec2.internal
readonly EXPECTED_HOSTNAME=ip-10-0-143-125.ec2.internal
readonly -a ACCEPTED_HOSTNAMES=(ip-10-0-143-125.ec2.internal ip-10-0-143-125)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly BACKUP_DIR=/home/core/backup
# The backup pair: snapshot first; sizes and sha256 are empty when not recorded.
readonly -a BACKUP_NAMES=(snapshot_2020-08-04_184021.db static_kuberesources_2020-08-04_184021.tar.gz)
readonly -a BACKUP_SIZES=(28704 421)
readonly -a BACKUP_SHA256=(4e4dad88da1396d067f395d0ce8d0ebbebbaa6cbc8043f0df9f0fce8ac4d29b1 ff1d61fd7db06d94d551a3b01c13cb2afe2ed890b22aea3f3fe7ad58633ccda0)
readonly CLUSTER_RESTORE=/usr/local/bin/cluster-restore.sh
readonly STATIC_POD_RESOURCES=/etc/kubernetes/static-pod-resources
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly ETCD_DATA_DIR=/var/lib/etcd
readonly ETCD_BACKUP_DIR=/var/lib/etcd-backup
readonly STOPPED_MANIFESTS_DIR=/home/core/assets/manifests-stopped
# The entries cluster-restore.sh and its restore pod accept in the etcd data directory.
readonly -a ETCD_DIR_ALLOWED=(member)
# Seconds cluster-restore.sh may take (timeouts.restore).
readonly RESTORE_TIMEOUT=1200
# The cluster-wide proxy (empty: none).
readonly PROXY_HTTP=''
readonly PROXY_HTTPS=''
readonly PROXY_NO=''

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

# Problems found by the checks; reported together before anything changes.
PROBLEMS=()
# NAME=VALUE pairs passed to cluster-restore.sh (step 6).
RESTORE_ENV=()
# 1 when an earlier run completed the restore and nothing has changed since.
ALREADY_DONE=0

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--again] [--help]" \
    "" \
    "Procedure steps 3 (check), 6 and 7 on ${NODE_NAME} (cluster ${CLUSTER}), the RECOVERY host:" \
    "  3 check that ${BACKUP_DIR} holds exactly ${BACKUP_NAMES[0]} and ${BACKUP_NAMES[1]}" \
    "  6 export the cluster-wide proxy from the inventory, if any" \
    "  7 move an existing ${ETCD_BACKUP_DIR} and ${STOPPED_MANIFESTS_DIR} into the run directory," \
    "    then run ${CLUSTER_RESTORE} ${BACKUP_DIR}" \
    "Run it only after 04-stop-static-pods.sh has finished on every other control-plane host." \
    "The run directory is a new directory under ${QUARANTINE_DIR}; nothing is deleted." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     run the checks, print every command it would run, change nothing" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "  --again       restore the snapshot again although an earlier run completed the restore" \
    "                here (without it such a run does nothing, or refuses once the cluster moved on)" \
    "" \
    "Exit codes: 0 done, 1 a step or check failed, 2 usage error or refused, 3 timed out."
}

show_plan() {
  local earlier
  log "plan for ${NODE_NAME}, the recovery host of cluster ${CLUSTER}, procedure steps 6 and 7:"
  if [[ -n ${RESTORE_ENV[*]} ]]; then
    plan_line "6 pass the proxy to cluster-restore.sh: ${RESTORE_ENV[*]}"
  else
    plan_line "6 no cluster-wide proxy to export"
  fi
  plan_line "7 move ${ETCD_BACKUP_DIR} and ${STOPPED_MANIFESTS_DIR}, where present, to ${RUN_DIR}"
  plan_line "7 run ${CLUSTER_RESTORE} ${BACKUP_DIR} (at most $(human_duration "$RESTORE_TIMEOUT")): it stops the control-plane static pods,"
  plan_line "  moves ${ETCD_DATA_DIR}/member to ${ETCD_BACKUP_DIR} and starts a one-member etcd from the snapshot"
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
# after the restore it is the restore pod's; steps 10-12 replace it.
etcd_manifest_digest() {
  local sum
  if [[ ! -f ${MANIFESTS_DIR}/etcd-pod.yaml ]]; then
    printf 'none\n'
    return 0
  fi
  sum="$(sha256sum <"${MANIFESTS_DIR}/etcd-pod.yaml")"
  printf '%s\n' "${sum%% *}"
}

# Step 7, before anything else: the restore runs once. After an earlier run completed
# it, a re-run changes nothing while the restore pod manifest it left is still in place
# (a resumed recover.sh), and refuses once the cluster has moved on: restoring again
# would throw away everything written since. --again restores again regardless.
step_7_check_earlier_restore() {
  CURRENT_STEP="7 (earlier runs)"
  local earlier name recorded="" now
  if ! earlier="$(earlier_completed)"; then
    return 0
  fi
  if ((AGAIN)); then
    log "WARNING: step 7: an earlier run completed the restore here (${earlier}); restoring the snapshot again because of --again"
    return 0
  fi
  { read -r name && read -r recorded; } <"${earlier}/completed" || true
  now="$(etcd_manifest_digest)"
  if [[ -n $recorded && $now == "$recorded" ]]; then
    ALREADY_DONE=1
    log "step 7: an earlier run completed the restore here (${earlier}) and its restore etcd pod manifest is still in place: nothing to do. (Only to restore the snapshot again: --again.)"
    return 0
  fi
  fail "$EXIT_REFUSED" "step 7: an earlier run completed the restore on this host (${earlier}), and ${MANIFESTS_DIR}/etcd-pod.yaml has changed since (sha256 ${now}, was ${recorded:-unknown}): the cluster has moved on, and restoring again would throw away everything written since. Nothing was changed. Check the cluster first (oc get pods -n openshift-etcd, oc get nodes); only to restore the snapshot again, run it with --again."
}

# Step 3 (check): the backup directory holds exactly the expected pair, intact.
step_3_check_backup() {
  CURRENT_STEP="3 (check)"
  local i name path size sum f base found=0
  if [[ ! -d $BACKUP_DIR ]]; then
    problem "step 3: the backup directory ${BACKUP_DIR} does not exist: copy ${BACKUP_NAMES[0]} and ${BACKUP_NAMES[1]} there first"
    return 0
  fi
  for i in 0 1; do
    name="${BACKUP_NAMES[i]}"
    path="${BACKUP_DIR}/${name}"
    if [[ ! -f $path ]]; then
      problem "step 3: ${path} is missing: copy it from the backup"
      continue
    fi
    if [[ -n ${BACKUP_SIZES[i]} ]]; then
      size="$(stat -c %s -- "$path")"
      if [[ $size != "${BACKUP_SIZES[i]}" ]]; then
        problem "step 3: ${path} has ${size} bytes, kit.json records ${BACKUP_SIZES[i]}: copy it again"
        continue
      fi
    fi
    if [[ -n ${BACKUP_SHA256[i]} ]]; then
      sum="$(sha256sum <"$path")"
      sum="${sum%% *}"
      if [[ $sum != "${BACKUP_SHA256[i]}" ]]; then
        problem "step 3: ${path} has sha256 ${sum}, kit.json records ${BACKUP_SHA256[i]}: copy it again"
        continue
      fi
      log "step 3: ${path}: size and sha256 match kit.json"
    else
      log "step 3: ${path} is there (kit.json records no checksum for it)"
    fi
  done
  # cluster-restore.sh takes the newest of each kind (ls -v | tail -1) whether or not
  # they belong together: anything else of the kind must go.
  for f in "$BACKUP_DIR"/snapshot*.db "$BACKUP_DIR"/static_kuberesources*.tar.gz; do
    if [[ ! -e $f ]]; then
      continue
    fi
    base="${f##*/}"
    if [[ $base != "${BACKUP_NAMES[0]}" && $base != "${BACKUP_NAMES[1]}" ]]; then
      problem "step 3: ${f} is not part of the backup pair, but cluster-restore.sh could pick it: move it out of ${BACKUP_DIR}"
      found=1
    fi
  done
  if ((found == 0)); then
    log "step 3: ${BACKUP_DIR} holds no other snapshot or static resources"
  fi
}

# Step 7 (check): the restore script exists and this host has been an etcd member.
step_7_check_prerequisites() {
  CURRENT_STEP="7 (check)"
  local d members=()
  if [[ -f $CLUSTER_RESTORE && -x $CLUSTER_RESTORE ]]; then
    log "step 7: ${CLUSTER_RESTORE} is there"
  else
    problem "step 7: ${CLUSTER_RESTORE} is missing or not executable: it ships with the OpenShift 4.5 control-plane hosts; is this one?"
  fi
  for d in "$STATIC_POD_RESOURCES"/etcd-pod-*; do
    if [[ -d $d ]]; then
      members+=("${d##*/}")
    fi
  done
  if ((${#members[@]} == 0)); then
    problem "step 7: no ${STATIC_POD_RESOURCES}/etcd-pod-* here: this host has never run an etcd member; the recovery host must be a control-plane host that did (P3)"
  else
    log "step 7: this host has been an etcd member (${members[*]})"
  fi
}

# Step 7 (check): /var/lib/etcd holds nothing but member, or is absent:
# cluster-restore.sh moves member/ aside, and its restore pod stops with "please delete
# the contents of data directory" on anything else, after etcd is already down.
step_7_check_etcd_dir() {
  CURRENT_STEP="7 (check)"
  if [[ ! -e $ETCD_DATA_DIR ]]; then
    log "step 7: ${ETCD_DATA_DIR} does not exist: the restore pod creates it"
    return 0
  fi
  etcd_dir_extras "$ETCD_DATA_DIR" "${ETCD_DIR_ALLOWED[@]}"
  if ((${#ETCD_DIR_EXTRAS[@]} > 0)); then
    problem "step 7: ${ETCD_DATA_DIR} holds ${ETCD_DIR_EXTRAS[*]}: the restore pod stops on anything but ${ETCD_DIR_ALLOWED[*]} there ('please delete the contents of data directory'), after etcd is down. Move each into a directory of your own on the same filesystem (e.g. sudo mkdir -p ${QUARANTINE_DIR}/by-hand && sudo mv ${ETCD_DIR_EXTRAS[0]} ${QUARANTINE_DIR}/by-hand/), then run ${SCRIPT_NAME} again"
  else
    log "step 7: ${ETCD_DATA_DIR} holds nothing but ${ETCD_DIR_ALLOWED[*]}"
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

# Step 6: export the cluster-wide proxy; it is also passed to cluster-restore.sh
# explicitly, because sudo has reset the environment.
step_6_export_proxy() {
  CURRENT_STEP="6"
  RESTORE_ENV=()
  if [[ -n $PROXY_HTTP ]]; then
    export HTTP_PROXY="$PROXY_HTTP"
    RESTORE_ENV+=("HTTP_PROXY=${PROXY_HTTP}")
  fi
  if [[ -n $PROXY_HTTPS ]]; then
    export HTTPS_PROXY="$PROXY_HTTPS"
    RESTORE_ENV+=("HTTPS_PROXY=${PROXY_HTTPS}")
  fi
  if [[ -n $PROXY_NO ]]; then
    export NO_PROXY="$PROXY_NO"
    RESTORE_ENV+=("NO_PROXY=${PROXY_NO}")
  fi
  if ((${#RESTORE_ENV[@]} == 0)); then
    log "step 6: the inventory has no cluster-wide proxy: nothing to export"
  else
    log "step 6: exported ${RESTORE_ENV[*]}"
  fi
}

# Step 7, first: what an earlier restore left behind would be deleted or overwritten
# by cluster-restore.sh, so it goes into the run directory.
step_7_set_aside_earlier_restore() {
  CURRENT_STEP="7 (set aside)"
  quarantine_move "7" "$ETCD_BACKUP_DIR" "no ${ETCD_BACKUP_DIR} (no earlier restore on this host): nothing to set aside"
  quarantine_move "7" "$STOPPED_MANIFESTS_DIR" "no ${STOPPED_MANIFESTS_DIR}: nothing to set aside"
}

# Step 7: `sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup`, with the proxy
# passed explicitly, bounded by timeouts.restore, its output in the run directory.
step_7_run_cluster_restore() {
  CURRENT_STEP="7"
  local out pid tail_pid start now elapsed rc=0 next_report=0
  local -a cmd=(env "${RESTORE_ENV[@]}" "$CLUSTER_RESTORE" "$BACKUP_DIR")
  if ((DRY_RUN)); then
    run "${cmd[@]}"
    return 0
  fi
  out="${RUN_DIR}/cluster-restore.log"
  log "step 7: run: $(printf '%q ' "${cmd[@]}")(output also in ${out})"
  : >"$out"
  "${cmd[@]}" >>"$out" 2>&1 </dev/null &
  pid=$!
  BACKGROUND_PID=$pid BACKGROUND_WHAT=$CLUSTER_RESTORE BACKGROUND_OUTPUT=$out
  # A later run refuses to start while this one runs, even if this script is gone.
  printf '%s %s %s\n' "$pid" "$(process_start "$pid")" "$CLUSTER_RESTORE" >"${RUN_DIR}/background"
  tail -n +1 -f --pid="$pid" -- "$out" >&2 &
  tail_pid=$!
  BACKGROUND_TAIL=$tail_pid
  start="$(date +%s)"
  # Check every second whether it has ended; say it still runs every POLL_INTERVAL.
  while kill -0 "$pid" 2>/dev/null; do
    now="$(date +%s)"
    elapsed=$((now - start))
    if ((elapsed >= RESTORE_TIMEOUT)); then
      kill -TERM "$pid" || true
      wait "$pid" || true
      BACKGROUND_PID=""
      wait "$tail_pid" || true
      BACKGROUND_TAIL=""
      fail "$EXIT_TIMEOUT" "step 7: timed out after $(human_duration "$elapsed"). Expected: cluster-restore.sh to finish within $(human_duration "$RESTORE_TIMEOUT"). Seen: still running, so it was stopped; its output is in ${out}. What to do: read that output (it usually waits for containers to stop: crictl ps), fix the cause, then run ${SCRIPT_NAME} again; what it moved stays in ${ETCD_BACKUP_DIR} and is set aside first."
    fi
    if ((elapsed >= next_report)); then
      log "step 7: cluster-restore.sh running, $(human_duration "$elapsed") of $(human_duration "$RESTORE_TIMEOUT")"
      next_report=$((elapsed + POLL_INTERVAL))
    fi
    sleep 1
  done
  wait "$pid" || rc=$?
  BACKGROUND_PID=""
  wait "$tail_pid" || true
  BACKGROUND_TAIL=""
  if ((rc != 0)); then
    fail "$EXIT_FAILED" "step 7: ${CLUSTER_RESTORE} exited with status ${rc}; its output is in ${out}. What to do: fix what it reports, then run ${SCRIPT_NAME} again (what it moved is set aside first, nothing is lost)."
  fi
  now="$(date +%s)"
  log "step 7: cluster-restore.sh finished after $(human_duration "$((now - start))")"
  if [[ -d ${ETCD_BACKUP_DIR}/member ]]; then
    MOVED+=("${ETCD_DATA_DIR}/member -> ${ETCD_BACKUP_DIR}/member (by cluster-restore.sh)")
  fi
  if [[ -d $STOPPED_MANIFESTS_DIR ]]; then
    MOVED+=("the control-plane static pod manifests -> ${STOPPED_MANIFESTS_DIR} (by cluster-restore.sh)")
  fi
  if [[ ! -f ${MANIFESTS_DIR}/etcd-pod.yaml ]]; then
    log "WARNING: step 7: ${MANIFESTS_DIR}/etcd-pod.yaml is not there after cluster-restore.sh: the restore etcd pod will not start; read ${out}"
  fi
  mark_completed "$(etcd_manifest_digest)"
}

main() {
  prepare "$@"
  step_7_check_earlier_restore
  if ((ALREADY_DONE)); then
    CURRENT_STEP="7 (done earlier)"
    return 0
  fi
  step_3_check_backup
  step_7_check_prerequisites
  step_7_check_etcd_dir
  report_problems
  step_6_export_proxy
  confirm
  start_run
  step_7_set_aside_earlier_restore
  step_7_run_cluster_restore
  CURRENT_STEP="7 (done)"
  log "steps 6 and 7 are done on ${NODE_NAME}. Next (step 8): 08-restart-kubelet.sh here first, then on every other control-plane host."
}

main "$@"
