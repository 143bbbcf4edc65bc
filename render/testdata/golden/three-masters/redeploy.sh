#!/usr/bin/env bash
set -euo pipefail
# redeploy.sh: the oc-only steps of procedure/procedure.md after the restore, alone, for a
# restore done by hand (RUNBOOK.md). It runs the same checks and waits as recover.sh:
#   9.2              verify the single-member control plane: etcd running on the recovery host, one Running etcd pod
#   10-11            force a new etcd rollout (unique forceRedeploymentReason) and wait until every node is at the new revision
#   12.1             force a new kubeapiserver rollout (unique forceRedeploymentReason) and wait until every node is at the new revision
#   12.2             force a new kubecontrollermanager rollout (unique forceRedeploymentReason) and wait until every node is at the new revision
#   12.3             force a new kubescheduler rollout (unique forceRedeploymentReason) and wait until every node is at the new revision
#   13               verify every master has joined: one Running etcd pod per master
# Usage: ./redeploy.sh [--yes] [--dry-run] [--from STEP [--wait-only]] [--list] [--help]
# Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 a wait timed out,
# 130 interrupted.

# --- This cluster (from the kit's inventory) ------------------------------------------
CLUSTER_NAME=ocp4
CLUSTER_VERSION=4.5.2
KIT_NAME=ocp4-recovery-kit
PROFILE_NAME=ocp-4.5
TOOL_VERSION=test
RECOVERY_HOST=ip-10-0-143-125.ec2.internal
# Node names of every master, in inventory order (step 13 wants one etcd pod for each).
MASTER_NAMES=(ip-10-0-143-125.ec2.internal ip-10-0-154-194.ec2.internal ip-10-0-173-171.ec2.internal)

# --- Waits (seconds) ------------------------------------------------------------------
POLL_INTERVAL=10
SINGLE_MEMBER_TIMEOUT=1200
# The number the check of one Running etcd pod cites ('' without that step).
readonly SINGLE_MEMBER_NUM=9.2

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
# NODE_WATCH=1 once the restore is done: every wait then also looks at the masters'
# nodes and certificate signing requests (watch_nodes), since kubelet certificates that
# rotated after the backup leave masters NotReady and every wait after it stuck.
NODE_WATCH=0
NODE_SEEN=""
# POLL_SEEN is what the last check saw, in words, for progress and timeout messages.
POLL_SEEN=""
# OC_DETERMINISTIC (set by oc_try) names an oc failure another try cannot change; a wait
# gives up after OC_DETERMINISTIC_TRIES of the same in a row.
OC_DETERMINISTIC=""
OC_DETERMINISTIC_TRIES=3

# poll_until TIMEOUT EXPECTED HINT CHECK [ARGS...]: runs CHECK ARGS every POLL_INTERVAL
# seconds until it succeeds (returns 0) or TIMEOUT seconds have passed (says what was
# expected, what was seen last and HINT, and returns 3). A progress line with the
# elapsed time is printed when what is seen changes, and at least once a minute.
poll_until() {
  local timeout=$1 expected=$2 hint=$3 start elapsed shown="" shown_at=-60 same=0 last=""
  shift 3
  start=$(date +%s)
  POLL_SEEN=""
  while :; do
    OC_DETERMINISTIC=""
    if "$@"; then
      elapsed=$(($(date +%s) - start))
      log "  ok after $(fmt_dur "$elapsed"): ${POLL_SEEN:-$expected}"
      return 0
    fi
    elapsed=$(($(date +%s) - start))
    # Forbidden or NotFound again and again: waiting longer cannot help.
    if [[ -n $OC_DETERMINISTIC && $OC_DETERMINISTIC == "$last" ]]; then
      same=$((same + 1))
    elif [[ -n $OC_DETERMINISTIC ]]; then
      same=1
    else
      same=0
    fi
    last=$OC_DETERMINISTIC
    if ((same >= OC_DETERMINISTIC_TRIES)); then
      log "  waiting for: $expected; seen: ${POLL_SEEN:-nothing}"
      log "  oc answered the same $OC_DETERMINISTIC $same times in a row: another try cannot change it, so the wait stops here"
      log "  what to do: $hint"
      return 1
    fi
    if ((elapsed >= timeout)); then
      log "TIMEOUT after $(fmt_dur "$elapsed") waiting for: $expected"
      log "  last seen: ${POLL_SEEN:-nothing}"
      if ((NODE_WATCH)); then
        watch_nodes
      fi
      if [[ -n $NODE_SEEN ]]; then
        log "  what to do first: $NODE_SEEN"
      fi
      log "  what to do: $hint"
      return 3
    fi
    if [[ $POLL_SEEN != "$shown" ]] || ((elapsed - shown_at >= 60)); then
      log "  waiting ($(fmt_dur "$elapsed") of $(fmt_dur "$timeout")) for $expected; now: ${POLL_SEEN:-nothing yet}"
      shown=$POLL_SEEN
      shown_at=$elapsed
      if ((NODE_WATCH)); then
        watch_nodes
      fi
    fi
    sleep "$POLL_INTERVAL"
  done
}

# --- oc ------------------------------------------------------------------------------------
# OC_OUT holds the output (stdout and stderr) of the last oc_try.
OC_OUT=""

# oc_try ARGS...: runs oc ARGS, keeps its output in OC_OUT, returns oc's status. A
# request that gets no answer fails after 30s (an API half up must not stall a wait).
# OC_DETERMINISTIC names a failure another try cannot change (poll_until gives up on it
# after OC_DETERMINISTIC_TRIES in a row): Forbidden (RBAC), or NotFound of a named
# object. Not so: "not yet ready to handle request" (Forbidden from a kube-apiserver
# still starting) and "could not find the requested resource" (a resource type not
# served yet while the API comes back).
oc_try() {
  local rc=0
  OC_OUT=$(oc "$@" --request-timeout=30s 2>&1) || rc=$?
  OC_DETERMINISTIC=""
  if ((rc != 0)); then
    case $OC_OUT in
    *"not yet ready to handle request"* | *"could not find the requested resource"*) ;;
    *"(Forbidden)"*) OC_DETERMINISTIC=Forbidden ;;
    *"(NotFound)"*) OC_DETERMINISTIC=NotFound ;;
    esac
  fi
  return "$rc"
}

# csr_common_name NAME: the subject CN of CSR NAME, as oc describe csr prints it
# ("Common Name:" under "Subject:"; nothing to decode on the workstation).
csr_common_name() {
  oc_try describe csr "$1" || return 1
  awk '/^[[:space:]]*Common Name:/ { print $3; exit }' <<<"$OC_OUT"
}

# watch_nodes: the masters that are not Ready and the pending CSRs of the cluster's own
# masters (requested by system:node:<master>, or by the node-bootstrapper for one), reported as
# soon as seen and whenever it changes; NODE_SEEN keeps it, with what to do, for the
# timeout messages. Other pending CSRs are only listed. Best effort: when oc does not
# answer, nothing is said.
NODE_REPORTED=""
watch_nodes() {
  local notready="" mine="" others="" name user conds n
  if ! oc_try get nodes -l node-role.kubernetes.io/master -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'; then
    return 0
  fi
  while read -r name conds; do
    if [[ -n $name && $conds != True ]]; then
      notready+="${notready:+ }$name"
    fi
  done <<<"$OC_OUT"
  if oc_try get csr -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.username}{" "}{.status.conditions[*].type}{"\n"}{end}'; then
    while read -r name user conds; do
      if [[ -z $name || -n $conds ]]; then
        continue # approved or denied already
      fi
      case $user in
      system:serviceaccount:openshift-machine-config-operator:node-bootstrapper)
        # The node a bootstrapper CSR is for is only in its request's subject.
        n=$(csr_common_name "$name" || true)
        if [[ $n == system:node:* && " ${MASTER_NAMES[*]} " == *" ${n#system:node:} "* ]]; then
          mine+="${mine:+, }$name (${n#system:node:}, node-bootstrapper)"
        else
          others+="${others:+, }$name (node-bootstrapper, for ${n:-a subject oc describe csr did not show})"
        fi
        ;;
      system:node:*)
        n=${user#system:node:}
        if [[ " ${MASTER_NAMES[*]} " == *" $n "* ]]; then
          mine+="${mine:+, }$name ($n)"
        else
          others+="${others:+, }$name ($user)"
        fi
        ;;
      *) others+="${others:+, }$name ($user)" ;;
      esac
    done <<<"$OC_OUT"
  fi
  NODE_SEEN=""
  if [[ -n $notready || -n $mine ]]; then
    NODE_SEEN="masters NotReady: ${notready:-none}; pending CSRs of the masters: ${mine:-none}${others:+; other pending CSRs, left alone: $others}. A kubelet certificate that rotated after the backup keeps a master NotReady and this wait stuck: on that master move the PEM files of /var/lib/kubelet/pki aside (into the quarantine directory, never deleted), sudo systemctl restart kubelet, then approve only that node's CSRs (oc get csr; oc adm certificate approve NAME for those requested by system:node:<node> or the node-bootstrapper)"
  fi
  if [[ $NODE_SEEN != "$NODE_REPORTED" ]]; then
    if [[ -n $NODE_SEEN ]]; then
      log "  NODES: $NODE_SEEN"
    elif [[ -n $NODE_REPORTED ]]; then
      log "  NODES: every master is Ready and no CSR of theirs is pending"
    fi
    NODE_REPORTED=$NODE_SEEN
  fi
}

# etcd_pod_states: reads `oc get pods -n openshift-etcd` and prints "NAME STATUS" for
# each etcd member pod: etcd-<node>, not the installer-*, revision-pruner-* or
# etcd-quorum-guard-* pods (in 4.5 the quorum guard lives in another namespace, but a
# later release may move it).
etcd_pod_states() {
  awk 'NR == 1 && $1 == "NAME" { next }
    $1 ~ /^etcd-/ && $1 !~ /^etcd-quorum-guard/ { print $1, $3 }'
}

# check_single_member: the condition of SINGLE_MEMBER_NUM (4.5: step 9.2), exactly one etcd pod Running.
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

# check_all_members: step 13's condition, an etcd-<node> pod Running for every master,
# each with all its containers ready (READY n/n).
check_all_members() {
  local states name missing="" unready
  if ! oc_try get pods -n openshift-etcd; then
    POLL_SEEN="oc get pods failed: $(first_line "$OC_OUT")"
    return 1
  fi
  states=$(etcd_pod_states <<<"$OC_OUT")
  unready=$(awk '$1 ~ /^etcd-/ && $2 ~ /^[0-9]+\/[0-9]+$/ { split($2, r, "/"); if (r[1] != r[2]) print $1 }' <<<"$OC_OUT")
  for name in "${MASTER_NAMES[@]}"; do
    if ! grep -qxF "etcd-$name Running" <<<"$states"; then
      missing+="${missing:+, }etcd-$name"
    elif grep -qxF "etcd-$name" <<<"$unready"; then
      missing+="${missing:+, }etcd-$name (Running, not Ready)"
    fi
  done
  if [[ -n $missing ]]; then
    POLL_SEEN="not Running yet: $missing [$(tr '\n' ' ' <<<"$states" | sed 's/ $//')]"
    return 1
  fi
  POLL_SEEN="one Running and Ready etcd pod per master (${#MASTER_NAMES[@]})"
}

# step_single_member_oc: SINGLE_MEMBER_NUM (4.5: step 9.2).
step_single_member_oc() {
  log "step ${SINGLE_MEMBER_NUM}: oc get pods -n openshift-etcd must show exactly one Running etcd pod"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get pods -n openshift-etcd every ${POLL_INTERVAL}s for up to $(fmt_dur "$SINGLE_MEMBER_TIMEOUT")"
    return 0
  fi
  poll_until "$SINGLE_MEMBER_TIMEOUT" "exactly one Running etcd pod in openshift-etcd (step ${SINGLE_MEMBER_NUM})" \
    "'Unable to connect to the server: EOF' means the API or its authentication is still starting; Pending or more than one Running etcd pod means wait a few minutes. Check the recovery host (sudo crictl ps --name '^etcd\$'), use a certificate-based kubeconfig (the installer's auth/kubeconfig; an OAuth token can stop working after the restore), then resume." \
    check_single_member ||
    die_step "$?" "" "step ${SINGLE_MEMBER_NUM}: the control plane did not come back with a single etcd member"
}

# step_verify_members K: step 13, every master has joined.
step_verify_members() {
  log "step ${STEP_NUMS[$1]}: oc get pods -n openshift-etcd must show one Running etcd pod per master: ${MASTER_NAMES[*]}"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get pods -n openshift-etcd every ${POLL_INTERVAL}s for up to $(fmt_dur "${STEP_TIMEOUT[$1]}")"
    return 0
  fi
  poll_until "${STEP_TIMEOUT[$1]}" "one Running etcd-<node> pod for each of ${MASTER_NAMES[*]} (step ${STEP_NUMS[$1]})" \
    "look at the missing host: sudo crictl ps -a --name '^etcd\$' and journalctl -u kubelet there, and oc get etcd cluster -o yaml (status.nodeStatuses); when it has joined, re-run this step." \
    check_all_members ||
    die_step "$?" "" "step ${STEP_NUMS[$1]}: not every master has a Running etcd member"
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

# PATCH_INTENT, when set, is the file patch_operator writes PATCH_BEFORE (the revision
# before the patch) and the reason to before it sends the patch: a run killed between
# the patch and its record leaves them, and the next run compares the reason with the
# cluster's spec.forceRedeploymentReason to know whether the patch happened.
PATCH_INTENT=""
PATCH_BEFORE=""

# patch_operator RESOURCE: steps 10 and 12, a forced redeployment with a unique reason
# (a new timestamp on every try).
patch_operator() {
  local reason
  reason="recovery-$(date --rfc-3339=ns)"
  if [[ -n $PATCH_INTENT ]]; then
    printf '%s\n%s\n' "$PATCH_BEFORE" "$reason" >"$PATCH_INTENT"
  fi
  if ! oc_try patch "$1" cluster --type=merge -p "{\"spec\":{\"forceRedeploymentReason\":\"$reason\"}}"; then
    POLL_SEEN="oc patch $1 failed: $(first_line "$OC_OUT")"
    return 1
  fi
  PATCH_REASON=$reason
  POLL_SEEN="$1 patched with forceRedeploymentReason $reason"
}

# SPEC_REASON is what read_spec_reason read.
SPEC_REASON=""

# read_spec_reason RESOURCE: spec.forceRedeploymentReason of RESOURCE/cluster.
read_spec_reason() {
  if ! oc_try get "$1" cluster -o 'jsonpath={.spec.forceRedeploymentReason}'; then
    POLL_SEEN="oc get $1 failed: $(first_line "$OC_OUT")"
    return 1
  fi
  SPEC_REASON=$OC_OUT
  POLL_SEEN="$1 spec.forceRedeploymentReason is ${SPEC_REASON:-not set}"
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
# REDEPLOY_WAIT_ONLY is the index of the redeploy step that does not patch but waits
# for the rollout of its operator's newest revision (redeploy.sh --wait-only); "" none.
REDEPLOY_WAIT_ONLY=""

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

# step_redeploy K: a forced redeployment of STEP_RESOURCE[K] (steps 10-11 or 12.x).
step_redeploy() {
  local res=${STEP_RESOURCE[$1]} step=${STEP_NUMS[$1]} timeout=${STEP_TIMEOUT[$1]}
  local before reason memo="" ns resume="a re-run patches again (a further revision, harmless; ./redeploy.sh --from $step --wait-only waits for this one instead)" patch=1
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
  if [[ $REDEPLOY_WAIT_ONLY == "$1" ]]; then
    poll_until "$timeout" "$res latestAvailableRevision" \
      "oc must answer: check oc whoami and the API (oc get clusteroperators), then resume." \
      read_latest_revision "$res" ||
      die_step "$?" "" "step $step: could not read $res latestAvailableRevision"
    before=$((LATEST_REVISION - 1))
    log "step $step: --wait-only: not patching $res; waiting for its newest revision $LATEST_REVISION to reach every node"
    patch=0
  elif [[ -n $memo && -f $memo ]] && ((! REDEPLOY_FORCE)); then
    {
      read -r before
      read -r PATCH_REASON
    } <"$memo"
    log "step $step: $res was already patched by an earlier run (reason $PATCH_REASON, revision before it $before): waiting for that rollout"
    patch=0
  elif [[ -n $memo && -f $memo.intent ]] && ((! REDEPLOY_FORCE)); then
    # An earlier run was stopped between writing its intent and recording the patch.
    {
      read -r before
      read -r reason
    } <"$memo.intent"
    poll_until "$timeout" "$res spec.forceRedeploymentReason (did the earlier run's patch happen?)" \
      "oc must answer: check oc whoami and the API (oc get clusteroperators), then resume." \
      read_spec_reason "$res" ||
      die_step "$?" "" "step $step: could not read $res spec.forceRedeploymentReason"
    if [[ -n $reason && $SPEC_REASON == "$reason" ]]; then
      log "step $step: the earlier run's patch of $res went through before it was stopped (spec.forceRedeploymentReason is its reason $reason; revision before it $before): waiting for that rollout"
      PATCH_REASON=$reason
      mv -f "$memo.intent" "$memo"
      patch=0
    else
      log "step $step: the earlier run was stopped before its patch of $res reached the cluster (spec.forceRedeploymentReason is '${SPEC_REASON}', not $reason): patching now"
    fi
  fi
  if ((patch)); then
    poll_until "$timeout" "$res latestAvailableRevision (read before the patch)" \
      "oc must answer: check oc whoami and the API (oc get clusteroperators), then resume." \
      read_latest_revision "$res" ||
      die_step "$?" "" "step $step: could not read $res latestAvailableRevision"
    before=$LATEST_REVISION
    log "step $step: $res latestAvailableRevision before the patch: $before"
    PATCH_INTENT=${memo:+$memo.intent}
    PATCH_BEFORE=$before
    poll_until "$timeout" "oc patch $res cluster to succeed" \
      "oc must answer and the user must be allowed to patch $res (cluster-admin), then resume." \
      patch_operator "$res" ||
      die_step "$?" "" "step $step: could not patch $res"
    log "step $step: patched $res with forceRedeploymentReason $PATCH_REASON"
    if [[ -n $memo ]]; then
      mv -f "$memo.intent" "$memo"
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

# --- Kinds of procedure/procedure-4.18.md: the API, the quorum guard, a stable cluster ---
MINIMUM_STABLE_PERIOD=300
# MOVE_ETCD_EXTRAS=1 (--move-etcd-extras): the restore moves what else is in the
# recovery host's etcd data directory into its run directory instead of stopping.
MOVE_ETCD_EXTRAS=0
# The quorum guard override of steps 7 and 9.
QUORUM_GUARD_OFF='{"spec": {"unsupportedConfigOverrides": {"useUnsupportedUnsafeNonHANonProductionUnstableEtcd": true}}}'
QUORUM_GUARD_ON='{"spec": {"unsupportedConfigOverrides": null}}'

# host_script_extra_args K: the options the kit passes on to step K's host script.
host_script_extra_args() {
  if ((MOVE_ETCD_EXTRAS)) && [[ ${STEP_KIND[$1]} == restore-etcd ]]; then
    printf ' --move-etcd-extras'
  fi
}

# oc_has_wait_for_stable: the workstation's oc has `oc adm wait-for-stable-cluster`
# (oc 4.10 and later). An older oc prints oc adm's help and exits 0 for
# `oc adm wait-for-stable-cluster --help`, so the subcommand list of `oc adm --help`
# is what tells.
oc_has_wait_for_stable() {
  local help
  help=$(oc adm --help 2>/dev/null) || true
  grep -qE '^[[:space:]]+wait-for-stable-cluster([[:space:]]|$)' <<<"$help"
}

# oc_client_version: the client version oc reports, for messages.
oc_client_version() {
  local v
  v=$(oc version --client 2>/dev/null | sed -n 's/^Client Version: //p' | head -n 1) || true
  printf 'client %s' "${v:-of unknown version}"
}

# check_api_answers: the API answers a read (through the EOF window after the restore).
check_api_answers() {
  if ! oc_try get etcd cluster -o 'jsonpath={.metadata.name}'; then
    POLL_SEEN="oc get etcd cluster: $(first_line "$OC_OUT")"
    return 1
  fi
  POLL_SEEN="the API answers"
}

# step_wait_api K: wait until the restored API answers.
step_wait_api() {
  log "step ${STEP_NUMS[$1]}: wait until the restored API answers (up to $(fmt_dur "${STEP_TIMEOUT[$1]}"))"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get etcd cluster every ${POLL_INTERVAL}s"
    return 0
  fi
  poll_until "${STEP_TIMEOUT[$1]}" "the API to answer (step ${STEP_NUMS[$1]})" \
    "'Unable to connect to the server: EOF' is normal for a few minutes after the restore. Check on the recovery host that etcd and kube-apiserver run (sudo crictl ps --name '^etcd\$'; sudo crictl ps --name '^kube-apiserver\$'), use a certificate-based kubeconfig, then resume." \
    check_api_answers ||
    die_step "$?" "" "step ${STEP_NUMS[$1]}: the API did not come back"
}

# duties_open_now K: record the duties step K opens before it changes anything, so a
# run stopped half-way through it still says they may be open.
duties_open_now() {
  local d
  for d in ${STEP_OPENS[$1]}; do
    if [[ -n $DUTY_DIR ]]; then
      mkdir -p "$DUTY_DIR" && : >"$DUTY_DIR/$d"
    fi
    OPEN_DUTIES="${OPEN_DUTIES// $d / } $d "
  done
}

# patch_etcd PATCH: oc patch etcd/cluster with PATCH (for poll_until).
patch_etcd() {
  if ! oc_try patch etcd/cluster --type=merge -p "$1"; then
    POLL_SEEN="oc patch etcd/cluster failed: $(first_line "$OC_OUT")"
    return 1
  fi
  POLL_SEEN=$(first_line "$OC_OUT")
}

# guard_override: print spec.unsupportedConfigOverrides of etcd/cluster.
guard_override() {
  oc_try get etcd/cluster -o 'jsonpath={.spec.unsupportedConfigOverrides}' || return 1
  printf '%s' "$OC_OUT"
}

# step_quorum_guard_off K: step 7, the quorum guard off.
step_quorum_guard_off() {
  log "step ${STEP_NUMS[$1]}: turn the etcd quorum guard off"
  if ((DRY_RUN)); then
    show_cmd oc patch etcd/cluster --type=merge -p "$QUORUM_GUARD_OFF"
    return 0
  fi
  duties_open_now "$1"
  poll_until "$SINGLE_MEMBER_TIMEOUT" "oc patch etcd/cluster to succeed (step ${STEP_NUMS[$1]})" \
    "oc must answer and the user must be allowed to patch etcd (cluster-admin), then resume." \
    patch_etcd "$QUORUM_GUARD_OFF" ||
    die_step "$?" "" "step ${STEP_NUMS[$1]}: could not turn the quorum guard off"
  log "step ${STEP_NUMS[$1]}: quorum guard off: spec.unsupportedConfigOverrides is $(guard_override || printf 'unreadable')"
}

# step_quorum_guard_on K: step 9, the quorum guard back on, and the override gone.
step_quorum_guard_on() {
  local left
  log "step ${STEP_NUMS[$1]}: turn the etcd quorum guard back on"
  if ((DRY_RUN)); then
    show_cmd oc patch etcd/cluster --type=merge -p "$QUORUM_GUARD_ON"
    return 0
  fi
  poll_until "$SINGLE_MEMBER_TIMEOUT" "oc patch etcd/cluster to succeed (step ${STEP_NUMS[$1]})" \
    "oc must answer and the user must be allowed to patch etcd (cluster-admin), then resume." \
    patch_etcd "$QUORUM_GUARD_ON" ||
    die_step "$?" "" "step ${STEP_NUMS[$1]}: could not turn the quorum guard back on"
  if ! left=$(guard_override); then
    die_step 1 "" "step ${STEP_NUMS[$1]}: cannot read etcd/cluster to check the override is gone: $(first_line "$OC_OUT")"
  fi
  if [[ -n $left ]]; then
    die_step 1 "" "step ${STEP_NUMS[$1]}: etcd/cluster still has spec.unsupportedConfigOverrides $left after the patch"
  fi
  log "step ${STEP_NUMS[$1]}: quorum guard on: etcd/cluster has no unsupportedConfigOverrides"
}

# log_lines PREFIX: each non-empty line of stdin logged with PREFIX, as it comes.
log_lines() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ -n $line ]]; then
      log "$1$line"
    fi
  done
}

# STABLE_SINCE is when check_operators_stable first saw every operator stable (0: not).
STABLE_SINCE=0

# check_operators_stable: every cluster operator Available, not Progressing, not
# Degraded, held for MINIMUM_STABLE_PERIOD (oc get clusteroperators, the fallback of
# wait-for-stable-cluster); POLL_SEEN names the operators not stable yet.
check_operators_stable() {
  local unstable now
  if ! oc_try get clusteroperators; then
    POLL_SEEN="oc get clusteroperators failed: $(first_line "$OC_OUT")"
    STABLE_SINCE=0
    return 1
  fi
  unstable=$(awk 'NR == 1 && $1 == "NAME" { next }
    NF >= 5 && !($3 == "True" && $4 == "False" && $5 == "False") {
      s = ""
      if ($3 != "True") s = s " not Available"
      if ($4 != "False") s = s " Progressing"
      if ($5 != "False") s = s " Degraded"
      printf "%s%s (%s)", (n++ ? ", " : ""), $1, substr(s, 2)
    }' <<<"$OC_OUT")
  now=$(date +%s)
  if [[ -n $unstable ]]; then
    STABLE_SINCE=0
    POLL_SEEN="not stable yet: $unstable"
    return 1
  fi
  if ((STABLE_SINCE == 0)); then
    STABLE_SINCE=$now
  fi
  POLL_SEEN="every cluster operator stable for $(fmt_dur $((now - STABLE_SINCE))) of $(fmt_dur "$MINIMUM_STABLE_PERIOD")"
  ((now - STABLE_SINCE >= MINIMUM_STABLE_PERIOD))
}

# step_wait_stable K: step K (4.18: 8), wait for a stable cluster, with oc adm
# wait-for-stable-cluster when this oc has it, else by polling the operators.
step_wait_stable() {
  local timeout=${STEP_TIMEOUT[$1]} rc=0
  local -a cmd=(oc adm wait-for-stable-cluster "--timeout=${timeout}s" "--minimum-stable-period=${MINIMUM_STABLE_PERIOD}s")
  log "step ${STEP_NUMS[$1]}: wait until every cluster operator is Available, not Progressing, not Degraded for $(fmt_dur "$MINIMUM_STABLE_PERIOD") (up to $(fmt_dur "$timeout"))"
  if oc_has_wait_for_stable; then
    if ((DRY_RUN)); then
      log "DRY-RUN: would run: $(shell_words "${cmd[@]}")"
      return 0
    fi
    log "step ${STEP_NUMS[$1]}: running $(shell_words "${cmd[@]}")"
    "${cmd[@]}" </dev/null 2>&1 | log_lines "  [oc] " || rc=$?
    if ((rc == 0)); then
      log "  ok: every cluster operator is stable"
      return 0
    fi
    check_operators_stable || true
    log "TIMEOUT or failure of oc adm wait-for-stable-cluster (exit $rc) after up to $(fmt_dur "$timeout"); last seen: $POLL_SEEN"
    log "  what to do: look at the operators named (oc get clusteroperators; oc describe clusteroperator <name>) and at oc get pods -n openshift-etcd; when they have settled, resume."
    die_step 3 "" "step ${STEP_NUMS[$1]}: the cluster did not become stable"
  fi
  log "step ${STEP_NUMS[$1]}: this oc ($(oc_client_version)) has no adm wait-for-stable-cluster: polling oc get clusteroperators every ${POLL_INTERVAL}s for the same condition"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get clusteroperators every ${POLL_INTERVAL}s for up to $(fmt_dur "$timeout")"
    return 0
  fi
  STABLE_SINCE=0
  poll_until "$timeout" "every cluster operator stable for $(fmt_dur "$MINIMUM_STABLE_PERIOD") (step ${STEP_NUMS[$1]})" \
    "look at the operators named (oc get clusteroperators; oc describe clusteroperator <name>) and at oc get pods -n openshift-etcd; when they have settled, resume." \
    check_operators_stable ||
    die_step "$?" "" "step ${STEP_NUMS[$1]}: the cluster did not become stable"
}

# --- Steps: the kit's plan --------------------------------------------------------------
# One entry per step, in running order. STEP_IDS[i] names it for --from/--only,
# STEP_NUMS[i] cites procedure/procedure.md, STEP_ALIASES[i] are the procedure numbers
# --from/--only also accept, STEP_CHANGES[i] is 1 when it changes something, STEP_KIND[i]
# is what implements it, STEP_HOSTS[i] the hosts it runs on (indexes, in order),
# STEP_HOW[i] how it goes over them (parallel, serial, recovery-first), STEP_SCRIPT[i]
# the host script it runs there, STEP_AGAIN[i] 1 when that script takes --again,
# STEP_UNINTERRUPTIBLE[i] 1 when a started run is never cut off (a re-run waits for it),
# STEP_TIMEOUT[i] bounds its waits (seconds), STEP_RESOURCE[i] the operator it patches,
# STEP_MANUAL[i] 1 for a troubleshooting step only --only runs, STEP_OPENS[i] and
# STEP_CLOSES[i] the duties it leaves open or finishes.
STEP_IDS=(verify-single-member redeploy-etcd redeploy-kubeapiserver redeploy-kubecontrollermanager redeploy-kubescheduler verify-members)
STEP_NUMS=(9.2 10-11 12.1 12.2 12.3 13)
STEP_ALIASES=('9 9.1 9.2' '10 11' 12.1 12.2 12.3 13)
STEP_TITLES=(
  'verify the single-member control plane: etcd running on the recovery host, one Running etcd pod'
  'force a new etcd rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'force a new kubeapiserver rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'force a new kubecontrollermanager rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'force a new kubescheduler rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'verify every master has joined: one Running etcd pod per master'
)
STEP_CHANGES=(0 1 1 1 1 0)
STEP_KIND=(verify-single-member redeploy redeploy redeploy redeploy verify-members)
STEP_TIMEOUT=(1200 3600 3600 1800 1800 1200)
STEP_RESOURCE=('' etcd kubeapiserver kubecontrollermanager kubescheduler '')
STEP_MANUAL=(0 0 0 0 0 0)
STEP_OPENS=('' '' '' '' '' '')
STEP_CLOSES=('' '' '' '' '' '')
# The duties a step can leave open: what is still undone, and how to finish it by hand.
DUTY_NAMES=()
DUTY_OPEN=()
DUTY_FIX=()
# DUTY_DIR, when set, keeps the open duties across runs (a file per duty); without it
# OPEN_DUTIES holds those this run opened.
DUTY_DIR=""
OPEN_DUTIES=" "

# duties_after K: records the duties step K opened or finished, once it is done.
duties_after() {
  local d
  for d in ${STEP_OPENS[$1]}; do
    if [[ -n $DUTY_DIR ]]; then
      mkdir -p "$DUTY_DIR" && : >"$DUTY_DIR/$d"
    fi
    OPEN_DUTIES="${OPEN_DUTIES// $d / } $d "
  done
  for d in ${STEP_CLOSES[$1]}; do
    if [[ -n $DUTY_DIR ]]; then
      rm -f "$DUTY_DIR/$d"
    fi
    OPEN_DUTIES=${OPEN_DUTIES// $d / }
  done
}

# report_open_duties: the last lines of a run that stops with a duty still open say
# what is undone and how to finish it.
report_open_duties() {
  local j
  for ((j = 0; j < ${#DUTY_NAMES[@]}; j++)); do
    if [[ $OPEN_DUTIES == *" ${DUTY_NAMES[j]} "* || (-n $DUTY_DIR && -f $DUTY_DIR/${DUTY_NAMES[j]}) ]]; then
      log "STILL OPEN: ${DUTY_OPEN[j]}. A resumed run finishes it; by hand: ${DUTY_FIX[j]}"
    fi
  done
}

# dispatch_step K: runs what implements step K's kind.
dispatch_step() {
  case ${STEP_KIND[$1]} in
  verify-single-member) step_verify_single_member "$1" ;;
  redeploy) step_redeploy "$1" ;;
  verify-members) step_verify_members "$1" ;;
  *) die_step 1 "" "step ${STEP_NUMS[$1]}: this kit has no implementation of ${STEP_KIND[$1]} (a kit bug)" ;;
  esac
}

# step_verify_single_member K: the oc part of the check (9.2); restart-kubelet.sh checked
# the recovery host's etcd container (9.1).
step_verify_single_member() {
  step_single_member_oc
}

FROM=""
WAIT_ONLY=0
LIST=0
CURRENT=0
# CURRENT_INDEX is the index of the step running now.
CURRENT_INDEX=0

usage() {
  cat <<EOF
Usage: ./redeploy.sh [--yes] [--dry-run] [--from STEP [--wait-only]] [--list] [--help]

Finishes the restore of cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION) with oc only:
procedure/procedure.md steps ${STEP_NUMS[0]} to ${STEP_NUMS[${#STEP_NUMS[@]} - 1]} (./redeploy.sh --list). Run it once
every host script of the RUNBOOK has run (the recovery host is $RECOVERY_HOST).

  --yes        do not ask before the first forced redeployment
  --dry-run    print the commands, run nothing
  --from STEP  start at STEP (e.g. after a rollout timed out): its name or its
               procedure number from --list, or the resource a redeploy step patches
  --wait-only  with --from a redeploy step: do not patch its operator again, wait
               for the rollout of its newest revision (after that wait timed out);
               the later steps run as usual
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
  printf '%-32s %-14s %s\n' STEP PROCEDURE WHAT
  for ((k = 0; k < ${#STEP_IDS[@]}; k++)); do
    printf '%-32s %-14s %s\n' "${STEP_IDS[k]}" "step ${STEP_NUMS[k]}" "${STEP_TITLES[k]}"
  done
}

parse_args() {
  while (($#)); do
    case $1 in
    -y | --yes) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --list) LIST=1 ;;
    --wait-only) WAIT_ONLY=1 ;;
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

# first_step: the index of the step --from names (an id, a procedure number, or the
# resource a redeploy step patches), 0 without --from.
first_step() {
  local k a
  if [[ -z $FROM ]]; then
    printf '0'
    return 0
  fi
  for ((k = 0; k < ${#STEP_IDS[@]}; k++)); do
    for a in "${STEP_IDS[k]}" "${STEP_NUMS[k]}" ${STEP_ALIASES[k]} ${STEP_RESOURCE[k]}; do
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
    if ((STEP_CHANGES[k] && ! STEP_MANUAL[k])); then
      log "  step ${STEP_NUMS[k]} (${STEP_IDS[k]}): ${STEP_TITLES[k]}$( ((STEP_TIMEOUT[k])) && printf ' (up to %s)' "$(fmt_dur "${STEP_TIMEOUT[k]}")")"
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
    if ((rc == 3)) && [[ ${STEP_KIND[CURRENT_INDEX]} == redeploy ]]; then
      log "or, to wait for the rollout already started without patching again:"
      log "  $(shell_words "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/redeploy.sh" --from "$CURRENT_STEP_NUM" --wait-only)"
    fi
  fi
  # Last, so that it is what a person reads: what is still undone.
  report_open_duties
  exit "$rc"
}

main() {
  local k start confirmed=0
  local -a took=()
  # It runs after the restore: its waits watch the masters' nodes and CSRs too.
  NODE_WATCH=1
  parse_args "$@"
  if ((LIST)); then
    list_steps
    exit 0
  fi
  CURRENT=$(first_step) || die_usage "--from $FROM: no such step (./redeploy.sh --list shows them)"
  if ((WAIT_ONLY)); then
    if [[ -z $FROM ]]; then
      die_usage "--wait-only needs --from STEP: the redeploy step whose rollout to wait for"
    fi
    if [[ ${STEP_KIND[CURRENT]} != redeploy ]]; then
      die_usage "--wait-only: step ${STEP_NUMS[CURRENT]} (${STEP_IDS[CURRENT]}) patches nothing; run --from ${STEP_NUMS[CURRENT]} without --wait-only"
    fi
    REDEPLOY_WAIT_ONLY=$CURRENT
  fi
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
    if ((STEP_MANUAL[k])); then
      continue
    fi
    if ((STEP_CHANGES[k])) && ((! confirmed)); then
      confirm
      confirmed=1
    fi
    CURRENT_STEP=${STEP_NUMS[k]}
    CURRENT_STEP_NUM=${STEP_NUMS[k]}
    CURRENT_INDEX=$k
    log "==> step ${STEP_NUMS[k]}"
    took[k]=$(date +%s)
    dispatch_step "$k"
    if ((! DRY_RUN)); then
      duties_after "$k"
    fi
    took[k]=$(($(date +%s) - took[k]))
    log "<== step ${STEP_NUMS[k]}: done in $(fmt_dur "${took[k]}")"
    CURRENT_STEP=""
  done
  log "SUMMARY for cluster $CLUSTER_NAME (total $(fmt_dur $(($(date +%s) - start)))):"
  for ((k = CURRENT; k < ${#STEP_NUMS[@]}; k++)); do
    if ((STEP_MANUAL[k])); then
      continue
    fi
    log "  step ${STEP_NUMS[k]}: $(fmt_dur "${took[k]}")"
  done
  if ((DRY_RUN)); then
    log "dry run: nothing was changed"
  else
    log "every master has a Running etcd member. It can take several minutes more for every service to come back (oc login works once the OAuth server pods have restarted): watch oc get clusteroperators."
  fi
}

main "$@"
