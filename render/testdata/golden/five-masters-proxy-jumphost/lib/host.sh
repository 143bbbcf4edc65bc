# shellcheck shell=bash
# lib/host.sh: the shared library of the host scripts of kit prod-east-recovery-kit
# (cluster prod-east, procedure profile ocp-4.5, restorekit test).
#
# It is not run: each script under hosts/<node>/ sources it, after checking that its
# sha256 is the one the script was rendered with (a changed or missing library is
# refused before anything changes). It defines functions only and reads the values the
# sourcing script sets (SCRIPT_NAME, NODE_NAME, CLUSTER, QUARANTINE_DIR, ...).
readonly EXIT_OK=0 EXIT_FAILED=1 EXIT_REFUSED=2 EXIT_TIMEOUT=3

YES=0
DRY_RUN=0
# EXTRA_FLAGS are the options of the sourcing script's own (set before sourcing this);
# EXTRA_ARGS those given.
if ! declare -p EXTRA_FLAGS >/dev/null 2>&1; then
  EXTRA_FLAGS=()
fi
EXTRA_ARGS=()
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
# The entries of the etcd data directory its restore would stop at (etcd_dir_extras).
ETCD_DIR_EXTRAS=()
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
      # A script's options of its own (EXTRA_FLAGS) are collected in EXTRA_ARGS.
      if [[ " ${EXTRA_FLAGS[*]} " == *" $arg "* ]]; then
        EXTRA_ARGS+=("$arg")
        continue
      fi
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
  check_quarantine_fs
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

# existing_dir PATH: PATH or its nearest existing parent directory.
existing_dir() {
  local p=$1
  while [[ ! -d $p && $p == /* && $p != / ]]; do
    p=${p%/*}
    p=${p:-/}
  done
  printf '%s\n' "$p"
}

# check_quarantine_fs refuses, before anything changes, a quarantine directory in memory
# (tmpfs, ramfs: RHCOS mounts /tmp so): what is set aside there, the run logs and the
# completed markers later runs rely on would be lost at the next reboot, and a full
# tmpfs would leave half a copy.
check_quarantine_fs() {
  local dir fstype
  dir="$(existing_dir "$QUARANTINE_DIR")"
  fstype="$(stat -f -c %T -- "$dir")" || fail "$EXIT_FAILED" "cannot read the filesystem type of ${dir} (stat -f). Nothing was changed."
  case $fstype in
  tmpfs | ramfs)
    fail "$EXIT_REFUSED" "the quarantine directory ${QUARANTINE_DIR} is on ${fstype} (${dir}): what this script sets aside would be copied into memory and lost at the next reboot, with its run log. Nothing was changed. Set quarantineDir in the inventory to a directory on the filesystem of /var/lib/etcd (the default /var/lib/restorekit) and rebuild the kit."
    ;;
  esac
}

# check_move_space PATH: moving PATH into the run directory is a rename when both are on
# one filesystem; across filesystems mv copies it: say so, and refuse when the run
# directory's filesystem has not the room (mv would leave half a copy).
check_move_space() {
  local path=$1 dest_dir need free
  dest_dir="$(existing_dir "${RUN_DIR}${path%/*}")"
  if [[ $(stat -c %d -- "$path") == "$(stat -c %d -- "$dest_dir")" ]]; then
    return 0
  fi
  need="$(du -sk -- "$path" | awk '{ print $1 }')"
  free="$(df -Pk -- "$dest_dir" | awk 'NR == 2 { print $4 }')"
  log "NOTE: ${path} and ${QUARANTINE_DIR} are on different filesystems: moving it copies ${need} KiB (${free} KiB free there)"
  if ((need >= free)); then
    fail "$EXIT_FAILED" "not enough room to set ${path} aside in ${QUARANTINE_DIR}: it needs ${need} KiB, ${free} KiB are free. ${path} was not moved. Free space there, or set quarantineDir to a directory on the filesystem of ${path} and rebuild the kit."
  fi
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

# What one script records for another (where step 4.k put keepalived.yaml, the
# forceRedeploymentReason a patch used) is a marker in the run directory,
# RUN_DIR/state.KEY, one line; the newest run's marker is the one that counts.

# record_state KEY VALUE: record VALUE under KEY in this run's directory (not with --dry-run).
record_state() {
  if ((DRY_RUN)); then
    log "dry-run: would record in ${RUN_DIR}/state.${1}: ${2}"
    return 0
  fi
  printf '%s\n' "$2" >"${RUN_DIR}/state.${1}"
  log "recorded in ${RUN_DIR}/state.${1}: ${2}"
}

# read_state KEY: print what the newest run of this kit here recorded under KEY (this
# run's included); fail if none did.
read_state() {
  local dir value="" found=""
  earlier_runs
  for dir in "${EARLIER_RUNS[@]}" ${RUN_DIR:+"$RUN_DIR"}; do
    if [[ -f ${dir}/state.${1} ]] && read -r value <"${dir}/state.${1}" && [[ -n $value ]]; then
      found=$value
    fi
  done
  if [[ -z $found ]]; then
    return 1
  fi
  printf '%s\n' "$found"
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
  if ((! DRY_RUN)); then
    check_move_space "$path"
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

# pod_containers_stopped NAMESPACE NAME...: containers_stopped, counting only the
# containers of pods in NAMESPACE (crictl's io.kubernetes.pod.namespace label): the
# operators' and the guard pods' containers live elsewhere or have other names.
pod_containers_stopped() {
  local ns=$1 name ids running=""
  shift
  for name in "$@"; do
    if ! ids="$(crictl ps --label "io.kubernetes.pod.namespace=${ns}" --name "^${name}\$" --state running -q)"; then
      PROBE_SEEN="crictl ps failed (is the container runtime up?)"
      return 1
    fi
    if [[ -n $ids ]]; then
      running+="${running:+, }${name} (${ids//$'\n'/ })"
    fi
  done
  if [[ -n $running ]]; then
    PROBE_SEEN="still running in ${ns}: ${running}"
    return 1
  fi
  PROBE_SEEN="none of $* is running in ${ns}"
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

# container_steady NAME: succeed when crictl has listed the same running container named
# exactly NAME over STEADY_POLLS polls in a row. One sighting proves nothing: a restore
# pod that exits is started again by the kubelet as a new container. When the container
# changes or is gone, the end of the exited one's log (crictl logs --tail) says why.
STEADY_POLLS=3
STEADY_ID=""
STEADY_COUNT=0
STEADY_WHY=""
container_steady() {
  local ids id
  if ! ids="$(crictl ps --name "^${1}\$" --state running -q)"; then
    PROBE_SEEN="crictl ps failed (is the container runtime up?)"
    STEADY_COUNT=0
    return 1
  fi
  id=${ids%%$'\n'*}
  if [[ -n $STEADY_ID && $id != "$STEADY_ID" ]]; then
    STEADY_WHY="$(container_last_words "$STEADY_ID")"
    if [[ -n $id ]]; then
      log "${1} container ${STEADY_ID} exited and was replaced by ${id}: ${STEADY_WHY}"
    else
      log "${1} container ${STEADY_ID} exited: ${STEADY_WHY}"
    fi
    STEADY_COUNT=0
  fi
  STEADY_ID=$id
  if [[ -z $id ]]; then
    PROBE_SEEN="no running ${1} container${STEADY_WHY:+; the last one exited: ${STEADY_WHY}}"
    return 1
  fi
  STEADY_COUNT=$((STEADY_COUNT + 1))
  PROBE_SEEN="${1} container ${id} running, seen ${STEADY_COUNT} of ${STEADY_POLLS} polls in a row${STEADY_WHY:+; an earlier one exited and was replaced: ${STEADY_WHY}}"
  ((STEADY_COUNT >= STEADY_POLLS))
}

# container_last_words ID: the last lines of container ID's log, on one line.
container_last_words() {
  local out
  if ! out="$(crictl logs --tail 5 "$1" 2>&1)"; then
    printf 'crictl logs %s failed: %s' "$1" "$(tail -n 1 <<<"$out")"
    return 0
  fi
  printf 'crictl logs --tail 5 %s: %s' "$1" "$(tail -n 5 <<<"$out" | tr '\n' ' ' | sed 's/ *$//')"
}

# RUN_WATCH_CONTAINERS, when set, are containers (exact names) whose state run_bounded
# adds to its progress lines and timeout message.
RUN_WATCH_CONTAINERS=()

# etcd_dir_extras DIR PATTERN...: ETCD_DIR_EXTRAS becomes the entries of DIR, hidden ones
# too, that match no PATTERN (a name, or a prefix followed by "*", as etcd_perf*): what
# cluster-restore.sh or its restore pod would stop at once etcd is down.
etcd_dir_extras() {
  local dir=$1 path name pattern
  shift
  ETCD_DIR_EXTRAS=()
  for path in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
    if [[ ! -e $path && ! -L $path ]]; then
      continue
    fi
    name=${path##*/}
    for pattern in "$@"; do
      if [[ $name == "$pattern" || ($pattern == *"*" && $name == "${pattern%"*"}"*) ]]; then
        continue 2
      fi
    done
    ETCD_DIR_EXTRAS+=("$path")
  done
}

# run_bounded STEP TIMEOUT NAME ADVICE COMMAND...: run COMMAND in the background with
# no stdin, its output shown as it comes and kept in NAME in the run directory, a
# progress line every POLL_INTERVAL seconds; after TIMEOUT seconds stop it and exit 3
# saying what is still running and ADVICE; a non-zero exit of COMMAND fails the step.
run_bounded() {
  local step=$1 timeout=$2 name=$3 out="${RUN_DIR}/$3" advice=$4 pid tail_pid start now elapsed rc=0 next_report=0 seen what
  shift 4
  local arg
  # What runs, for messages: the first absolute path among the arguments (past env).
  what=$1
  for arg in "$@"; do
    if [[ $arg == /* ]]; then
      what=$arg
      break
    fi
  done
  if ((DRY_RUN)); then
    run "$@"
    return 0
  fi
  log "step ${step}: run: $(printf '%q ' "$@")(output also in ${out})"
  : >"${RUN_DIR}/${name}"
  "$@" >>"${RUN_DIR}/${name}" 2>&1 </dev/null &
  pid=$!
  BACKGROUND_PID=$pid BACKGROUND_WHAT=$what BACKGROUND_OUTPUT=$out
  # A later run refuses to start while this one runs, even if this script is gone.
  printf '%s %s %s\n' "$pid" "$(process_start "$pid")" "$what" >"${RUN_DIR}/background"
  tail -n +1 -f --pid="$pid" -- "$out" >&2 &
  tail_pid=$!
  BACKGROUND_TAIL=$tail_pid
  start="$(date +%s)"
  while kill -0 "$pid" 2>/dev/null; do
    now="$(date +%s)"
    elapsed=$((now - start))
    seen="${what##*/} still running"
    if ((${#RUN_WATCH_CONTAINERS[@]} > 0)); then
      PROBE_SEEN=""
      containers_stopped "${RUN_WATCH_CONTAINERS[@]}" || true
      seen+="; ${PROBE_SEEN}"
    fi
    if ((elapsed >= timeout)); then
      kill -TERM "$pid" || true
      wait "$pid" || true
      BACKGROUND_PID=""
      wait "$tail_pid" || true
      BACKGROUND_TAIL=""
      fail "$EXIT_TIMEOUT" "step ${step}: timed out after $(human_duration "$elapsed"). Expected: ${what##*/} to finish within $(human_duration "$timeout"). Seen: ${seen}, so it was stopped; its output is in ${out}. What to do: ${advice}"
    fi
    if ((elapsed >= next_report)); then
      log "step ${step}: $(human_duration "$elapsed") of $(human_duration "$timeout"): ${seen}"
      next_report=$((elapsed + POLL_INTERVAL))
    fi
    sleep 1
  done
  wait "$pid" || rc=$?
  BACKGROUND_PID=""
  wait "$tail_pid" || true
  BACKGROUND_TAIL=""
  if ((rc != 0)); then
    fail "$EXIT_FAILED" "step ${step}: ${what} exited with status ${rc}; its output is in ${out}. What to do: ${advice}"
  fi
  now="$(date +%s)"
  log "step ${step}: ${what##*/} finished after $(human_duration "$((now - start))")"
}

# proxy_env: set PROXY_ENV to the NAME=VALUE pairs of the cluster-wide proxy (the
# procedure's `sudo -E`: sudo has reset the environment, so they are passed explicitly).
PROXY_ENV=()
proxy_env() {
  PROXY_ENV=()
  if [[ -n $PROXY_HTTP ]]; then
    PROXY_ENV+=("HTTP_PROXY=${PROXY_HTTP}" "http_proxy=${PROXY_HTTP}")
  fi
  if [[ -n $PROXY_HTTPS ]]; then
    PROXY_ENV+=("HTTPS_PROXY=${PROXY_HTTPS}" "https_proxy=${PROXY_HTTPS}")
  fi
  if [[ -n $PROXY_NO ]]; then
    PROXY_ENV+=("NO_PROXY=${PROXY_NO}" "no_proxy=${PROXY_NO}")
  fi
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
