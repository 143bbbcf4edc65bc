#!/usr/bin/env bash
set -euo pipefail
# redeploy.sh: procedure.md steps 9.2-13 alone, with oc only, for a restore done by hand
# (RUNBOOK.md) up to step 9.1. It runs the same checks and waits as recover.sh:
#   9.2    exactly one Running etcd pod in openshift-etcd (retried through
#          "Unable to connect to the server: EOF" while the API comes back)
#   10-12  for each operator in order: read status.latestAvailableRevision, patch a
#          unique forceRedeploymentReason, wait until the revision has increased and
#          NodeInstallerProgressing is AllNodesAtLatestRevision
#   13     one Running etcd pod per master
# Usage: ./redeploy.sh [--yes] [--dry-run] [--from STEP] [--list] [--help]
# Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 a wait timed out,
# 130 interrupted.

# --- This cluster (from the kit's inventory) ------------------------------------------
CLUSTER_NAME=prod-east
CLUSTER_VERSION=4.5.7
KIT_NAME=prod-east-recovery-kit
PROFILE_NAME=ocp-4.5
TOOL_VERSION=test
RECOVERY_HOST=master-0.prod-east.example.com
# Node names of every master, in inventory order (step 13 wants one etcd pod for each).
MASTER_NAMES=(master-0.prod-east.example.com master-1.prod-east.example.com master-2.prod-east.example.com master-3.prod-east.example.com master-4.prod-east.example.com)

# --- Waits (seconds) ------------------------------------------------------------------
POLL_INTERVAL=15
SINGLE_MEMBER_TIMEOUT=1200

# --- Forced redeployments, in order (steps 10-12) -------------------------------------
# OPERATORS[i] is the oc resource, OPERATOR_STEPS[i] the procedure step that patches it
# and OPERATOR_TIMEOUTS[i] how long its rollout may take.
OPERATORS=(etcd kubeapiserver kubecontrollermanager kubescheduler)
OPERATOR_STEPS=(10-11 12.1 12.2 12.3)
OPERATOR_TIMEOUTS=(5400 5400 1800 1800)

# --- Logging ---------------------------------------------------------------------------
# LOG_FILE, when set, receives every message too.
LOG_FILE=""
# The step running now (for failure messages), its procedure number, and the host a
# failure happened on ("" when it is not about one host).
CURRENT_STEP=""
CURRENT_STEP_NUM=""
FAIL_HOST=""
DRY_RUN=0
ASSUME_YES=0

# log MESSAGE...: a timestamped line on stderr and in the log file.
log() {
  local line
  line="$(date -u '+%Y-%m-%dT%H:%M:%SZ') $*"
  printf '%s\n' "$line" >&2
  if [[ -n $LOG_FILE ]]; then
    printf '%s\n' "$line" >>"$LOG_FILE"
  fi
}

# die_step RC HOST MESSAGE...: the current step failed (on HOST, or "" for the
# workstation); the EXIT trap says how to go on.
die_step() {
  local rc=$1
  FAIL_HOST=$2
  shift 2
  log "ERROR: $*"
  exit "$rc"
}

# die_usage MESSAGE...: a wrong command line or a refusal (exit 2).
die_usage() {
  log "$*"
  exit 2
}

# fmt_dur SECONDS: 75 -> 1m15s.
fmt_dur() {
  local s=$1
  if ((s >= 3600)); then
    printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif ((s >= 60)); then
    printf '%dm%02ds' $((s / 60)) $((s % 60))
  else
    printf '%ds' "$s"
  fi
}

# shell_words ARGS...: the arguments quoted for a shell, as one line to show or paste.
shell_words() {
  local out="" a q re='^[A-Za-z0-9_@%+=:,./-]+$'
  for a in "$@"; do
    if [[ $a =~ $re ]]; then
      q=$a
    elif [[ $a != *"'"* && $a != *$'\n'* ]]; then
      q="'$a'"
    else
      printf -v q '%q' "$a"
    fi
    out+="${out:+ }$q"
  done
  printf '%s' "$out"
}

# show_cmd ARGS...: what --dry-run prints instead of running a command that changes
# something.
show_cmd() {
  log "DRY-RUN: would run: $(shell_words "$@")"
}

# first_line TEXT: the first non-empty line of TEXT (for one-line progress messages).
first_line() {
  local line
  while IFS= read -r line; do
    if [[ -n $line ]]; then
      printf '%s' "$line"
      return 0
    fi
  done <<<"$1"
}

# --- Bounded waits ------------------------------------------------------------------------
# POLL_SEEN is what the last check saw, in words, for progress and timeout messages.
POLL_SEEN=""

# poll_until TIMEOUT EXPECTED HINT CHECK [ARGS...]: runs CHECK ARGS every POLL_INTERVAL
# seconds until it succeeds (returns 0) or TIMEOUT seconds have passed (says what was
# expected, what was seen last and HINT, and returns 3). A progress line with the
# elapsed time is printed when what is seen changes, and at least once a minute.
poll_until() {
  local timeout=$1 expected=$2 hint=$3 start elapsed shown="" shown_at=-60
  shift 3
  start=$(date +%s)
  POLL_SEEN=""
  while :; do
    if "$@"; then
      elapsed=$(($(date +%s) - start))
      log "  ok after $(fmt_dur "$elapsed"): ${POLL_SEEN:-$expected}"
      return 0
    fi
    elapsed=$(($(date +%s) - start))
    if ((elapsed >= timeout)); then
      log "TIMEOUT after $(fmt_dur "$elapsed") waiting for: $expected"
      log "  last seen: ${POLL_SEEN:-nothing}"
      log "  what to do: $hint"
      return 3
    fi
    if [[ $POLL_SEEN != "$shown" ]] || ((elapsed - shown_at >= 60)); then
      log "  waiting ($(fmt_dur "$elapsed") of $(fmt_dur "$timeout")) for $expected; now: ${POLL_SEEN:-nothing yet}"
      shown=$POLL_SEEN
      shown_at=$elapsed
    fi
    sleep "$POLL_INTERVAL"
  done
}

# --- oc ------------------------------------------------------------------------------------
# OC_OUT holds the output (stdout and stderr) of the last oc_try.
OC_OUT=""

# oc_try ARGS...: runs oc ARGS, keeps its output in OC_OUT, returns oc's status. A
# request that gets no answer fails after 30s (an API half up must not stall a wait).
oc_try() {
  OC_OUT=$(oc "$@" --request-timeout=30s 2>&1)
}

# etcd_pod_states: reads `oc get pods -n openshift-etcd` and prints "NAME STATUS" for
# each etcd member pod: etcd-<node>, not the installer-*, revision-pruner-* or
# etcd-quorum-guard-* pods (in 4.5 the quorum guard lives in another namespace, but a
# later release may move it).
etcd_pod_states() {
  awk 'NR == 1 && $1 == "NAME" { next }
    $1 ~ /^etcd-/ && $1 !~ /^etcd-quorum-guard/ { print $1, $3 }'
}

# check_single_member: step 9.2's condition, exactly one etcd pod Running.
check_single_member() {
  local states running
  if ! oc_try get pods -n openshift-etcd; then
    POLL_SEEN="oc get pods failed: $(first_line "$OC_OUT")"
    return 1
  fi
  states=$(etcd_pod_states <<<"$OC_OUT")
  running=$(awk '$2 == "Running" { n++ } END { print n + 0 }' <<<"$states")
  POLL_SEEN="$running etcd pod(s) Running [$(tr '\n' ' ' <<<"$states" | sed 's/ $//')]"
  ((running == 1))
}

# check_all_members: step 13's condition, an etcd-<node> pod Running for every master.
check_all_members() {
  local states name missing=""
  if ! oc_try get pods -n openshift-etcd; then
    POLL_SEEN="oc get pods failed: $(first_line "$OC_OUT")"
    return 1
  fi
  states=$(etcd_pod_states <<<"$OC_OUT")
  for name in "${MASTER_NAMES[@]}"; do
    if ! grep -qxF "etcd-$name Running" <<<"$states"; then
      missing+="${missing:+, }etcd-$name"
    fi
  done
  if [[ -n $missing ]]; then
    POLL_SEEN="not Running yet: $missing [$(tr '\n' ' ' <<<"$states" | sed 's/ $//')]"
    return 1
  fi
  POLL_SEEN="one Running etcd pod per master (${#MASTER_NAMES[@]})"
}

# step_single_member_oc: step 9.2.
step_single_member_oc() {
  log "step 9.2: oc get pods -n openshift-etcd must show exactly one Running etcd pod"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get pods -n openshift-etcd every ${POLL_INTERVAL}s for up to $(fmt_dur "$SINGLE_MEMBER_TIMEOUT")"
    return 0
  fi
  poll_until "$SINGLE_MEMBER_TIMEOUT" "exactly one Running etcd pod in openshift-etcd (step 9.2)" \
    "'Unable to connect to the server: EOF' means the API or its authentication is still starting; Pending or more than one Running etcd pod means wait a few minutes. Check the recovery host (sudo crictl ps --name '^etcd\$'), use a certificate-based kubeconfig (the installer's auth/kubeconfig; an OAuth token can stop working after the restore), then resume." \
    check_single_member ||
    die_step "$?" "" "step 9.2: the control plane did not come back with a single etcd member"
}

# step_all_members_oc: step 13.
step_all_members_oc() {
  log "step 13: oc get pods -n openshift-etcd must show one Running etcd pod per master: ${MASTER_NAMES[*]}"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get pods -n openshift-etcd every ${POLL_INTERVAL}s for up to $(fmt_dur "$SINGLE_MEMBER_TIMEOUT")"
    return 0
  fi
  poll_until "$SINGLE_MEMBER_TIMEOUT" "one Running etcd-<node> pod for each of ${MASTER_NAMES[*]} (step 13)" \
    "look at the missing host: sudo crictl ps -a --name '^etcd\$' and journalctl -u kubelet there, and oc get etcd cluster -o yaml (status.nodeStatuses); when it has joined, re-run this step." \
    check_all_members ||
    die_step "$?" "" "step 13: not every master has a Running etcd member"
}

# LATEST_REVISION is what read_latest_revision read.
LATEST_REVISION=""

# read_latest_revision RESOURCE: status.latestAvailableRevision of RESOURCE/cluster.
read_latest_revision() {
  if ! oc_try get "$1" cluster -o 'jsonpath={.status.latestAvailableRevision}'; then
    POLL_SEEN="oc get $1 failed: $(first_line "$OC_OUT")"
    return 1
  fi
  if [[ ! $OC_OUT =~ ^[0-9]*$ ]]; then
    POLL_SEEN="unexpected latestAvailableRevision: $(first_line "$OC_OUT")"
    return 1
  fi
  LATEST_REVISION=${OC_OUT:-0}
  POLL_SEEN="$1 latestAvailableRevision is $LATEST_REVISION"
}

# PATCH_REASON is the forceRedeploymentReason the last successful patch_operator set.
PATCH_REASON=""

# patch_operator RESOURCE: steps 10 and 12, a forced redeployment with a unique reason
# (a new timestamp on every try).
patch_operator() {
  local reason
  reason="recovery-$(date --rfc-3339=ns)"
  if ! oc_try patch "$1" cluster --type=merge -p "{\"spec\":{\"forceRedeploymentReason\":\"$reason\"}}"; then
    POLL_SEEN="oc patch $1 failed: $(first_line "$OC_OUT")"
    return 1
  fi
  PATCH_REASON=$reason
  POLL_SEEN="$1 patched with forceRedeploymentReason $reason"
}

# check_rollout RESOURCE BEFORE: steps 11 and 12, the rollout is done when
# latestAvailableRevision is above BEFORE (the operator has created the new revision:
# until then NodeInstallerProgressing still reports the old AllNodesAtLatestRevision)
# and NodeInstallerProgressing says AllNodesAtLatestRevision at that revision.
check_rollout() {
  local res=$1 before=$2 rev reason message rest n re='revision[[:space:]]+([0-9]+)'
  if ! oc_try get "$res" cluster -o 'jsonpath={.status.latestAvailableRevision}'; then
    POLL_SEEN="oc get $res failed: $(first_line "$OC_OUT")"
    return 1
  fi
  rev=$OC_OUT
  if [[ ! $rev =~ ^[0-9]+$ ]]; then
    POLL_SEEN="unexpected latestAvailableRevision: $(first_line "$rev")"
    return 1
  fi
  if ((rev <= before)); then
    POLL_SEEN="latestAvailableRevision still $rev: the operator has not created the new revision yet"
    return 1
  fi
  if ! oc_try get "$res" cluster -o 'jsonpath={range .status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason}{"\n"}{.message}{"\n"}{end}'; then
    POLL_SEEN="oc get $res failed: $(first_line "$OC_OUT")"
    return 1
  fi
  reason=$(first_line "$OC_OUT")
  message=$(sed -n '2p' <<<"$OC_OUT")
  POLL_SEEN="revision $rev (was $before); NodeInstallerProgressing: ${reason:-none} ${message:+($message)}"
  [[ $reason == AllNodesAtLatestRevision ]] || return 1
  # The condition can lag behind a moment: every "revision N" it names must be rev.
  rest=$message
  while [[ $rest =~ $re ]]; do
    n=${BASH_REMATCH[1]}
    if ((n != rev)); then
      return 1
    fi
    rest=${rest#*"${BASH_REMATCH[0]}"}
  done
  return 0
}

# REDEPLOY_STATE_DIR, when set, remembers each patch (revision before it and reason),
# so a re-run after an interruption waits for that rollout instead of starting another.
REDEPLOY_STATE_DIR=""
# REDEPLOY_FORCE=1 patches again even when a patch was remembered.
REDEPLOY_FORCE=0

# operator_namespace RESOURCE: the namespace of the operand's pods (installers included).
operator_namespace() {
  case $1 in
  etcd) printf 'openshift-etcd' ;;
  kubeapiserver) printf 'openshift-kube-apiserver' ;;
  kubecontrollermanager) printf 'openshift-kube-controller-manager' ;;
  kubescheduler) printf 'openshift-kube-scheduler' ;;
  *) printf 'openshift-%s' "$1" ;;
  esac
}

# step_redeploy INDEX: steps 10-11 or 12.x for OPERATORS[INDEX].
step_redeploy() {
  local res=${OPERATORS[$1]} step=${OPERATOR_STEPS[$1]} timeout=${OPERATOR_TIMEOUTS[$1]}
  local before memo="" ns resume="a re-run patches again (a further revision, harmless)"
  ns=$(operator_namespace "$res")
  if [[ -n $REDEPLOY_STATE_DIR ]]; then
    memo="$REDEPLOY_STATE_DIR/redeploy-$res.patched"
    resume="a re-run resumes this wait without patching again"
  fi
  log "step $step: force a new $res rollout and wait until every node is at the new revision (up to $(fmt_dur "$timeout"))"
  if ((DRY_RUN)); then
    show_cmd oc get "$res" cluster -o 'jsonpath={.status.latestAvailableRevision}'
    show_cmd oc patch "$res" cluster --type=merge -p '{"spec":{"forceRedeploymentReason":"recovery-<date --rfc-3339=ns>"}}'
    log "DRY-RUN: would poll oc get $res cluster (latestAvailableRevision, NodeInstallerProgressing) every ${POLL_INTERVAL}s until AllNodesAtLatestRevision at a new revision"
    return 0
  fi
  if [[ -n $memo && -f $memo ]] && ((! REDEPLOY_FORCE)); then
    {
      read -r before
      read -r PATCH_REASON
    } <"$memo"
    log "step $step: $res was already patched by an earlier run (reason $PATCH_REASON, revision before it $before): waiting for that rollout"
  else
    poll_until "$timeout" "$res latestAvailableRevision (read before the patch)" \
      "oc must answer: check oc whoami and the API (oc get clusteroperators), then resume." \
      read_latest_revision "$res" ||
      die_step "$?" "" "step $step: could not read $res latestAvailableRevision"
    before=$LATEST_REVISION
    log "step $step: $res latestAvailableRevision before the patch: $before"
    poll_until "$timeout" "oc patch $res cluster to succeed" \
      "oc must answer and the user must be allowed to patch $res (cluster-admin), then resume." \
      patch_operator "$res" ||
      die_step "$?" "" "step $step: could not patch $res"
    log "step $step: patched $res with forceRedeploymentReason $PATCH_REASON"
    if [[ -n $memo ]]; then
      printf '%s\n%s\n' "$before" "$PATCH_REASON" >"$memo"
    fi
  fi
  poll_until "$timeout" "$res: latestAvailableRevision above $before and NodeInstallerProgressing AllNodesAtLatestRevision (step $step)" \
    "'N nodes are at revision X; M nodes are at revision Y' means still rolling out: wait. If it does not move, look at oc get $res cluster -o yaml (status.nodeStatuses, conditions) and the installer pods (oc get pods -n $ns), then resume: $resume." \
    check_rollout "$res" "$before" ||
    die_step "$?" "" "step $step: the $res rollout did not finish"
  if [[ -n $memo ]]; then
    mv -f "$memo" "$memo.done"
  fi
}

# --- Steps --------------------------------------------------------------------------------
# STEP_NUMS[i] cites procedure.md; STEP_OPERATOR[i] indexes OPERATORS ('' for a check).
STEP_NUMS=(9.2)
STEP_OPERATOR=('')
for ((k = 0; k < ${#OPERATORS[@]}; k++)); do
  STEP_NUMS+=("${OPERATOR_STEPS[k]}")
  STEP_OPERATOR+=("$k")
done
STEP_NUMS+=(13)
STEP_OPERATOR+=('')
FROM=""
LIST=0
CURRENT=0

usage() {
  cat <<EOF
Usage: ./redeploy.sh [--yes] [--dry-run] [--from STEP] [--list] [--help]

Finishes the restore of cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION) with oc only:
procedure.md steps 9.2 to 13. Run it after restart-kubelet.sh has run on every master
(step 8) and etcd runs on the recovery host $RECOVERY_HOST (step 9.1).

  --yes        do not ask before the first forced redeployment
  --dry-run    print the commands, run nothing
  --from STEP  start at STEP: 9.2, ${OPERATOR_STEPS[*]} or 13 (e.g. after a rollout timed out)
  --list       list the steps and exit
  --help       this help

Needs oc logged in as a cluster-admin, preferably with a certificate-based kubeconfig
(the installer's auth/kubeconfig): an OAuth token can stop working during the restore.

Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 a wait timed out,
130 interrupted.
EOF
}

list_steps() {
  local k
  printf '%-14s %s\n' PROCEDURE WHAT
  for ((k = 0; k < ${#STEP_NUMS[@]}; k++)); do
    if [[ -n ${STEP_OPERATOR[k]} ]]; then
      printf '%-14s %s\n' "step ${STEP_NUMS[k]}" "force a new ${OPERATORS[${STEP_OPERATOR[k]}]} rollout and wait until every node is at the new revision"
    elif [[ ${STEP_NUMS[k]} == 13 ]]; then
      printf '%-14s %s\n' "step 13" "one Running etcd pod per master: ${MASTER_NAMES[*]}"
    else
      printf '%-14s %s\n' "step 9.2" "exactly one Running etcd pod in openshift-etcd"
    fi
  done
}

parse_args() {
  while (($#)); do
    case $1 in
    -y | --yes) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --list) LIST=1 ;;
    --from)
      if (($# < 2)) || [[ -z $2 ]]; then
        die_usage "--from needs a step (see --list)"
      fi
      FROM=$2
      shift
      ;;
    --from=*) FROM=${1#*=} ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die_usage "unknown argument: $1 (see --help)" ;;
    esac
    shift
  done
}

# first_step: the index --from names (9.2 by default).
first_step() {
  local k a
  if [[ -z $FROM ]]; then
    printf '0'
    return 0
  fi
  for ((k = 0; k < ${#STEP_NUMS[@]}; k++)); do
    for a in "${STEP_NUMS[k]}" "${STEP_NUMS[k]%%-*}" "${STEP_NUMS[k]##*-}" "${OPERATORS[${STEP_OPERATOR[k]:-99}]:-}"; do
      if [[ $FROM == "$a" ]]; then
        printf '%s' "$k"
        return 0
      fi
    done
  done
  return 1
}

confirm() {
  local k answer
  log "PLAN for cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION):"
  for ((k = CURRENT; k < ${#STEP_NUMS[@]}; k++)); do
    if [[ -n ${STEP_OPERATOR[k]} ]]; then
      log "  step ${STEP_NUMS[k]}: oc patch ${OPERATORS[${STEP_OPERATOR[k]}]} cluster with a unique forceRedeploymentReason, wait for AllNodesAtLatestRevision (up to $(fmt_dur "${OPERATOR_TIMEOUTS[${STEP_OPERATOR[k]}]}"))"
    fi
  done
  if ((DRY_RUN)); then
    return 0
  fi
  if ((ASSUME_YES)); then
    log "--yes given: starting"
    return 0
  fi
  if [[ ! -t 0 ]]; then
    die_usage "refusing to change anything without confirmation: stdin is not a terminal (use --yes)"
  fi
  read -r -p "Type yes to start the forced redeployments: " answer
  if [[ $answer != yes ]]; then
    die_usage "not confirmed: nothing was changed"
  fi
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0)) && [[ -n $CURRENT_STEP ]]; then
    log "FAILED: step $CURRENT_STEP_NUM${FAIL_HOST:+ on $FAIL_HOST}, exit $rc"
    log "fix the cause, then resume at this step with:"
    log "  $(shell_words "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/redeploy.sh" --from "$CURRENT_STEP_NUM")"
  fi
  exit "$rc"
}

main() {
  local k start confirmed=0
  local -a took=()
  parse_args "$@"
  if ((LIST)); then
    list_steps
    exit 0
  fi
  CURRENT=$(first_step) || die_usage "--from $FROM: no such step (9.2, ${OPERATOR_STEPS[*]}, 13 or an operator name)"
  if ! command -v oc >/dev/null 2>&1; then
    log "oc is not on PATH: redeploy.sh needs oc logged in as a cluster-admin"
    exit 1
  fi
  if ((! DRY_RUN && ! ASSUME_YES && CURRENT < ${#STEP_NUMS[@]} - 1)) && [[ ! -t 0 ]]; then
    die_usage "refusing to run: stdin is not a terminal, so the plan cannot be confirmed (use --yes)"
  fi
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start=$(date +%s)
  log "redeploy.sh for cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION), kit $KIT_NAME (profile $PROFILE_NAME, restorekit $TOOL_VERSION)"
  for ((k = CURRENT; k < ${#STEP_NUMS[@]}; k++)); do
    if [[ -n ${STEP_OPERATOR[k]} ]] && ((! confirmed)); then
      confirm
      confirmed=1
    fi
    CURRENT_STEP=${STEP_NUMS[k]}
    CURRENT_STEP_NUM=${STEP_NUMS[k]}
    log "==> step ${STEP_NUMS[k]}"
    took[k]=$(date +%s)
    if [[ -n ${STEP_OPERATOR[k]} ]]; then
      step_redeploy "${STEP_OPERATOR[k]}"
    elif [[ ${STEP_NUMS[k]} == 13 ]]; then
      step_all_members_oc
    else
      step_single_member_oc
    fi
    took[k]=$(($(date +%s) - took[k]))
    log "<== step ${STEP_NUMS[k]}: done in $(fmt_dur "${took[k]}")"
    CURRENT_STEP=""
  done
  log "SUMMARY for cluster $CLUSTER_NAME (total $(fmt_dur $(($(date +%s) - start)))):"
  for ((k = CURRENT; k < ${#STEP_NUMS[@]}; k++)); do
    log "  step ${STEP_NUMS[k]}: $(fmt_dur "${took[k]}")"
  done
  if ((DRY_RUN)); then
    log "dry run: nothing was changed"
  else
    log "every master has a Running etcd member. It can take several minutes more for every service to come back (oc login works once the OAuth server pods have restarted): watch oc get clusteroperators."
  fi
}

main "$@"
