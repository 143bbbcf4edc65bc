#!/usr/bin/env bash
#
# restore.sh: procedure.md step 3 (check), 6, 7, on one control-plane host.
#
# Cluster:  ocp4 (OpenShift 4.5.2, procedure profile ocp-4.5)
# Host:     ip-10-0-143-125.ec2.internal (address 10.0.143.125); `hostname` must print ip-10-0-143-125.ec2.internal or ip-10-0-143-125
# Role:     the RECOVERY host: the restore runs here, and on no other host.
# Kit:      ocp4-recovery-kit, rendered by restorekit test; steps are numbered as in
#           procedure.md (OpenShift Container Platform 4.5, Backup and restore, 5.3 Restoring to a previous cluster state).
#
# On this host, run in this order: restore.sh then restart-kubelet.sh.
#
# What this script does:
#   3    check, before anything changes: /home/core/backup holds exactly the backup pair
#        snapshot_2020-08-04_184021.db and static_kuberesources_2020-08-04_184021.tar.gz
#        (no other snapshot*.db or static_kuberesources*.tar.gz, which cluster-restore.sh
#        could pick instead) with the sizes and sha256 recorded in kit.json;
#        /usr/local/bin/cluster-restore.sh exists; this host has been an etcd member
#        (/etc/kubernetes/static-pod-resources/etcd-pod-* exists)
#   6    export no proxy: the inventory has none
#   7    move an existing /var/lib/etcd-backup and /home/core/assets/manifests-stopped into the run
#        directory (cluster-restore.sh deletes or overwrites them when run again), then run
#        /usr/local/bin/cluster-restore.sh /home/core/backup with the proxy variables passed
#        explicitly (the procedure's `sudo -E`: sudo resets the environment)
# The restore runs once: after a completed run, a re-run does nothing while the restore
# pod manifest it left is in place, and refuses once the cluster has moved on (--again
# restores again).
# Run it on the recovery host only, after stop-static-pods.sh has finished on every
# other control-plane host. Running it on a second host creates a second etcd cluster.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./restore.sh              show the plan, ask, then run
#   sudo bash ./restore.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./restore.sh --yes        run without asking (needed when stdin is not a terminal)
#   --force-host   run although `hostname` does not match (only when this IS ip-10-0-143-125.ec2.internal)
#   --again        restore the snapshot again, although an earlier run completed the restore here
#                  (without it, a re-run after a completed run skips or refuses: see below)
#   --help         print this help
# `hostname` is compared case-insensitively; an FQDN's first label is also accepted
# when no other master of the inventory has the same first label.
#
# Nothing is deleted. What the procedure moves "to /tmp" is moved into a new directory
#   /tmp/restorekit-ocp4-<UTC YYYYmmddTHHMMSSZ>-<pid>
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
readonly SCRIPT_NAME=restore.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=1
readonly CLUSTER=ocp4
readonly NODE_NAME=ip-10-0-143-125.ec2.internal
readonly EXPECTED_HOSTNAME=ip-10-0-143-125.ec2.internal
readonly -a ACCEPTED_HOSTNAMES=(ip-10-0-143-125.ec2.internal ip-10-0-143-125)
readonly QUARANTINE_DIR=/tmp
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
# Seconds cluster-restore.sh may take (timeouts.restore).
readonly RESTORE_TIMEOUT=1200
# The cluster-wide proxy (empty: none).
readonly PROXY_HTTP=''
readonly PROXY_HTTPS=''
readonly PROXY_NO=''

readonly EXIT_OK=0 EXIT_FAILED=1 EXIT_REFUSED=2 EXIT_TIMEOUT=3

YES=0
DRY_RUN=0
FORCE_HOST=0
# --again: redo what an earlier run of this script completed (scripts with SUPPORTS_AGAIN=1).
AGAIN=0
# The step running now, for the message when something fails unexpectedly.
CURRENT_STEP="start"
# This run's directory (created once confirmed; never an existing one) and its log.
RUN_DIR=""
LOG_FILE=""
# Log lines written before the run directory exists; copied into run.log.
EARLY_LOG=()
# The run directories of earlier runs (earlier_runs).
EARLIER_RUNS=()
# "FROM -> TO" for everything this run moved or found moved, printed at the end.
MOVED=()
# What the last probe of a wait saw, for progress and timeout messages.
PROBE_SEEN=""
# Set when Ctrl-C or a signal stopped the script.
INTERRUPTED=0
# A command running in the background (cluster-restore.sh): pid, name, output file,
# and the pid of the tail that shows its output.
BACKGROUND_PID=""
BACKGROUND_TAIL=""
BACKGROUND_WHAT=""
BACKGROUND_OUTPUT=""

# log MESSAGE...: a timestamped line to stderr and to run.log.
log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) ${SCRIPT_NAME}[${NODE_NAME}]: $*"
  # stderr may be gone (a lost ssh session): the log file still gets the line.
  printf '%s\n' "$line" >&2 || true
  if [[ -n $LOG_FILE ]]; then
    printf '%s\n' "$line" >>"$LOG_FILE"
  else
    EARLY_LOG+=("$line")
  fi
}

# fail CODE MESSAGE...: log the message as an error and exit with CODE.
fail() {
  local code=$1
  shift
  log "ERROR: $*"
  exit "$code"
}

# human_duration SECONDS: 75 -> 1m15s.
human_duration() {
  local s=$1
  if ((s >= 3600)); then
    printf '%dh%02dm%02ds' "$((s / 3600))" "$((s % 3600 / 60))" "$((s % 60))"
  elif ((s >= 60)); then
    printf '%dm%02ds' "$((s / 60))" "$((s % 60))"
  else
    printf '%ds' "$s"
  fi
}

# run COMMAND...: print a command that changes this host, then run it (not with --dry-run).
run() {
  local shown
  shown="$(printf '%q ' "$@")"
  if ((DRY_RUN)); then
    log "dry-run: would run: ${shown% }"
    return 0
  fi
  log "run: ${shown% }"
  "$@"
}

parse_args() {
  local arg
  for arg in "$@"; do
    case $arg in
    --yes | -y) YES=1 ;;
    --dry-run | -n) DRY_RUN=1 ;;
    --force-host) FORCE_HOST=1 ;;
    --again)
      if ((! SUPPORTS_AGAIN)); then
        usage >&2
        fail "$EXIT_REFUSED" "${SCRIPT_NAME} has no --again: running it again is always safe"
      fi
      AGAIN=1
      ;;
    --help | -h)
      usage
      exit "$EXIT_OK"
      ;;
    *)
      usage >&2
      fail "$EXIT_REFUSED" "unknown argument: $arg (see --help above)"
      ;;
    esac
  done
}

check_root() {
  local uid
  uid="$(id -u)"
  if [[ $uid != 0 ]]; then
    fail "$EXIT_REFUSED" "must run as root, but runs as uid $uid: run it again as: sudo bash ./${SCRIPT_NAME}"
  fi
}

# check_host refuses to run anywhere but on the host this script was rendered for.
check_host() {
  local seen want lower
  seen="$(hostname)"
  lower="${seen,,}"
  for want in "${ACCEPTED_HOSTNAMES[@]}"; do
    # The same name in any case, or an FQDN whose first label is an accepted short name.
    if [[ $lower == "${want,,}" || ($want != *.* && ${lower%%.*} == "${want,,}") ]]; then
      log "host check: hostname is ${seen}: this is ${NODE_NAME}"
      return 0
    fi
  done
  if ((FORCE_HOST)); then
    log "WARNING: hostname is ${seen}, not ${EXPECTED_HOSTNAME}; continuing because of --force-host: this must be ${NODE_NAME}"
    return 0
  fi
  fail "$EXIT_REFUSED" "wrong host: this script is for ${NODE_NAME} (hostname ${EXPECTED_HOSTNAME}), but hostname prints ${seen}. Nothing was changed. Run the script from hosts/<this host's node name>/ instead; only if this really is ${NODE_NAME}, re-run with --force-host."
}

# confirm shows the plan and asks; with --yes it does not ask, with --dry-run it
# changes nothing anyway, and without a terminal to ask on it refuses.
confirm() {
  local answer=""
  show_plan
  if ((DRY_RUN)); then
    log "dry-run: nothing below is changed on this host"
    return 0
  fi
  if ((AGAIN)); then
    log "--again: redoing what an earlier run completed on this host"
  fi
  if ((YES)); then
    log "confirmed by --yes"
    return 0
  fi
  if [[ ! -t 0 ]]; then
    fail "$EXIT_REFUSED" "not confirmed: stdin is not a terminal, so there is nobody to ask. Nothing was changed. Re-run with --yes to confirm, or with --dry-run to see every command."
  fi
  printf 'Type yes to go ahead on %s: ' "$NODE_NAME" >&2
  read -r answer || true
  if [[ $answer != yes ]]; then
    fail "$EXIT_REFUSED" "not confirmed (answer was '${answer}'). Nothing was changed."
  fi
  log "confirmed at the terminal"
}

# plan_line TEXT: one line of the plan shown before asking.
plan_line() {
  printf '  %s\n' "$*" >&2
}

# start_run creates this run's directory (never an existing one) and its run.log.
start_run() {
  local line
  if ((DRY_RUN)); then
    log "dry-run: would create ${RUN_DIR} (mode 0700) for run.log and everything moved"
    return 0
  fi
  if [[ ! -d $QUARANTINE_DIR ]]; then
    run mkdir -p -- "$QUARANTINE_DIR"
  fi
  if ! mkdir -m 0700 -- "$RUN_DIR"; then
    fail "$EXIT_FAILED" "cannot create the run directory ${RUN_DIR} (it must not exist yet). Nothing was changed."
  fi
  LOG_FILE="${RUN_DIR}/run.log"
  for line in "${EARLY_LOG[@]}"; do
    printf '%s\n' "$line" >>"$LOG_FILE"
  done
  EARLY_LOG=()
  log "run directory: ${RUN_DIR} (log: ${LOG_FILE})"
  claim_host
}

# earlier_runs: set EARLIER_RUNS to the run directories of this kit's earlier runs on
# this host, oldest first.
earlier_runs() {
  local dir
  EARLIER_RUNS=()
  for dir in "${QUARANTINE_DIR%/}/restorekit-${CLUSTER}-"[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*; do
    if [[ $dir != "$RUN_DIR" && -d $dir && ${dir##*Z-} =~ ^[0-9]+$ ]]; then
      EARLIER_RUNS+=("$dir")
    fi
  done
}

# process_start PID: print when the process started (field 22 of /proc/PID/stat), or
# nothing when there is no such process. With the pid it identifies one process.
process_start() {
  local stat
  local -a fields
  if [[ ! -r /proc/$1/stat ]] || ! stat="$(<"/proc/$1/stat")"; then
    return 0
  fi
  read -r -a fields <<<"${stat##*) }"
  printf '%s' "${fields[19]:-}"
}

# claim_host records this run as running (RUN_DIR/running) and refuses when a run of
# this kit's host scripts, or a cluster-restore.sh one started, still runs here: two
# runs would race on the same moves and waits. Two runs starting at the same moment
# both refuse; a run killed without cleaning up does not block (its pid is gone).
claim_host() {
  local dir file pid start what
  printf '%s %s %s\n' "$$" "$(process_start "$$")" "$SCRIPT_NAME" >"${RUN_DIR}/running"
  earlier_runs
  for dir in "${EARLIER_RUNS[@]}"; do
    for file in "${dir}/running" "${dir}/background"; do
      if [[ ! -f $file ]] || ! read -r pid start what <"$file"; then
        continue
      fi
      if [[ -n $start && $(process_start "$pid") == "$start" ]]; then
        fail "$EXIT_REFUSED" "another run is still going on this host: ${what} (pid ${pid}, run directory ${dir}). Two runs would race on the same files: wait until it has finished (or stop it), then run ${SCRIPT_NAME} again. Nothing was changed."
      fi
    done
  done
}

# earlier_completed: print the run directory of the latest earlier run of this script
# that completed (it wrote RUN_DIR/completed); fail if there is none.
earlier_completed() {
  local dir found="" script=""
  earlier_runs
  for dir in "${EARLIER_RUNS[@]}"; do
    if [[ -f ${dir}/completed ]] && read -r script <"${dir}/completed" && [[ $script == "$SCRIPT_NAME" ]]; then
      found=$dir
    fi
  done
  if [[ -z $found ]]; then
    return 1
  fi
  printf '%s\n' "$found"
}

# mark_completed [LINE...]: record in the run directory that this run completed,
# with any facts a later run compares (the first line is the script name).
mark_completed() {
  if ((DRY_RUN)); then
    return 0
  fi
  printf '%s\n' "$SCRIPT_NAME" "$@" >"${RUN_DIR}/completed"
}

# earlier_copy PATH: print where an earlier run of this kit moved PATH; fail if none did.
earlier_copy() {
  local path=$1 dir found=""
  earlier_runs
  for dir in "${EARLIER_RUNS[@]}"; do
    if [[ -e ${dir}${path} || -L ${dir}${path} ]]; then
      found="${dir}${path}"
    fi
  done
  if [[ -z $found ]]; then
    return 1
  fi
  printf '%s\n' "$found"
}

# quarantine_move STEP PATH [ABSENT]: move PATH to the same absolute path under the run
# directory. A PATH that an earlier run already moved is reported and skipped; a PATH
# that is simply not there is logged with ABSENT when given (it may be missing), else
# with a warning.
quarantine_move() {
  local step=$1 path=$2 absent=${3:-} dest earlier
  if [[ ! -e $path && ! -L $path ]]; then
    if earlier="$(earlier_copy "$path")"; then
      log "step ${step}: ${path} already moved to ${earlier} by an earlier run; skipping"
      MOVED+=("${path} -> ${earlier} (earlier run)")
    elif [[ -n $absent ]]; then
      log "step ${step}: ${absent}"
    else
      log "step ${step}: WARNING: ${path} is not there, and no earlier run of this kit under ${QUARANTINE_DIR} moved it: nothing to move (was it moved by hand?)"
    fi
    return 0
  fi
  dest="${RUN_DIR}${path}"
  if [[ -e $dest || -L $dest ]]; then
    fail "$EXIT_FAILED" "step ${step}: ${dest} already exists; not moving ${path} over it"
  fi
  run mkdir -p -- "${dest%/*}"
  run mv -T -- "$path" "$dest"
  if ((DRY_RUN)); then
    return 0
  fi
  log "step ${step}: moved ${path} to ${dest}"
  MOVED+=("${path} -> ${dest}")
}

# wait_until STEP TIMEOUT EXPECTED ADVICE PROBE [ARG...]: run PROBE every POLL_INTERVAL
# seconds until it succeeds, with a progress line (elapsed time, what is seen) when
# that changes and at least once a minute; after TIMEOUT seconds exit 3 saying what
# was expected (EXPECTED), what the last probe saw (PROBE_SEEN) and what to do (ADVICE).
wait_until() {
  local step=$1 timeout=$2 expected=$3 advice=$4 start now elapsed last_seen="" last_report=0
  shift 4
  start="$(date +%s)"
  if ((DRY_RUN)); then
    PROBE_SEEN=""
    "$@" || true
    log "dry-run: step ${step}: would wait until ${expected} (check every ${POLL_INTERVAL}s, at most $(human_duration "$timeout")); now: ${PROBE_SEEN}"
    return 0
  fi
  log "step ${step}: waiting until ${expected} (check every ${POLL_INTERVAL}s, at most $(human_duration "$timeout"))"
  while true; do
    PROBE_SEEN=""
    if "$@"; then
      now="$(date +%s)"
      log "step ${step}: ${expected}: yes, after $(human_duration "$((now - start))") (${PROBE_SEEN})"
      return 0
    fi
    now="$(date +%s)"
    elapsed=$((now - start))
    if ((elapsed >= timeout)); then
      fail "$EXIT_TIMEOUT" "step ${step}: timed out after $(human_duration "$elapsed"). Expected: ${expected}. Seen: ${PROBE_SEEN}. What to do: ${advice}"
    fi
    # Progress when what is seen changes, and at least once a minute.
    if [[ $PROBE_SEEN != "$last_seen" ]] || ((now - last_report >= 60)); then
      log "step ${step}: still waiting, $(human_duration "$elapsed") of $(human_duration "$timeout"): ${PROBE_SEEN}"
      last_seen=$PROBE_SEEN
      last_report=$now
    fi
    sleep "$POLL_INTERVAL"
  done
}

# containers_stopped NAME...: succeed when crictl lists no running container with any
# of these exact names; PROBE_SEEN names the ones still running, with their ids.
containers_stopped() {
  local name ids running=""
  for name in "$@"; do
    if ! ids="$(crictl ps --name "^${name}\$" --state running -q)"; then
      PROBE_SEEN="crictl ps failed (is the container runtime up?)"
      return 1
    fi
    if [[ -n $ids ]]; then
      running+="${running:+, }${name} (${ids//$'\n'/ })"
    fi
  done
  if [[ -n $running ]]; then
    PROBE_SEEN="still running: ${running}"
    return 1
  fi
  PROBE_SEEN="none of $* is running"
}

# container_running NAME: succeed when crictl lists a running container named exactly NAME.
container_running() {
  local ids
  if ! ids="$(crictl ps --name "^${1}\$" --state running -q)"; then
    PROBE_SEEN="crictl ps failed (is the container runtime up?)"
    return 1
  fi
  if [[ -z $ids ]]; then
    PROBE_SEEN="no running ${1} container"
    return 1
  fi
  PROBE_SEEN="running ${1} container: ${ids//$'\n'/ }"
}

# require_tool NAME...: fail unless every tool is on PATH.
require_tool() {
  local tool
  for tool in "$@"; do
    if [[ -z "$(command -v "$tool")" ]]; then
      fail "$EXIT_FAILED" "${tool} is not on PATH (${PATH}); this step needs it. Nothing was changed."
    fi
  done
}

# on_signal: Ctrl-C, kill or a lost ssh session stops the script; on_exit then says
# how far it got and where everything is.
on_signal() {
  INTERRUPTED=1
  exit "$EXIT_FAILED"
}

# on_exit prints where everything went, whatever happened.
on_exit() {
  local code=$? item
  trap - EXIT
  if ((INTERRUPTED)); then
    log "ERROR: interrupted during step ${CURRENT_STEP}. Run the script again to continue: what was already moved is reported and skipped."
    code=$EXIT_FAILED
  fi
  if [[ -n $BACKGROUND_PID ]] && kill -0 "$BACKGROUND_PID" 2>/dev/null; then
    log "WARNING: ${BACKGROUND_WHAT} (pid ${BACKGROUND_PID}) is still running and was not stopped: let it finish (its output goes to ${BACKGROUND_OUTPUT}) before doing anything else on this host."
  fi
  if [[ -n $BACKGROUND_TAIL ]]; then
    kill "$BACKGROUND_TAIL" 2>/dev/null || true
  fi
  if ((code != 0 && code != EXIT_REFUSED && code != EXIT_TIMEOUT && code != EXIT_FAILED)); then
    log "ERROR: step ${CURRENT_STEP} failed: a command exited with status ${code} (see the lines above)"
    code=$EXIT_FAILED
  fi
  if ((${#MOVED[@]} > 0)); then
    log "where everything went:"
    for item in "${MOVED[@]}"; do
      log "  ${item}"
    done
  fi
  if [[ -n $LOG_FILE ]]; then
    log "log of this run: ${LOG_FILE}"
  fi
  if ((code == 0)); then
    log "done"
  else
    log "stopped with exit code ${code} during step ${CURRENT_STEP}"
  fi
  exit "$code"
}

# prepare: options, refusals and the run directory name; nothing is changed yet.
prepare() {
  parse_args "$@"
  CURRENT_STEP="checks (root, host)"
  trap on_exit EXIT
  trap on_signal INT TERM HUP
  # A closed stderr (the ssh session went away) must not kill the script mid-step:
  # writes then fail, log() goes on into run.log. (Commands started get the default.)
  trap : PIPE
  RUN_DIR="${QUARANTINE_DIR%/}/restorekit-${CLUSTER}-$(date -u +%Y%m%dT%H%M%SZ)-$$"
  check_root
  check_host
}

# Problems found by the checks; reported together before anything changes.
PROBLEMS=()
# NAME=VALUE pairs passed to cluster-restore.sh (step 6).
RESTORE_ENV=()
# 1 when an earlier run completed the restore and nothing has changed since.
ALREADY_DONE=0

usage() {
  printf '%s\n' \
    "usage: sudo bash ./${SCRIPT_NAME} [--yes] [--dry-run] [--force-host] [--help]" \
    "" \
    "Procedure steps 3 (check), 6 and 7 on ${NODE_NAME} (cluster ${CLUSTER}), the RECOVERY host:" \
    "  3 check that ${BACKUP_DIR} holds exactly ${BACKUP_NAMES[0]} and ${BACKUP_NAMES[1]}" \
    "  6 export the cluster-wide proxy from the inventory, if any" \
    "  7 move an existing ${ETCD_BACKUP_DIR} and ${STOPPED_MANIFESTS_DIR} into the run directory," \
    "    then run ${CLUSTER_RESTORE} ${BACKUP_DIR}" \
    "Run it only after stop-static-pods.sh has finished on every other control-plane host." \
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
  report_problems
  step_6_export_proxy
  confirm
  start_run
  step_7_set_aside_earlier_restore
  step_7_run_cluster_restore
  CURRENT_STEP="7 (done)"
  log "steps 6 and 7 are done on ${NODE_NAME}. Next (step 8): restart-kubelet.sh here first, then on every other control-plane host."
}

main "$@"
