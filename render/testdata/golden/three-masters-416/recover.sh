#!/usr/bin/env bash
set -euo pipefail
# recover.sh: the coordinator of this recovery kit.
#
# It restores the cluster's control plane from the etcd backup by running the steps of
# procedure/procedure-4.16.md ("Restoring to a previous cluster state") in order, from a workstation or
# bastion that has bash, ssh, scp and oc:
#   preflight (P1-P5, 1, 2)  tools, kit checksums, oc access, version, proxy, ssh to every
#                            master; persistent ssh connections are opened here
#   copy-backup (3)          the backup pair to the recovery host, verified there
#   push-scripts (3)         each host's scripts to restorekit/<kit>/ on every master
#   stop-static-pods (4)     on every other master, in parallel
#   restore (5-7)            on the recovery host (cluster-restore.sh)
#   restart-kubelet (8)      recovery host first, then the others in parallel
#   verify-single-member (9) crictl on the recovery host, then oc
#   redeploy-* (10-12)       forced redeployment of each operator, one at a time
#   verify-members (13)      one Running etcd pod per master
# ./recover.sh --list shows the steps, --help the options, the hosts and the exit codes.
# Every step is logged with its procedure/procedure-4.16.md number. Progress is kept in a state
# directory: a re-run resumes at the step that failed.
#
# Exit codes: 0 done, 1 a step failed, 2 usage error or refused (no confirmation),
# 3 a wait timed out, 130 interrupted (143 on SIGTERM).

# --- This cluster (from the kit's inventory) ------------------------------------------
CLUSTER_NAME=ocp416
CLUSTER_VERSION=4.16.21
KIT_NAME=ocp416-recovery-kit
PROFILE_NAME=ocp-4.16
TOOL_VERSION=test
RECOVERY_HOST=master-0.ocp416.example.com
# Node names of every master, in inventory order (step 13 wants one etcd pod for each).
MASTER_NAMES=(master-0.ocp416.example.com master-1.ocp416.example.com master-2.ocp416.example.com)

# --- Waits (seconds) ------------------------------------------------------------------
POLL_INTERVAL=10
SINGLE_MEMBER_TIMEOUT=1200
# The number the check of one Running etcd pod cites ('' without that step).
readonly SINGLE_MEMBER_NUM=12

# --- Masters and how to reach them (procedure steps 1-2) ---------------------------------
# HOST_HOSTNAME is what `hostname` must print there; HOST_SHORTNAME is also accepted when
# set (the first label of a fully qualified hostname no other master shares).
# HOST_SCRIPTS are the kit scripts the host gets (hosts/<node>/ in the kit). How ssh
# reaches each one (identity, known hosts) is in the kit's ssh_config; the connect
# timeout is there too and repeated on each command line (lint sees every ssh bounded).
HOST_NAME=()
HOST_ADDRESS=()
HOST_HOSTNAME=()
HOST_SHORTNAME=()
HOST_USER=()
HOST_PORT=()
HOST_CONNECT_TIMEOUT=()
HOST_JUMP=()
HOST_SCRIPTS=()
# master 0 (the recovery host)
HOST_NAME[0]=master-0.ocp416.example.com
HOST_ADDRESS[0]=192.168.111.20
HOST_HOSTNAME[0]=master-0.ocp416.example.com
HOST_SHORTNAME[0]=master-0
HOST_USER[0]=core
HOST_PORT[0]=22
HOST_CONNECT_TIMEOUT[0]=10
HOST_JUMP[0]=''
HOST_SCRIPTS[0]='05-check-api-vip.sh 07-restore.sh 09-repair-node.sh 10-restart-kubelet.sh 14-ovn-node.sh 16-force-redeploy-on-host.sh 24-reboot-node.sh'
# master 1
HOST_NAME[1]=master-1.ocp416.example.com
HOST_ADDRESS[1]=192.168.111.21
HOST_HOSTNAME[1]=master-1.ocp416.example.com
HOST_SHORTNAME[1]=master-1
HOST_USER[1]=core
HOST_PORT[1]=22
HOST_CONNECT_TIMEOUT[1]=10
HOST_JUMP[1]=''
HOST_SCRIPTS[1]='04-stop-static-pods.sh 04.k-stop-keepalived.sh 09-repair-node.sh 10-restart-kubelet.sh 14-ovn-node.sh 22-restore-keepalived.sh 24-reboot-node.sh'
# master 2
HOST_NAME[2]=master-2.ocp416.example.com
HOST_ADDRESS[2]=192.168.111.22
HOST_HOSTNAME[2]=master-2.ocp416.example.com
HOST_SHORTNAME[2]=master-2
HOST_USER[2]=core
HOST_PORT[2]=22
HOST_CONNECT_TIMEOUT[2]=10
HOST_JUMP[2]=''
HOST_SCRIPTS[2]='04-stop-static-pods.sh 04.k-stop-keepalived.sh 09-repair-node.sh 10-restart-kubelet.sh 14-ovn-node.sh 22-restore-keepalived.sh 24-reboot-node.sh'
# worker 3
HOST_NAME[3]=worker-0.ocp416.example.com
HOST_ADDRESS[3]=192.168.111.30
HOST_HOSTNAME[3]=worker-0.ocp416.example.com
HOST_SHORTNAME[3]=worker-0
HOST_USER[3]=core
HOST_PORT[3]=22
HOST_CONNECT_TIMEOUT[3]=10
HOST_JUMP[3]=''
HOST_SCRIPTS[3]='09-repair-node.sh 14-ovn-node.sh 24-reboot-node.sh'
# worker 4
HOST_NAME[4]=worker-1.ocp416.example.com
HOST_ADDRESS[4]=192.168.111.31
HOST_HOSTNAME[4]=worker-1.ocp416.example.com
HOST_SHORTNAME[4]=worker-1
HOST_USER[4]=core
HOST_PORT[4]=22
HOST_CONNECT_TIMEOUT[4]=10
HOST_JUMP[4]=''
HOST_SCRIPTS[4]='09-repair-node.sh 14-ovn-node.sh 24-reboot-node.sh'
# The jump hosts, each tested alone before the masters behind it: as the inventory
# writes it ([user@]host[:port]), its parts, and the connect timeout.
JUMP_SPEC=()
JUMP_USER=()
JUMP_ADDR=()
JUMP_PORT=()
JUMP_TIMEOUT=()
# RECOVERY_INDEX is the recovery host; OTHER_INDEXES the others, in inventory order.
RECOVERY_INDEX=0
OTHER_INDEXES=(1 2)

# --- The backup pair (P5, step 3) ---------------------------------------------------------
# Sizes and sha256 are empty when the kit was built without the backup at hand.
BACKUP_REMOTE_DIR=/home/core/backup
BACKUP_NAMES=(snapshot_2025-09-15_031500.db static_kuberesources_2025-09-15_031500.tar.gz)
BACKUP_SIZES=(28704 420)
BACKUP_SHA256=(3f722069a8ca739e8934268dc6bfe8eda1dca8b3fc6dec926a7c952f81f2d11d 720068880bf0343b4dc220f4fe3340095c2beb024c60c86b6f34394fff0bd655)

# --- The cluster-wide proxy (step 6), as the inventory records it --------------------------
PROXY_HTTP=''
PROXY_HTTPS=''
PROXY_NO=''
QUARANTINE_DIR=/var/lib/restorekit

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

# The preflight's options: the release's scripts every control-plane host must have
# (in PREFLIGHT_BIN), what the recovery host's etcd data directory may hold (shell
# patterns; empty: not checked), and 1 when oc's wait-for-stable-cluster is looked for.
PREFLIGHT_BIN=/usr/local/bin
PREFLIGHT_HOST_TOOLS=()
PREFLIGHT_ETCD_DIR_ALLOWED=()
PREFLIGHT_STABLE_COMMAND=0
ETCD_DATA_DIR=/var/lib/etcd
# 1 when the restore can move what else is in the etcd data directory into its run
# directory (restore-etcd.sh --move-etcd-extras); the 4.5 restore.sh cannot.
PREFLIGHT_EXTRAS_MOVABLE=0
# preflight_profile_checks: what the preflight step's options ask for, read only.
preflight_profile_checks() {
  local i t cmd missing entries name pattern extra
  if ((${#PREFLIGHT_HOST_TOOLS[@]} > 0)); then
    log "P3: the release's scripts on every control-plane host: ${PREFLIGHT_HOST_TOOLS[*]} in $PREFLIGHT_BIN"
    for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
      cmd=""
      for t in "${PREFLIGHT_HOST_TOOLS[@]}"; do
        printf -v cmd '%s[ -x %q ] || echo %q; ' "$cmd" "$PREFLIGHT_BIN/$t" "$PREFLIGHT_BIN/$t"
      done
      if ! host_out "$i" "$cmd"; then
        continue # check_host reported an unreachable host
      fi
      missing=$(tr '\n' ' ' <<<"$HOST_OUT" | sed 's/ *$//')
      if [[ -n $missing ]]; then
        problem "P3: ${HOST_NAME[i]} has no $missing: the etcd operator installs it on OpenShift 4.18 and later; is this host at $CLUSTER_VERSION?"
      else
        log "  P3: ${HOST_NAME[i]}: ${PREFLIGHT_HOST_TOOLS[*]} present"
      fi
    done
  fi
  if ((${#PREFLIGHT_ETCD_DIR_ALLOWED[@]} > 0)); then
    log "P3: $ETCD_DATA_DIR on the recovery host $RECOVERY_HOST holds nothing but ${PREFLIGHT_ETCD_DIR_ALLOWED[*]}"
    printf -v cmd 'sudo -n ls -1A -- %q' "$ETCD_DATA_DIR"
    if ! host_out "$RECOVERY_INDEX" "$cmd"; then
      problem "P3: cannot list $ETCD_DATA_DIR on $RECOVERY_HOST: ${HOST_ERR:-failed}"
    else
      entries=$HOST_OUT
      extra=""
      while IFS= read -r name; do
        if [[ -z $name ]]; then
          continue
        fi
        for pattern in "${PREFLIGHT_ETCD_DIR_ALLOWED[@]}"; do
          if [[ $name == "$pattern" || ($pattern == *"*" && $name == "${pattern%"*"}"*) ]]; then
            continue 2
          fi
        done
        extra+="${extra:+, }$ETCD_DATA_DIR/$name"
      done <<<"$entries"
      if [[ -z $extra ]]; then
        log "  P3: $ETCD_DATA_DIR on $RECOVERY_HOST: $(tr '\n' ' ' <<<"$entries" | sed 's/ *$//')"
      elif ((MOVE_ETCD_EXTRAS && PREFLIGHT_EXTRAS_MOVABLE)); then
        log "  P3: $ETCD_DATA_DIR on $RECOVERY_HOST also holds $extra: the restore moves it into its run directory (--move-etcd-extras)"
      elif ((PREFLIGHT_EXTRAS_MOVABLE)); then
        problem "P3: $ETCD_DATA_DIR on $RECOVERY_HOST also holds $extra: cluster-restore.sh would stop with \"folder $ETCD_DATA_DIR is not empty\" after etcd is already down. Look at it and move it away, or re-run with --move-etcd-extras to have the restore move it into its run directory"
      else
        problem "P3: $ETCD_DATA_DIR on $RECOVERY_HOST must hold nothing but ${PREFLIGHT_ETCD_DIR_ALLOWED[*]}, but it also holds $extra: the restore etcd pod refuses to start on it once cluster-restore.sh has moved member/ away, with the control plane already down (an interrupted earlier restore leaves a restore-<id> directory). Look at it and move it out of $ETCD_DATA_DIR (e.g. into $QUARANTINE_DIR), then re-run"
      fi
    fi
  fi
  if ((PREFLIGHT_STABLE_COMMAND)); then
    if oc_has_wait_for_stable; then
      log "  step ${STABLE_STEP}: this oc has adm wait-for-stable-cluster"
    else
      log "  step ${STABLE_STEP}: this oc ($(oc_client_version)) has no adm wait-for-stable-cluster: the kit polls oc get clusteroperators for the same condition instead"
    fi
  fi
}
# --- Kinds that look at the nodes (procedure/procedure-4.16.md) ---------------------------
# NODE_NAMES are every node of the inventory (masters, then workers): the only nodes
# whose CSRs the kit approves.
NODE_NAMES=(master-0.ocp416.example.com master-1.ocp416.example.com master-2.ocp416.example.com worker-0.ocp416.example.com worker-1.ocp416.example.com)
# ONLY_NODES are the nodes named after --only STEP (recover.sh --only repair-nodes NODE).
ONLY_NODES=()
# The CSR signers and the requester of the kubelets' client CSRs.
SIGNER_CLIENT=kubernetes.io/kube-apiserver-client-kubelet
SIGNER_SERVING=kubernetes.io/kubelet-serving
NODE_BOOTSTRAPPER=system:serviceaccount:openshift-machine-config-operator:node-bootstrapper

# host_index NODE: the index of host NODE in HOST_NAME.
host_index() {
  local i
  for i in "${!HOST_NAME[@]}"; do
    if [[ ${HOST_NAME[i]} == "$1" ]]; then
      printf '%s' "$i"
      return 0
    fi
  done
  return 1
}

# kind_step KIND: the index of the plan's first step of KIND.
kind_step() {
  local k
  for k in "${!STEP_KIND[@]}"; do
    if [[ ${STEP_KIND[k]} == "$1" ]]; then
      printf '%s' "$k"
      return 0
    fi
  done
  return 1
}

# host_rc_text RC: what a host script's exit code means.
host_rc_text() {
  case $1 in
  255) printf 'ssh failed (exit 255): the host or the connection is gone' ;;
  3) printf 'a wait timed out (exit 3)' ;;
  2) printf 'refused (exit 2): wrong host, not root or not confirmed' ;;
  *) printf 'failed (exit %s)' "$1" ;;
  esac
}

# run_host_on K I: runs step K's host script on host I now, its output prefixed and
# logged as run_hosts does, and returns its exit code (255: ssh failed or the session
# ended). What comes of it is the caller's: the orchestrated kinds, which decide at
# run time on which hosts their script runs, call it.
run_host_on() {
  local k=$1 i=$2 cmd rc=0 pid
  cmd=$(host_script_cmd "$k")
  if ((DRY_RUN)); then
    host_ssh_cmd "$k" "$i"
    show_cmd "${SSH_CMD[@]}" "$SSH_TARGET" "$cmd"
    return 0
  fi
  log "[${HOST_NAME[i]}] running $cmd (output in $STATE_DIR/hosts/${HOST_NAME[i]}.log)"
  printf '\n=== %s %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$cmd" >>"$STATE_DIR/hosts/${HOST_NAME[i]}.log"
  HOST_SCRIPTS_RAN=1
  set -m
  run_host_script "$k" "$i" &
  pid=$!
  set +m
  BG_PIDS+=("$pid")
  wait "$pid" || rc=$?
  BG_PIDS=()
  return "$rc"
}

# run_host_or_die K I: run_host_on, and the step stops naming the host when it fails.
run_host_or_die() {
  local rc=0
  run_host_on "$1" "$2" || rc=$?
  if ((rc != 0)); then
    die_step "$((rc == 3 ? 3 : 1))" "${HOST_NAME[$2]}" "step ${STEP_NUMS[$1]}: ${STEP_SCRIPT[$1]} on ${HOST_NAME[$2]}: $(host_rc_text "$rc"); its output is above and in $STATE_DIR/hosts/${HOST_NAME[$2]}.log"
  fi
  : >"$STATE_DIR/done/${STEP_IDS[$1]}@${HOST_NAME[$2]}"
}

# NODE_STATES is "NAME STATUS" per node oc lists (STATUS of its Ready condition).
NODE_STATES=""
# read_node_states: oc get nodes into NODE_STATES.
read_node_states() {
  if ! oc_try get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'; then
    POLL_SEEN="oc get nodes: $(first_line "$OC_OUT")"
    return 1
  fi
  NODE_STATES=$OC_OUT
}

# node_state NODE: its Ready status in NODE_STATES (True, False, Unknown), or absent.
node_state() {
  local st
  st=$(awk -v n="$1" '$1 == n { print ($2 == "" ? "Unknown" : $2); f = 1 } END { if (!f) print "absent" }' <<<"$NODE_STATES")
  printf '%s' "$st"
}

# not_ready NODE...: the nodes of NODE... that are not Ready in NODE_STATES.
not_ready() {
  local n out=""
  for n in "$@"; do
    if [[ $(node_state "$n") != True ]]; then
      out+="${out:+ }$n"
    fi
  done
  printf '%s' "$out"
}

# nodes_ready NODE...: every NODE is Ready (for poll_until).
nodes_ready() {
  local bad
  read_node_states || return 1
  bad=$(not_ready "$@")
  if [[ -n $bad ]]; then
    POLL_SEEN="not Ready yet: $bad"
    return 1
  fi
  POLL_SEEN="Ready: $*"
}

# csr_verdict SIGNER USER CN NODE...: "approve NODE" when the CSR is a kubelet CSR of
# one of NODE... (a client CSR the node-bootstrapper or the node itself requested for
# system:node:<node>, or a serving CSR the node requested for itself), else "leave WHY".
csr_verdict() {
  local signer=$1 user=$2 cn=$3 node
  shift 3
  if [[ $signer != "$SIGNER_CLIENT" && $signer != "$SIGNER_SERVING" ]]; then
    printf 'leave signer %s is not a kubelet signer' "${signer:-(none)}"
    return 0
  fi
  if [[ $cn != system:node:* ]]; then
    printf 'leave its subject is %s, not system:node:<node>' "${cn:-unreadable (oc describe csr)}"
    return 0
  fi
  node=${cn#system:node:}
  if [[ " ${NODE_NAMES[*]} " != *" $node "* ]]; then
    printf 'leave %s is not a node of this cluster (the inventory)' "$node"
    return 0
  fi
  if [[ " $* " != *" $node "* ]]; then
    printf 'leave for %s, which this step does not repair' "$node"
    return 0
  fi
  if [[ $signer == "$SIGNER_CLIENT" && ($user == "$NODE_BOOTSTRAPPER" || $user == "system:node:$node") ]] ||
    [[ $signer == "$SIGNER_SERVING" && $user == "system:node:$node" ]]; then
    printf 'approve %s' "$node"
    return 0
  fi
  printf 'leave requested by %s, who may not ask for %s' "$user" "$cn"
}

# CSR_APPROVED lists what this step approved ("NAME (node, signer)"); CSR_LEFT the
# other pending CSRs, with why; CSR_MINE the own nodes' CSRs still pending.
CSR_APPROVED=""
CSR_LEFT=""
CSR_MINE=""
# approve_node_csrs NODE...: one look at the pending CSRs: those of NODE... approved,
# every other one listed (once) and left pending. Returns 1 when oc does not answer.
approve_node_csrs() {
  local name signer user conds cn verdict line
  CSR_MINE=""
  if ! oc_try get csr -o 'jsonpath={range .items[*]}{.metadata.name}{"|"}{.spec.signerName}{"|"}{.spec.username}{"|"}{.status.conditions[*].type}{"\n"}{end}'; then
    POLL_SEEN="oc get csr: $(first_line "$OC_OUT")"
    return 1
  fi
  while IFS='|' read -r name signer user conds; do
    if [[ -z $name || -n $conds ]]; then
      continue # approved or denied already
    fi
    cn=$(csr_common_name "$name") || cn=""
    verdict=$(csr_verdict "$signer" "$user" "$cn" "$@")
    case $verdict in
    approve*)
      line="$name (${verdict#approve }, $signer, requested by $user)"
      if ((DRY_RUN)); then
        show_cmd oc adm certificate approve "$name"
        continue
      fi
      if oc_try adm certificate approve "$name"; then
        log "  approved $line"
        CSR_APPROVED+="${CSR_APPROVED:+; }$line"
      else
        log "  could not approve $name: $(first_line "$OC_OUT")"
        CSR_MINE+="${CSR_MINE:+, }$name"
      fi
      ;;
    *)
      line="$name (requested by ${user:-?}, signer ${signer:-?}, ${cn:-subject unreadable}): ${verdict#leave }"
      if [[ $CSR_LEFT != *"$name ("* ]]; then
        log "  left pending: $line"
        CSR_LEFT+="${CSR_LEFT:+; }$line"
      fi
      ;;
    esac
  done <<<"$OC_OUT"
}

# nodes_ready_approving NODE...: approve NODE...'s pending CSRs, then every NODE is
# Ready and none of their CSRs is pending (for poll_until: a node's serving CSR follows
# its client CSR once that is approved).
nodes_ready_approving() {
  approve_node_csrs "$@" || return 1
  nodes_ready "$@" || return 1
  approve_node_csrs "$@" || return 1
  if [[ -n $CSR_MINE ]]; then
    POLL_SEEN="Ready, but not approved yet: $CSR_MINE"
    return 1
  fi
  POLL_SEEN="Ready: $*; no CSR of theirs pending"
}

# report_csrs STEP: what the step approved and what it left.
report_csrs() {
  log "step $1: approved: ${CSR_APPROVED:-none}"
  log "step $1: other pending CSRs, left pending: ${CSR_LEFT:-none}"
}

# wait_nodes_approving K TIMEOUT NODE...: approve the nodes' CSRs until they are Ready.
wait_nodes_approving() {
  local k=$1 timeout=$2 NODE_WATCH=0 rc=0
  shift 2
  if ((DRY_RUN)); then
    approve_node_csrs "$@" || true
    log "DRY-RUN: would approve the pending CSRs of $* until they are Ready (up to $(fmt_dur "$timeout"))"
    return 0
  fi
  poll_until "$timeout" "$* Ready, their CSRs approved (step ${STEP_NUMS[k]})" \
    "a node that stays NotReady without a CSR: its kubelet still has its old certificates (run ./recover.sh --only repair-nodes NODE, or move the PEM files of /var/lib/kubelet/pki aside there and restart kubelet); look at oc get csr and oc describe node NODE, then resume." \
    nodes_ready_approving "$@" || rc=$?
  report_csrs "${STEP_NUMS[k]}"
  if ((rc != 0)); then
    die_step "$rc" "$(not_ready "$@")" "step ${STEP_NUMS[k]}: not Ready: $(not_ready "$@")${CSR_MINE:+; pending CSRs of theirs: $CSR_MINE}"
  fi
}

# step_repair_node K: step 9: the nodes that stay NotReady (or those named after
# --only) get the host script (their kubelet's PEM files moved into the run directory,
# kubelet restarted), one at a time; Ready nodes are left alone.
step_repair_node() {
  local k=$1 i n timeout=${STEP_TIMEOUT[$1]} NODE_WATCH=0 seen=0 start
  local -a hosts=() names=() targets=()
  read -r -a hosts <<<"${STEP_HOSTS[k]}"
  for i in "${hosts[@]}"; do
    names+=("${HOST_NAME[i]}")
  done
  if ((${#ONLY_NODES[@]} > 0)); then
    for n in "${ONLY_NODES[@]}"; do
      if [[ " ${names[*]} " != *" $n "* ]]; then
        die_usage "--only ${STEP_IDS[k]} $n: $n is not one of this step's nodes: ${names[*]}"
      fi
      targets+=("$(host_index "$n")")
    done
    log "step ${STEP_NUMS[k]}: repairing the node(s) named: ${ONLY_NODES[*]}"
  else
    log "step ${STEP_NUMS[k]}: watching the nodes for up to $(fmt_dur "$timeout"): ${names[*]}"
    if ((DRY_RUN)); then
      log "DRY-RUN: would poll oc get nodes every ${POLL_INTERVAL}s and run ${STEP_SCRIPT[k]} on each node still NotReady"
      return 0
    fi
    start=$(date +%s)
    while :; do
      if read_node_states; then
        seen=1
        if [[ -z $(not_ready "${names[@]}") ]]; then
          break
        fi
      fi
      if (($(date +%s) - start >= timeout)); then
        break
      fi
      sleep "$POLL_INTERVAL"
    done
    if ((! seen)); then
      die_step 3 "" "step ${STEP_NUMS[k]}: the API did not answer in $(fmt_dur "$timeout") ($POLL_SEEN): cannot tell which nodes are NotReady. Check that etcd and kube-apiserver run on $RECOVERY_HOST, then resume."
    fi
    for n in $(not_ready "${names[@]}"); do
      targets+=("$(host_index "$n")")
    done
    if ((${#targets[@]} == 0)); then
      log "step ${STEP_NUMS[k]}: every node is Ready: nothing to repair"
      return 0
    fi
    log "step ${STEP_NUMS[k]}: still NotReady after $(fmt_dur "$timeout"): $(host_list "${targets[@]}")"
  fi
  for i in "${targets[@]}"; do
    log "step ${STEP_NUMS[k]}: ${HOST_NAME[i]}: moving its kubelet's PEM files into the run directory and restarting kubelet"
    run_host_or_die "$k" "$i"
  done
  log "step ${STEP_NUMS[k]}: repaired: $(host_list "${targets[@]}"); their CSRs are approved in a later step"
}

# step_approve_csrs K: step 11: approve the pending CSRs of the cluster's own nodes
# only, until every node is Ready; every other pending CSR is listed and left.
step_approve_csrs() {
  log "step ${STEP_NUMS[$1]}: approve the pending CSRs of ${NODE_NAMES[*]} (only), until every node is Ready (up to $(fmt_dur "${STEP_TIMEOUT[$1]}"))"
  CSR_APPROVED=""
  CSR_LEFT=""
  wait_nodes_approving "$1" "${STEP_TIMEOUT[$1]}" "${NODE_NAMES[@]}"
}

OVN_NAMESPACE=openshift-ovn-kubernetes
# OVN_OLD_PODS are the pod names a delete replaces.
OVN_OLD_PODS=""
# ovn_pods_running SELECTOR COUNT [FIELD]: COUNT pods of SELECTOR (on the node FIELD
# names) Running and ready, none Terminating, none of OVN_OLD_PODS left.
ovn_pods_running() {
  local -a args=(-n "$OVN_NAMESPACE" get pods -l "$1" --no-headers)
  local rows running others old="" name
  if [[ -n ${3:-} ]]; then
    args+=("--field-selector=spec.nodeName==$3")
  fi
  if ! oc_try "${args[@]}"; then
    POLL_SEEN="oc get pods -l $1: $(first_line "$OC_OUT")"
    return 1
  fi
  rows=$(grep -v '^No resources' <<<"$OC_OUT" || true)
  running=$(awk '$3 == "Running" { split($2, r, "/"); if (r[1] == r[2]) n++ } END { print n + 0 }' <<<"$rows")
  others=$(awk 'NF { split($2, r, "/"); if ($3 != "Running" || r[1] != r[2]) printf "%s%s %s %s", (n++ ? ", " : ""), $1, $3, $2 }' <<<"$rows")
  for name in $OVN_OLD_PODS; do
    if grep -q "^$name " <<<"$rows"; then
      old+="${old:+ }$name"
    fi
  done
  POLL_SEEN="$running of $2 Running${others:+; also $others}${old:+; not replaced yet: $old}"
  ((running == $2)) && [[ -z $others && -z $old ]]
}

# step_ovn_control_plane K: step 13: replace the ovnkube-control-plane pods.
step_ovn_control_plane() {
  local k=$1 sel=app=ovnkube-control-plane
  log "step ${STEP_NUMS[k]}: delete the $sel pods in $OVN_NAMESPACE, then wait until ${#MASTER_NAMES[@]} new ones run (up to $(fmt_dur "${STEP_TIMEOUT[k]}"))"
  if ((DRY_RUN)); then
    show_cmd oc -n "$OVN_NAMESPACE" delete pod -l "$sel" --wait=false
    return 0
  fi
  OVN_OLD_PODS=""
  if oc_try -n "$OVN_NAMESPACE" get pods -l "$sel" -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}'; then
    OVN_OLD_PODS=$(tr '\n' ' ' <<<"$OC_OUT")
  fi
  if ! oc_try -n "$OVN_NAMESPACE" delete pod -l "$sel" --wait=false; then
    die_step 1 "" "step ${STEP_NUMS[k]}: oc delete pod -l $sel failed: $(first_line "$OC_OUT")"
  fi
  log_lines "  [oc] " <<<"$OC_OUT"
  poll_until "${STEP_TIMEOUT[k]}" "${#MASTER_NAMES[@]} new $sel pods Running (step ${STEP_NUMS[k]})" \
    "look at oc -n $OVN_NAMESPACE get pods -l $sel -o wide and oc -n $OVN_NAMESPACE describe pod NAME; an admission webhook with failurePolicy Fail can block new pods; then resume." \
    ovn_pods_running "$sel" "${#MASTER_NAMES[@]}" ||
    die_step "$?" "" "step ${STEP_NUMS[k]}: the $sel pods did not come back"
}

# ovn_node_pod NODE: sets OVN_POD_ROWS to the ovnkube-node pod rows of NODE.
OVN_POD_ROWS=""
ovn_node_pod() {
  if ! oc_try -n "$OVN_NAMESPACE" get pods -l app=ovnkube-node "--field-selector=spec.nodeName==$1" --no-headers; then
    POLL_SEEN="oc get pods: $(first_line "$OC_OUT")"
    return 1
  fi
  OVN_POD_ROWS=$(grep -v '^No resources' <<<"$OC_OUT" || true)
}

# OVN_STUCK_SINCE is when a Terminating pod was first seen on the node (0: not).
OVN_STUCK_SINCE=0
# ovn_node_replaced NODE STUCK_AFTER: its new ovnkube-node pod runs (0); 4 when a pod
# has been Terminating for STUCK_AFTER seconds (14.d is needed); 1 otherwise.
ovn_node_replaced() {
  local now
  ovn_node_pod "$1" || return 1
  now=$(date +%s)
  if awk '$3 == "Terminating" { f = 1 } END { exit !f }' <<<"$OVN_POD_ROWS"; then
    if ((OVN_STUCK_SINCE == 0)); then
      OVN_STUCK_SINCE=$now
    fi
    POLL_SEEN="Terminating for $(fmt_dur $((now - OVN_STUCK_SINCE))): $(awk '{ printf "%s%s %s", (n++ ? ", " : ""), $1, $3 }' <<<"$OVN_POD_ROWS")"
    if ((now - OVN_STUCK_SINCE >= $2)); then
      return 4
    fi
    return 1
  fi
  OVN_STUCK_SINCE=0
  OVN_OLD_PODS=${OVN_OLD_PODS:-}
  ovn_pods_running app=ovnkube-node 1 "$1"
}

# ovn_node_replaced_or_stuck NODE STUCK_AFTER: ovn_node_replaced, and a stuck pod
# ends the wait too (OVN_STUCK=1).
OVN_STUCK=0
ovn_node_replaced_or_stuck() {
  local rc=0
  ovn_node_replaced "$@" || rc=$?
  if ((rc == 4)); then
    OVN_STUCK=1
    return 0
  fi
  return "$rc"
}

# ovn_repair_stuck_node K I: step 14.d for host I: oc delete node, the repair-node host
# script there (its PEM files into the run directory, kubelet restarted), its own CSRs
# approved until it is back and Ready.
ovn_repair_stuck_node() {
  local k=$1 i=$2 name=${HOST_NAME[$2]} rk
  rk=$(kind_step repair-node) || die_step 1 "$name" "step 14.d: this kit has no repair-node step (a kit bug)"
  log "step 14.d: $name: its ovnkube-node pod is stuck Terminating: oc delete node $name, move its kubelet's PEM files into the run directory, restart kubelet, approve its CSRs"
  if ! oc_try delete node "$name" --wait=false; then
    die_step 1 "$name" "step 14.d: oc delete node $name failed: $(first_line "$OC_OUT")"
  fi
  log_lines "  [oc] " <<<"$OC_OUT"
  run_host_or_die "$rk" "$i"
  CSR_APPROVED=""
  CSR_LEFT=""
  wait_nodes_approving "$k" "${STEP_TIMEOUT[k]}" "$name"
}

# step_ovn_node K: step 14, node by node: the host script (14.a-b: the OVN databases
# into the run directory, Open vSwitch restarted), then the node's ovnkube-node pod
# deleted (14.c), 14.d when it stays Terminating, and its new pod Running (14.e).
step_ovn_node() {
  local k=$1 i name timeout=${STEP_TIMEOUT[$1]} stuck_after rc NODE_WATCH=0
  local -a hosts=()
  read -r -a hosts <<<"${STEP_HOSTS[k]}"
  # A Terminating pod counts as stuck after a third of the wait (two minutes at most).
  stuck_after=$((timeout / 3 < 120 ? timeout / 3 : 120))
  for i in "${hosts[@]}"; do
    name=${HOST_NAME[i]}
    if ((! FORCE)) && [[ -f $STATE_DIR/done/${STEP_IDS[k]}@$name.pod ]]; then
      log "[$name] step ${STEP_NUMS[k]}: done by an earlier run; skipping"
      continue
    fi
    log "step ${STEP_NUMS[k]}: node $name"
    if ((! FORCE)) && [[ -f $STATE_DIR/done/${STEP_IDS[k]}@$name ]]; then
      log "[$name] ${STEP_SCRIPT[k]}: done by an earlier run"
    else
      run_host_or_die "$k" "$i"
    fi
    if ((DRY_RUN)); then
      show_cmd oc -n "$OVN_NAMESPACE" delete pod -l app=ovnkube-node "--field-selector=spec.nodeName==$name" --wait=false
      continue
    fi
    OVN_OLD_PODS=""
    if ovn_node_pod "$name"; then
      OVN_OLD_PODS=$(awk '{ printf "%s ", $1 }' <<<"$OVN_POD_ROWS")
    fi
    if ! oc_try -n "$OVN_NAMESPACE" delete pod -l app=ovnkube-node "--field-selector=spec.nodeName==$name" --wait=false; then
      die_step 1 "$name" "step 14.c: oc delete pod of $name failed: $(first_line "$OC_OUT")"
    fi
    log_lines "  [oc] " <<<"$OC_OUT"
    OVN_STUCK_SINCE=0
    OVN_STUCK=0
    rc=0
    poll_until "$timeout" "the new ovnkube-node pod of $name Running (step 14.e)" \
      "look at oc -n $OVN_NAMESPACE get pods -o wide --field-selector=spec.nodeName==$name and oc -n $OVN_NAMESPACE logs POD -c ovnkube-controller; an admission webhook with failurePolicy Fail can block new pods; then resume." \
      ovn_node_replaced_or_stuck "$name" "$stuck_after" || rc=$?
    if ((rc != 0)); then
      die_step "$rc" "$name" "step 14.e: the ovnkube-node pod of $name does not run"
    fi
    if ((OVN_STUCK)); then
      ovn_repair_stuck_node "$k" "$i"
      OVN_OLD_PODS=""
      poll_until "$timeout" "the new ovnkube-node pod of $name Running (step 14.e, after 14.d)" \
        "look at oc -n $OVN_NAMESPACE get pods -o wide --field-selector=spec.nodeName==$name; then resume." \
        ovn_node_replaced "$name" "$timeout" ||
        die_step "$?" "$name" "step 14.e: the ovnkube-node pod of $name does not run after 14.d"
    fi
    : >"$STATE_DIR/done/${STEP_IDS[k]}@$name.pod"
    log "[$name] step ${STEP_NUMS[k]}: OVN databases rebuilt, ovnkube-node running"
  done
}

# step_wait_rollout K: step 20: every node at a revision of STEP_RESOURCE[K] above the
# latestAvailableRevision recorded before the step that forced it (record_revision).
step_wait_rollout() {
  local k=$1 res=${STEP_RESOURCE[$1]} before memo="$STATE_DIR/revision-before-${STEP_RESOURCE[$1]}"
  log "step ${STEP_NUMS[k]}: wait until every node is at a new $res revision (up to $(fmt_dur "${STEP_TIMEOUT[k]}"))"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll oc get $res cluster (latestAvailableRevision, NodeInstallerProgressing) every ${POLL_INTERVAL}s"
    return 0
  fi
  if [[ ! -f $memo ]]; then
    die_step 1 "" "step ${STEP_NUMS[k]}: no $res revision was recorded before the redeployment: run ./recover.sh --from $(step_of_record "$res") to force it again"
  fi
  read -r before <"$memo"
  log "step ${STEP_NUMS[k]}: $res latestAvailableRevision before the redeployment: $before"
  poll_until "${STEP_TIMEOUT[k]}" "$res: latestAvailableRevision above $before and NodeInstallerProgressing AllNodesAtLatestRevision (step ${STEP_NUMS[k]})" \
    "'N nodes are at revision X; M nodes are at revision Y' means still rolling out: wait. If it does not move, look at oc get $res cluster -o yaml (status.nodeStatuses, conditions) and oc get pods -n $(operator_namespace "$res"), then resume." \
    check_rollout "$res" "$before" ||
    die_step "$?" "" "step ${STEP_NUMS[k]}: the $res rollout did not finish"
}

# step_of_record RESOURCE: the id of the step before which RESOURCE's revision is recorded.
step_of_record() {
  local k
  for k in "${!STEP_IDS[@]}"; do
    if [[ ${STEP_RESOURCE[k]} == "$1" && -n ${STEP_SCRIPT[k]} ]]; then
      printf '%s' "${STEP_IDS[k]}"
      return 0
    fi
  done
}

# record_revision K: before step K forces a redeployment of STEP_RESOURCE[K] on a host,
# its latestAvailableRevision, for the wait after it.
record_revision() {
  local k=$1 res=${STEP_RESOURCE[$1]}
  if ((DRY_RUN)); then
    show_cmd oc get "$res" cluster -o 'jsonpath={.status.latestAvailableRevision}'
    return 0
  fi
  poll_until "$SINGLE_MEMBER_TIMEOUT" "$res latestAvailableRevision (read before step ${STEP_NUMS[k]})" \
    "oc must answer: check oc whoami and the API (oc get clusteroperators), then resume." \
    read_latest_revision "$res" ||
    die_step "$?" "" "step ${STEP_NUMS[k]}: could not read $res latestAvailableRevision"
  printf '%s\n' "$LATEST_REVISION" >"$STATE_DIR/revision-before-$res"
  log "step ${STEP_NUMS[k]}: $res latestAvailableRevision before the redeployment: $LATEST_REVISION"
}

# ssh_direct I: the ssh command line of a session to host I that uses no master
# connection (one dies with the reboot).
ssh_direct() {
  ssh_cmd "$1"
  SSH_CMD=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o "ConnectTimeout=${HOST_CONNECT_TIMEOUT[$1]}" -o ControlMaster=no -o ControlPath=none)
}

# forget_master I: the persistent connection to host I is ended and its socket gone.
forget_master() {
  ssh_cmd "$1"
  "${SSH_CMD[@]}" -O exit "$SSH_TARGET" </dev/null >/dev/null 2>&1 || true
  rm -f "$CONTROL_DIR/$1"
}

# REBOOT_MARK is what the host script leaves in /tmp (tmpfs): gone once the host rebooted.
REBOOT_MARK="/tmp/restorekit-$KIT_NAME.reboot"
# host_rebooted I: host I went down (ssh fails) or is already back without the mark.
host_rebooted() {
  ssh_direct "$1"
  if ! "${SSH_CMD[@]}" "$SSH_TARGET" "test ! -e $(printf '%q' "$REBOOT_MARK")" </dev/null >/dev/null 2>&1; then
    if "${SSH_CMD[@]}" "$SSH_TARGET" true </dev/null >/dev/null 2>&1; then
      POLL_SEEN="${HOST_NAME[$1]} still up, its reboot not started yet"
      return 1
    fi
    POLL_SEEN="${HOST_NAME[$1]} is down (ssh fails)"
    return 0
  fi
  POLL_SEEN="${HOST_NAME[$1]} is already back (rebooted)"
}

# host_back I: ssh reaches host I again.
host_back() {
  ssh_direct "$1"
  if ! "${SSH_CMD[@]}" "$SSH_TARGET" true </dev/null >/dev/null 2>&1; then
    POLL_SEEN="ssh to ${HOST_NAME[$1]} fails"
    return 1
  fi
  POLL_SEEN="ssh reaches ${HOST_NAME[$1]}"
}

# step_reboot_node K: step 24, one node at a time: the host script schedules the
# reboot and ends its session; the node must go down, come back over ssh and be Ready
# in oc before the next. A node that does not come back stops the run, naming it.
step_reboot_node() {
  local k=$1 i name timeout=${STEP_TIMEOUT[$1]} rc NODE_WATCH=0
  local -a hosts=()
  read -r -a hosts <<<"${STEP_HOSTS[k]}"
  for i in "${hosts[@]}"; do
    name=${HOST_NAME[i]}
    if ((! FORCE)) && [[ -f $STATE_DIR/done/${STEP_IDS[k]}@$name.ready ]]; then
      log "[$name] step ${STEP_NUMS[k]}: rebooted and Ready in an earlier run; skipping"
      continue
    fi
    if ((! FORCE)) && [[ -f $STATE_DIR/done/${STEP_IDS[k]}@$name ]]; then
      log "[$name] step ${STEP_NUMS[k]}: rebooted by an earlier run: waiting for it to be back"
    else
      log "step ${STEP_NUMS[k]}: rebooting $name"
      rc=0
      run_host_on "$k" "$i" || rc=$?
      if ((DRY_RUN)); then
        log "DRY-RUN: would wait until $name is down, back over ssh and Ready (up to $(fmt_dur "$timeout") each)"
        continue
      fi
      if ((rc != 0 && rc != 255)); then
        die_step "$((rc == 3 ? 3 : 1))" "$name" "step ${STEP_NUMS[k]}: ${STEP_SCRIPT[k]} on $name: $(host_rc_text "$rc")"
      fi
      if ((rc == 255)); then
        log "[$name] the ssh session ended (exit 255): the reboot has begun"
      fi
      : >"$STATE_DIR/done/${STEP_IDS[k]}@$name"
      forget_master "$i"
      poll_until "$timeout" "$name to go down for its reboot" \
        "the reboot did not happen: look at $name (journalctl -b -1, systemctl list-jobs); reboot it by hand or resume with --from ${STEP_IDS[k]}." \
        host_rebooted "$i" ||
        die_step "$?" "$name" "step ${STEP_NUMS[k]}: $name did not reboot"
    fi
    forget_master "$i"
    poll_until "$timeout" "ssh to reach $name again after its reboot" \
      "$name does not come back: look at its console (BMC, hypervisor); when it answers again, resume: the kit waits for it and goes on with the next node." \
      host_back "$i" ||
      die_step "$?" "$name" "step ${STEP_NUMS[k]}: $name did not come back after its reboot"
    ensure_master "$i" || true
    poll_until "$timeout" "node $name Ready after its reboot" \
      "look at oc describe node $name and journalctl -u kubelet there (pending CSRs: oc get csr), then resume." \
      nodes_ready "$name" ||
      die_step "$?" "$name" "step ${STEP_NUMS[k]}: node $name is not Ready after its reboot"
    : >"$STATE_DIR/done/${STEP_IDS[k]}@$name.ready"
    log "[$name] step ${STEP_NUMS[k]}: rebooted, back and Ready"
  done
}

# The inventory's network type, which decides steps 13 and 14.
INVENTORY_NETWORK_TYPE=OVNKubernetes
# preflight_checks_416: the cluster's network type is the inventory's; the recovery
# host has oc for the steps that run it there; every node is the inventory's.
preflight_checks_416() {
  local out name extra=""
  if [[ $API_STATE == ok ]]; then
    if ! oc_try get network.config/cluster -o 'jsonpath={.status.networkType}'; then
      problem "13, 14: oc get network.config/cluster failed: $(first_line "$OC_OUT")"
    elif [[ $OC_OUT != "$INVENTORY_NETWORK_TYPE" ]]; then
      problem "13, 14: the cluster's network type is '$(first_line "$OC_OUT")' but the inventory says '$INVENTORY_NETWORK_TYPE': the kit would run or skip the OVN steps wrongly; fix cluster.networkType and rebuild the kit"
    else
      log "  13, 14: network type $OC_OUT, as the inventory says"
    fi
    if oc_try get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}'; then
      while IFS= read -r name; do
        if [[ -n $name && " ${NODE_NAMES[*]} " != *" $name "* ]]; then
          extra+="${extra:+, }$name"
        fi
      done <<<"$OC_OUT"
      if [[ -n $extra ]]; then
        problem "14, 24: the cluster's node(s) $extra are not in the inventory (masters and workers): steps 14 and 24 go over every node"
      fi
    fi
  else
    log "  13, 14: the network type is not checked without the API: taken as the inventory says ($INVENTORY_NETWORK_TYPE)"
  fi
  # The path the host script runs (sudo resets PATH); `command -v` would also name a
  # file that is not executable.
  if host_out "$RECOVERY_INDEX" 'test -x /usr/bin/oc && echo present' && [[ $HOST_OUT == present ]]; then
    log "  16-17: $RECOVERY_HOST has oc (/usr/bin/oc)"
  else
    problem "16-17: $RECOVERY_HOST (the recovery host) has no /usr/bin/oc: steps 16-17 run it there with its recovery kubeconfig (RHCOS ships it; or do 16-17 by hand from the RUNBOOK with an oc of your own)"
  fi
}
# --- Steps: the kit's plan --------------------------------------------------------------
# One entry per step, in running order. STEP_IDS[i] names it for --from/--only,
# STEP_NUMS[i] cites procedure/procedure-4.16.md, STEP_ALIASES[i] are the procedure numbers
# --from/--only also accept, STEP_CHANGES[i] is 1 when it changes something, STEP_KIND[i]
# is what implements it, STEP_HOSTS[i] the hosts it runs on (indexes, in order),
# STEP_HOW[i] how it goes over them (parallel, serial, recovery-first), STEP_SCRIPT[i]
# the host script it runs there, STEP_AGAIN[i] 1 when that script takes --again,
# STEP_UNINTERRUPTIBLE[i] 1 when a started run is never cut off (a re-run waits for it),
# STEP_TIMEOUT[i] bounds its waits (seconds), STEP_RESOURCE[i] the operator it patches,
# STEP_MANUAL[i] 1 for a troubleshooting step only --only runs, STEP_OPENS[i] and
# STEP_CLOSES[i] the duties it leaves open or finishes.
STEP_IDS=(preflight push-scripts copy-backup stop-static-pods stop-keepalived check-api-vip restore repair-nodes restart-kubelet approve-csrs verify-single-member ovn-control-plane ovn-nodes quorum-guard-off redeploy-etcd quorum-guard-on wait-etcd redeploy-kubeapiserver redeploy-kubecontrollermanager redeploy-kubescheduler restore-keepalived wait-stable reboot-nodes)
STEP_NUMS=('P1-P5, 1, 2' 2 3 4 4.k 5-6 7-8 9 10 11 12 13 14 15 16-17 18-19 20 21 21 21 22 23 24)
STEP_ALIASES=('P1 P2 P3 P4 P5 1 2' '' 3 '4 4.b 4.c 4.d 4.e 4.f 4.g 4.h 4.i 4.j' 4.k '5 6' '7 8' 9 10 11 12 13 '14 14.a 14.b 14.c 14.d 14.e' 15 '16 17' '18 19' 20 21 '' '' 22 23 24)
STEP_TITLES=(
  'preflight: local tools, kit checksums, oc access, cluster version, proxy, network type, ssh and sudo on every node, the backup pair'
  "copy each node's kit scripts and the host library to restorekit/ in the ssh user's home"
  'copy the backup pair to the recovery host and verify its sizes and sha256 there'
  'stop the etcd, kube-apiserver, kube-controller-manager and kube-scheduler static pods and move the etcd data aside, one other control-plane host at a time'
  "move keepalived.yaml aside, wait for keepalived to stop, remove the inventory's VIPs from this host"
  'on the recovery host: check that it holds the API VIP'
  'on the recovery host: export the proxy and run cluster-restore.sh with the backup (it stops and restores all four static pods)'
  'for each node that stays NotReady: move the PEM files of /var/lib/kubelet/pki into the run directory'
  'restart kubelet on every control-plane host, the recovery host first'
  "approve the pending CSRs of the cluster's own nodes only; list every other pending CSR and leave it"
  'verify the single member: etcd running on the recovery host, one Running etcd pod'
  'restart the ovnkube-control-plane pods and wait until they run'
  "node by node, the recovery host first: move the OVN databases into the run directory, restart ovs-vswitchd and ovsdb-server, replace the node's ovnkube-node pod"
  'turn the etcd quorum guard off (unsupportedConfigOverrides)'
  'on the recovery host, with its recovery kubeconfig: force a new etcd revision (unique forceRedeploymentReason)'
  'turn the etcd quorum guard back on and check that unsupportedConfigOverrides is gone'
  'wait until every node is at the new etcd revision'
  'force a new kubeapiserver rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'force a new kubecontrollermanager rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'force a new kubescheduler rollout (unique forceRedeploymentReason) and wait until every node is at the new revision'
  'put keepalived.yaml back on every other control-plane host'
  'wait for a stable cluster: every cluster operator Available, not Progressing, not Degraded, for the minimum stable period'
  'restart every node, control-plane hosts first, then the workers, one at a time, each Ready before the next'
)
STEP_CHANGES=(0 1 1 1 1 0 1 1 1 1 0 1 1 1 1 1 0 1 1 1 1 0 1)
STEP_KIND=(preflight push-scripts copy-backup stop-static-pods stop-keepalived check-api-vip restore repair-node restart-kubelet approve-csrs verify-single-member ovn-control-plane ovn-node quorum-guard-off force-redeploy-on-host quorum-guard-on wait-rollout redeploy redeploy redeploy restore-keepalived wait-stable reboot-node)
STEP_HOSTS=('' '' '' '1 2' '1 2' 0 0 '0 1 2 3 4' '0 1 2' '' '' '' '0 1 2 3 4' '' 0 '' '' '' '' '' '1 2' '' '0 1 2 3 4')
STEP_HOW=(parallel parallel parallel serial serial parallel parallel serial recovery-first parallel parallel parallel serial parallel parallel parallel parallel parallel parallel parallel serial parallel serial)
STEP_SCRIPT=('' '' '' 04-stop-static-pods.sh 04.k-stop-keepalived.sh 05-check-api-vip.sh 07-restore.sh 09-repair-node.sh 10-restart-kubelet.sh '' '' '' 14-ovn-node.sh '' 16-force-redeploy-on-host.sh '' '' '' '' '' 22-restore-keepalived.sh '' 24-reboot-node.sh)
STEP_AGAIN=(0 0 0 1 0 0 1 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0)
STEP_UNINTERRUPTIBLE=(0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
STEP_TIMEOUT=(0 0 0 600 600 600 1200 300 300 300 1200 1200 1200 0 0 0 3600 3600 1800 1800 0 1800 300)
STEP_RESOURCE=('' '' '' '' '' '' '' '' '' '' '' '' '' '' etcd '' etcd kubeapiserver kubecontrollermanager kubescheduler '' '' '')
STEP_MANUAL=(0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
STEP_OPENS=('' '' '' '' keepalived '' '' '' '' '' '' '' '' quorum-guard '' '' '' '' '' '' '' '' '')
STEP_CLOSES=('' '' '' '' '' '' '' '' '' '' '' '' '' '' '' quorum-guard '' '' '' '' keepalived '' '')
# The duties a step can leave open: what is still undone, and how to finish it by hand.
DUTY_NAMES=(keepalived quorum-guard)
DUTY_OPEN=('keepalived.yaml is still moved aside on the other control-plane hosts' 'the etcd quorum guard is still OFF (unsupportedConfigOverrides is set)')
DUTY_FIX=('on each of them, run its restore-keepalived script of step 22 (sudo bash ./22-restore-keepalived.sh in ~/restorekit/<kit>/), or: sudo cp -v <run dir>/etc/kubernetes/manifests/keepalived.yaml /etc/kubernetes/manifests/ with the run directory step 4.k printed there' "oc patch etcd/cluster --type=merge -p '{\"spec\": {\"unsupportedConfigOverrides\": null}}'")
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
# An orchestrated host kind runs its step_<kind> function: it chooses and paces the
# hosts at run time and runs the host script on each with run_host_on.
dispatch_step() {
  case ${STEP_KIND[$1]} in
  preflight) step_preflight "$1" ;;
  push-scripts) step_push_scripts "$1" ;;
  copy-backup) step_copy_backup "$1" ;;
  stop-static-pods) run_host_step "$1" ;;
  stop-keepalived) run_host_step "$1" ;;
  check-api-vip) run_host_step "$1" ;;
  restore) run_host_step "$1" ;;
  repair-node) step_repair_node "$1" ;;
  restart-kubelet) run_host_step "$1" ;;
  approve-csrs) step_approve_csrs "$1" ;;
  verify-single-member) step_verify_single_member "$1" ;;
  ovn-control-plane) step_ovn_control_plane "$1" ;;
  ovn-node) step_ovn_node "$1" ;;
  quorum-guard-off) step_quorum_guard_off "$1" ;;
  force-redeploy-on-host)
    record_revision "$1"
    run_host_step "$1"
    ;;
  quorum-guard-on) step_quorum_guard_on "$1" ;;
  wait-rollout) step_wait_rollout "$1" ;;
  redeploy) step_redeploy "$1" ;;
  restore-keepalived) run_host_step "$1" ;;
  wait-stable) step_wait_stable "$1" ;;
  reboot-node) step_reboot_node "$1" ;;
  *) die_step 1 "" "step ${STEP_NUMS[$1]}: this kit has no implementation of ${STEP_KIND[$1]} (a kit bug)" ;;
  esac
}

# The step that passes the cluster-wide proxy to cluster-restore.sh, the copy of the
# backup and the wait for a stable cluster, as the kit cites them ('' without one).
readonly PROXY_STEP=7
readonly COPY_BACKUP_STEP=3
readonly STABLE_STEP=23
# The host scripts that refuse to redo a completed run without --again: a completed run
# of one of them means this cluster was recovered already.
AGAIN_SCRIPTS=(04-stop-static-pods.sh 07-restore.sh 16-force-redeploy-on-host.sh)
# Where the host scripts go on each host (hosts/<node>/ and lib/ of the kit).
REMOTE_KIT_DIR="restorekit/$KIT_NAME"
HOST_LIB=lib/host.sh
# Where the kit's facts of the cluster (kit.json facts) come from: --api-unavailable
# takes them instead of the live cluster's.
FACTS_SOURCE='release from the backup snapshot snapshot_2025-09-15_031500.db (ClusterVersion history: Completed), taken at 2025-09-15T03:14:00Z; proxy and nodes from the inventory proxy and masters[].name'
# Where the kit's release comes from: the backup's snapshot, read when the kit was built,
# or only the inventory's cluster.version (P1 says which it compared).
RELEASE_SOURCE='backup snapshot snapshot_2025-09-15_031500.db (ClusterVersion history: Completed)'
# The restore script every recovery host has.
CLUSTER_RESTORE=/usr/local/bin/cluster-restore.sh

# --- Command line ---------------------------------------------------------------------------
KIT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=""
BACKUP_DIR=""
BACKUP_DIR_OPT=""
FROM=""
ONLY=""
LIST=0
FORCE=0
AGAIN=0
# API_UNAVAILABLE=1 (--api-unavailable): the preflight may go on without the API, with
# the facts the kit recorded.
API_UNAVAILABLE=0
CONFIRMED=0
RUN_START=$(date +%s)
# SELECTED holds the indexes of the steps this run goes through; STEP_RESULT[i] what
# happened to step i in this run.
SELECTED=()
STEP_RESULT=()
# BG_PIDS are the host jobs running in the background (each its own process group).
BG_PIDS=()
# HOST_SCRIPTS_RAN is 1 once a host script was started: their logs are then fetched.
HOST_SCRIPTS_RAN=0

usage() {
  cat <<EOF
Usage: ./recover.sh [--yes] [--dry-run] [--list] [--from STEP] [--only STEP]
                    [--state-dir DIR] [--backup-dir DIR] [--again] [--api-unavailable]
                    [--help]

Restores the control plane of cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION) from its
etcd backup, following procedure/procedure-4.16.md step by step, from this workstation over ssh and oc.
The recovery host is $RECOVERY_HOST.

  --yes             do not ask before the first step that changes something
                    (without it the plan is shown and confirmed on the terminal)
  --dry-run         run the read-only preflight checks, print every command that
                    would change something, change nothing
  --list            list the steps with their procedure/procedure-4.16.md numbers and exit
  --from STEP       start at STEP (a name from --list or a procedure number such as 8)
                    and run it and every later step again, even if done before
  --only STEP       run STEP alone, even if done before
  --only repair-nodes NODE...
                    repair only the nodes named (their kubelet's PEM files into
                    the run directory, kubelet restarted)
  --state-dir DIR   progress, logs and ssh control sockets (default: <kit dir>.state
                    beside the kit directory, or, where that is read-only,
                    \${XDG_STATE_HOME:-~/.local/state}/restorekit/<kit>); a re-run
                    with the same DIR resumes at the step that failed
  --backup-dir DIR  the local directory holding the backup pair (default: the kit's
                    backup/ directory when it exists); without one, the pair must
                    already be in $BACKUP_REMOTE_DIR on the recovery host
  --again           restore although an earlier recovery completed on these hosts
                    (preflight refuses otherwise: restoring again throws away
                    everything written since); passed on to the host scripts
  --move-etcd-extras  let the restore move what else is in the recovery host's etcd
                    data directory into its run directory (preflight stops otherwise)
  --api-unavailable the API does not answer (etcd lost quorum: the usual reason to
                    restore): the preflight takes the release, proxy and control-plane
                    node names as the kit recorded them at build time ($FACTS_SOURCE)
                    instead of reading them from the cluster, and says so; every ssh,
                    hostname, sudo, tool, backup and earlier-recovery check still runs
  --help            this help

Nodes, masters then workers (node name, ssh address):
$(for ((k = 0; k < ${#HOST_NAME[@]}; k++)); do
    printf '  %s  %s@%s port %s%s\n' "${HOST_NAME[k]}" "${HOST_USER[k]}" "${HOST_ADDRESS[k]}" "${HOST_PORT[k]}" "${HOST_JUMP[k]:+ via ${HOST_JUMP[k]}}"
  done)

Needs bash, ssh, scp, sha256sum and oc logged in as a cluster-admin, preferably with a
certificate-based kubeconfig (the installer's auth/kubeconfig): an OAuth token can stop
working during the restore. With a jump host, the jump leg uses your ~/.ssh/config and
ssh agent for the bastion's key and host key.

Exit codes: 0 done, 1 a step failed, 2 usage error or refused, 3 a wait timed out,
130 interrupted (143 on SIGTERM). Every failure names the step, the host and the
command to resume.
EOF
}

list_steps() {
  local k
  printf '%-32s %-18s %s\n' STEP PROCEDURE WHAT
  for ((k = 0; k < ${#STEP_IDS[@]}; k++)); do
    printf '%-32s %-18s %s\n' "${STEP_IDS[k]}" "step ${STEP_NUMS[k]}" "${STEP_TITLES[k]}$( ((STEP_MANUAL[k])) && printf ' (not in a normal run: --only %s)' "${STEP_IDS[k]}")"
  done
}

# step_index NAME: the index of the step NAME names (an id or a procedure number).
step_index() {
  local k a
  for ((k = 0; k < ${#STEP_IDS[@]}; k++)); do
    if [[ $1 == "${STEP_IDS[k]}" ]]; then
      printf '%s' "$k"
      return 0
    fi
    for a in ${STEP_ALIASES[k]}; do
      if [[ $1 == "$a" ]]; then
        printf '%s' "$k"
        return 0
      fi
    done
  done
  return 1
}

parse_args() {
  while (($#)); do
    case $1 in
    -y | --yes) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --list) LIST=1 ;;
    --again) AGAIN=1 ;;
    --move-etcd-extras) MOVE_ETCD_EXTRAS=1 ;;
    --api-unavailable) API_UNAVAILABLE=1 ;;
    --from | --only | --state-dir | --backup-dir)
      if (($# < 2)) || [[ -z $2 ]]; then
        die_usage "$1 needs a value (see --help)"
      fi
      case $1 in
      --from) FROM=$2 ;;
      --only) ONLY=$2 ;;
      --state-dir) STATE_DIR=$2 ;;
      --backup-dir) BACKUP_DIR_OPT=$2 ;;
      esac
      shift
      ;;
    --from=* | --only=* | --state-dir=* | --backup-dir=*)
      parse_args "${1%%=*}" "${1#*=}"
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die_usage "unknown argument: $1 (see --help)" ;;
    # --only repair-nodes NODE...: the nodes to repair.
    *)
      if [[ -z $ONLY ]]; then
        die_usage "unknown argument: $1 (a node name goes after --only STEP; see --help)"
      fi
      ONLY_NODES+=("$1")
      ;;
    esac
    shift
  done
}

select_steps() {
  local first=0 last=$((${#STEP_IDS[@]} - 1)) k
  if [[ -n $FROM && -n $ONLY ]]; then
    die_usage "--from and --only cannot be used together"
  fi
  if [[ -n $FROM ]]; then
    first=$(step_index "$FROM") || die_usage "--from $FROM: no such step; ./recover.sh --list shows them"
    FORCE=1
  fi
  if [[ -n $ONLY ]]; then
    first=$(step_index "$ONLY") || die_usage "--only $ONLY: no such step; ./recover.sh --list shows them"
    last=$first
    FORCE=1
  fi
  for ((k = first; k <= last; k++)); do
    # A troubleshooting step runs only when it is the step named.
    if ((STEP_MANUAL[k])) && [[ -z $ONLY ]]; then
      continue
    fi
    SELECTED+=("$k")
  done
  if ((${#SELECTED[@]} == 0)); then
    die_usage "--from ${FROM}: ${STEP_IDS[first]} is a troubleshooting step: run it with --only ${STEP_IDS[first]}"
  fi
  REDEPLOY_FORCE=$FORCE
}

# step_done I: step I is recorded as done and this run does not force it. The preflight
# counts as done only once a step that changes something has started: until then it is
# cheap and safe to check again, afterwards the API may be gone.
step_done() {
  ((! FORCE)) && [[ -f $STATE_DIR/done/${STEP_IDS[$1]} ]] || return 1
  if (($1 == 0)) && ! changes_started; then
    return 1
  fi
  return 0
}

# changes_started: a step that changes something has started in this state directory.
changes_started() {
  local f
  for f in "$STATE_DIR"/started/*; do
    if [[ -e $f ]]; then
      return 0
    fi
  done
  return 1
}

# pending_changes: some selected step that is not done yet changes something.
pending_changes() {
  local k
  for k in "${SELECTED[@]}"; do
    if ((STEP_CHANGES[k])) && ! step_done "$k"; then
      return 0
    fi
  done
  return 1
}

# --- Local state ----------------------------------------------------------------------------
check_local_tools() {
  local t missing=""
  for t in ssh scp oc sha256sum awk sed grep; do
    if ! command -v "$t" >/dev/null 2>&1; then
      missing+=" $t"
    fi
  done
  if [[ -n $missing ]]; then
    log "missing on this workstation:$missing (recover.sh needs bash, ssh, scp, oc and coreutils)"
    exit 1
  fi
}

init_state() {
  local pid
  # Outside the kit, so that the kit stays as SHA256SUMS lists it: beside it (kit and
  # progress together), or, where the kit's directory is read-only, under the user's
  # state directory.
  if [[ -z $STATE_DIR ]]; then
    STATE_DIR="$KIT_DIR.state"
    if ! mkdir -p "$STATE_DIR" 2>/dev/null || [[ ! -w $STATE_DIR ]]; then
      STATE_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/restorekit/$KIT_NAME"
    fi
  fi
  if ! mkdir -p "$STATE_DIR" 2>/dev/null || [[ ! -w $STATE_DIR ]]; then
    die_usage "cannot write the state directory $STATE_DIR: give a writable one with --state-dir DIR"
  fi
  STATE_DIR=$(cd "$STATE_DIR" && pwd)
  mkdir -p "$STATE_DIR/done" "$STATE_DIR/started" "$STATE_DIR/hosts" "$STATE_DIR/remote-logs" "$STATE_DIR/ssh"
  if [[ -f $STATE_DIR/kit && $(cat "$STATE_DIR/kit") != "$KIT_NAME" ]]; then
    die_usage "$STATE_DIR holds the progress of $(cat "$STATE_DIR/kit"), not $KIT_NAME: use another --state-dir"
  fi
  if [[ -f $STATE_DIR/lock ]]; then
    pid=$(cat "$STATE_DIR/lock")
    if [[ -n $pid && $pid != "$$" ]] && kill -0 "$pid" 2>/dev/null; then
      die_usage "another recover.sh (pid $pid) is using $STATE_DIR"
    fi
  fi
  printf '%s\n' "$KIT_NAME" >"$STATE_DIR/kit"
  printf '%s\n' "$$" >"$STATE_DIR/lock"
  LOG_FILE="$STATE_DIR/recover.log"
  DUTY_DIR="$STATE_DIR/duties"
  log "state directory: $STATE_DIR (progress and logs; a re-run with it resumes)"
  # The ssh control sockets live in a short directory of this user's that holds unix
  # sockets (not in the kit, which may be on a vfat USB stick), named after the state
  # dir so a re-run finds its masters again; without one, sessions connect directly.
  CONTROL_DIR="${XDG_RUNTIME_DIR:-/tmp}"
  if [[ ! -d $CONTROL_DIR || ! -w $CONTROL_DIR ]]; then
    CONTROL_DIR=/tmp
  fi
  CONTROL_DIR="$CONTROL_DIR/restorekit-ssh-$(id -u)-$(printf '%s' "$STATE_DIR" | cksum | awk '{ print $1 }')"
  if [[ ! -d $CONTROL_DIR ]]; then
    mkdir -m 700 "$CONTROL_DIR"
  fi
  if [[ ! -O $CONTROL_DIR ]]; then
    die_usage "$CONTROL_DIR belongs to another user: remove it or use another --state-dir"
  fi
  if [[ -n $BACKUP_DIR_OPT ]]; then
    BACKUP_DIR=$BACKUP_DIR_OPT
  elif [[ -d $KIT_DIR/backup ]]; then
    BACKUP_DIR="$KIT_DIR/backup"
  fi
  if [[ -n $BACKUP_DIR ]]; then
    if [[ ! -d $BACKUP_DIR ]]; then
      die_usage "--backup-dir $BACKUP_DIR: not a directory"
    fi
    BACKUP_DIR=$(cd "$BACKUP_DIR" && pwd)
  fi
}

# resume_command: the exact command that resumes at the step that failed.
resume_command() {
  local -a cmd=("$KIT_DIR/recover.sh" --state-dir "$STATE_DIR")
  if [[ -n $BACKUP_DIR_OPT ]]; then
    cmd+=(--backup-dir "$BACKUP_DIR")
  fi
  if [[ -n $ONLY ]]; then
    cmd+=(--only "$CURRENT_STEP" ${ONLY_NODES[@]+"${ONLY_NODES[@]}"})
  elif [[ -n $FROM ]]; then
    cmd+=(--from "$CURRENT_STEP")
  fi
  if ((AGAIN)); then
    cmd+=(--again)
  fi
  if ((MOVE_ETCD_EXTRAS)); then
    cmd+=(--move-etcd-extras)
  fi
  if ((API_UNAVAILABLE)); then
    cmd+=(--api-unavailable)
  fi
  if ((ASSUME_YES)); then
    cmd+=(--yes)
  fi
  shell_words "${cmd[@]}"
}

# stop_jobs: SIGTERM to each host job's process group. Each is disowned first: bash
# 4.2, built without DONT_REPORT_SIGTERM (5.x config-top.h defines it), reports every job
# SIGTERM killed ("line N: PID Terminated run_host_script ...") when it reaps it.
stop_jobs() {
  local pid
  for pid in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
    disown "$pid" 2>/dev/null || true
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  BG_PIDS=()
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_jobs
  if ((rc != 0)) && [[ -n $CURRENT_STEP ]]; then
    log "FAILED: step $CURRENT_STEP_NUM ($CURRENT_STEP)${FAIL_HOST:+ on $FAIL_HOST}, exit $rc"
    if [[ $CURRENT_STEP == preflight ]]; then
      log "preflight only reads: nothing was changed on any host or in the cluster; each problem above says what to fix"
    fi
    if ((HOST_SCRIPTS_RAN && rc != 130 && rc != 143)); then
      log "fetching the host scripts' logs"
      fetch_remote_logs || true
    fi
    if [[ -n $LOG_FILE ]]; then
      log "logs: $LOG_FILE; each host's output in $STATE_DIR/hosts/"
    fi
    log "fix the cause, then resume at this step with:"
    log "  $(resume_command)"
  fi
  if [[ -n $STATE_DIR ]] && ((! DRY_RUN)); then
    report_open_duties
  fi
  # The persistent ssh connections end with the coordinator; a re-run opens new ones.
  if [[ -n $CONTROL_DIR && -d $CONTROL_DIR ]]; then
    close_connections
    rmdir "$CONTROL_DIR" 2>/dev/null || true
  fi
  if [[ -n $STATE_DIR && -f $STATE_DIR/lock && $(cat "$STATE_DIR/lock" 2>/dev/null) == "$$" ]]; then
    rm -f "$STATE_DIR/lock"
  fi
  exit "$rc"
}

# --- ssh ----------------------------------------------------------------------------------
# Every connection goes through the kit's ssh_config (one Host block per master, named
# by its node name: ssh -F ssh_config <node>) and the master's persistent connection.
# ssh_cmd I: sets SSH_CMD and SCP_CMD to the ssh and scp command lines of a working
# session on master I (non-interactive, bounded, ControlMaster=no: it uses the master
# connection when there is one and never becomes one), SSH_TARGET and SCP_HOST to the
# node name they connect to, and MASTER_CMD to the command that starts the master.
SSH_TARGET=""
SCP_HOST=""
CONTROL_DIR=""
SSH_CONFIG="$KIT_DIR/ssh_config"
ssh_cmd() {
  local i=$1
  local -a opts=(-F "$SSH_CONFIG" -o BatchMode=yes -o "ConnectTimeout=${HOST_CONNECT_TIMEOUT[i]}" -o "ControlPath=$CONTROL_DIR/$i"
    -o ServerAliveInterval=15 -o ServerAliveCountMax=4)
  SSH_CMD=(ssh "${opts[@]}" -o ControlMaster=no)
  SCP_CMD=(scp -q "${opts[@]}" -o ControlMaster=no)
  MASTER_CMD=(ssh "${opts[@]}" -o ControlMaster=yes -o ControlPersist=30m -f -N)
  SSH_TARGET=${HOST_NAME[i]}
  SCP_HOST=${HOST_NAME[i]}
}

# ensure_master I: master I's persistent connection is up: -O check, and when it is
# missing or died, a new one started detached (-f -N) with no terminal, its output
# appended to ssh/master-<node>.log in the state dir. Only here does a master start:
# with OpenSSH before 8.0, the ProxyJump child of a master started by a piped session
# (ssh ... | prefix_output) keeps that pipe open until ControlPersist ends, so the
# step would wait 30 minutes for the end of its output. Returns 1 when it cannot be
# started: the working session then connects by itself and reports why.
ensure_master() {
  local i=$1 mlog="$STATE_DIR/ssh/master-${HOST_NAME[$1]}.log"
  ssh_cmd "$i"
  if [[ -S $CONTROL_DIR/$i ]] && "${SSH_CMD[@]}" -O check "$SSH_TARGET" </dev/null >/dev/null 2>&1; then
    return 0
  fi
  printf '=== %s master connection to %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "${HOST_NAME[i]}" >>"$mlog"
  "${MASTER_CMD[@]}" "$SSH_TARGET" </dev/null >>"$mlog" 2>&1
}

# connect_host I: ensure_master I, then ssh_cmd I for a working session.
connect_host() {
  ensure_master "$1" || true
  ssh_cmd "$1"
}

# on_host I COMMAND: runs the shell command line COMMAND on master I, stdin untouched.
on_host() {
  connect_host "$1"
  "${SSH_CMD[@]}" "$SSH_TARGET" "$2"
}

# host_out I COMMAND: runs COMMAND on master I with no stdin; HOST_OUT gets its
# output, HOST_ERR the first line of its errors.
HOST_OUT=""
HOST_ERR=""
host_out() {
  local rc=0 errfile="$STATE_DIR/ssh/err.$BASHPID"
  HOST_OUT=$(on_host "$1" "$2" </dev/null 2>"$errfile") || rc=$?
  HOST_ERR=$(first_line "$(cat "$errfile" 2>/dev/null)")
  if [[ -s $errfile && -n $LOG_FILE ]]; then
    sed "s/^/[${HOST_NAME[$1]//\//\\/}] /" "$errfile" >>"$LOG_FILE"
  fi
  rm -f "$errfile"
  return "$rc"
}

# prefix_output NAME FILE: copies stdin to stderr and the log with "[NAME] " before
# each line, and to FILE as it is.
prefix_output() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    printf '[%s] %s\n' "$1" "$line" >&2
    printf '%s\n' "$line" >>"$2"
    if [[ -n $LOG_FILE ]]; then
      printf '[%s] %s\n' "$1" "$line" >>"$LOG_FILE"
    fi
  done
}

# host_script_cmd K: the command line that runs step K's kit script on a host as root
# (with --again for the scripts that refuse to redo a completed run without it).
host_script_cmd() {
  printf 'sudo bash %q --yes' "$REMOTE_KIT_DIR/${STEP_SCRIPT[$1]}"
  if ((AGAIN && STEP_AGAIN[$1])); then
    printf ' --again'
  fi
  host_script_extra_args "$1"
}

# host_ssh_cmd K I: sets SSH_CMD to the ssh command line that runs step K's script on
# master I. A script that may be stopped half-way gets a terminal on the host (-tt), so
# that stopping recover.sh (Ctrl-C) hangs up on it too instead of leaving it running
# beside the re-run; an uninterruptible one (the restore) does not: it is never cut off,
# and a re-run first waits for one still running (wait_earlier_run_gone).
host_ssh_cmd() {
  ssh_cmd "$2"
  if ((! STEP_UNINTERRUPTIBLE[$1])); then
    SSH_CMD+=(-tt -o LogLevel=ERROR)
  fi
}

# run_host_script K I: runs step K's script on master I, its output prefixed and logged.
run_host_script() {
  local cmd
  cmd=$(host_script_cmd "$1")
  ensure_master "$2" || true
  host_ssh_cmd "$1" "$2"
  "${SSH_CMD[@]}" "$SSH_TARGET" "$cmd" </dev/null 2>&1 | prefix_output "${HOST_NAME[$2]}" "$STATE_DIR/hosts/${HOST_NAME[$2]}.log"
}

# check_no_earlier_run K I: no run of step K's script, nor the cluster-restore.sh it
# starts, is going on master I (one started by an interrupted earlier run).
check_no_earlier_run() {
  local running
  if ! host_out "$2" 'ps -eo args'; then
    POLL_SEEN="ps on ${HOST_NAME[$2]} failed: ${HOST_ERR:-no output}"
    return 1
  fi
  running=$(grep -F -e "$REMOTE_KIT_DIR/${STEP_SCRIPT[$1]}" -e "$CLUSTER_RESTORE" <<<"$HOST_OUT" | grep -v -e 'ps -eo' | head -n 3 | tr '\n' ';' || true)
  if [[ -n $running ]]; then
    POLL_SEEN="still running on ${HOST_NAME[$2]}: ${running%;}"
    return 1
  fi
  POLL_SEEN="no earlier run going on ${HOST_NAME[$2]}"
}

# wait_earlier_run_gone K I: an uninterruptible step never runs twice at the same time.
wait_earlier_run_gone() {
  if check_no_earlier_run "$1" "$2"; then
    return 0
  fi
  log "step ${STEP_NUMS[$1]}: an earlier ${STEP_SCRIPT[$1]} (or the cluster-restore.sh it started) is still running on ${HOST_NAME[$2]} ($POLL_SEEN): waiting for it to end before running it again"
  poll_until "${STEP_TIMEOUT[$1]}" "the earlier run on ${HOST_NAME[$2]} to end" \
    "look at it on ${HOST_NAME[$2]} (ps -ef, its run.log); resume when it has ended." \
    check_no_earlier_run "$1" "$2" ||
    die_step "$?" "${HOST_NAME[$2]}" "step ${STEP_NUMS[$1]}: an earlier run of ${STEP_SCRIPT[$1]} is still going on ${HOST_NAME[$2]}"
}

# run_hosts K I...: runs step K's script on the masters I... in parallel and waits for
# all of them; a host that already did the step (recorded in the state dir) is skipped.
# Stops the recovery, naming each host that failed, when any of them fails.
run_hosts() {
  local k=$1 step=${STEP_IDS[$1]} script=${STEP_SCRIPT[$1]} i j rc failed="" timed_out=0 cmd
  shift
  local -a pids=() idxs=()
  for i in "$@"; do
    if ((! FORCE)) && [[ -f $STATE_DIR/done/$step@${HOST_NAME[i]} ]]; then
      log "[${HOST_NAME[i]}] $script: done by an earlier run; skipping"
      continue
    fi
    cmd=$(host_script_cmd "$k")
    if ((DRY_RUN)); then
      host_ssh_cmd "$k" "$i"
      show_cmd "${SSH_CMD[@]}" "$SSH_TARGET" "$cmd"
      continue
    fi
    if ((STEP_UNINTERRUPTIBLE[k])); then
      wait_earlier_run_gone "$k" "$i"
    fi
    log "[${HOST_NAME[i]}] running $cmd (output in $STATE_DIR/hosts/${HOST_NAME[i]}.log)"
    printf '\n=== %s %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$cmd" >>"$STATE_DIR/hosts/${HOST_NAME[i]}.log"
    HOST_SCRIPTS_RAN=1
    # Each host job gets its own process group, so an interruption stops all of it.
    set -m
    run_host_script "$k" "$i" &
    pids+=("$!")
    set +m
    BG_PIDS+=("$!")
    idxs+=("$i")
  done
  for ((j = 0; j < ${#pids[@]}; j++)); do
    i=${idxs[j]}
    rc=0
    wait "${pids[j]}" || rc=$?
    if ((rc == 0)); then
      : >"$STATE_DIR/done/$step@${HOST_NAME[i]}"
      log "[${HOST_NAME[i]}] $script: done"
      continue
    fi
    case $rc in
    255) log "[${HOST_NAME[i]}] $script: ssh to ${HOST_ADDRESS[i]} failed (exit 255): the host or the connection is gone" ;;
    3)
      log "[${HOST_NAME[i]}] $script: a wait timed out (exit 3)"
      timed_out=1
      ;;
    2) log "[${HOST_NAME[i]}] $script: refused (exit 2): wrong host, not root or not confirmed" ;;
    *) log "[${HOST_NAME[i]}] $script: failed (exit $rc)" ;;
    esac
    failed+="${failed:+, }${HOST_NAME[i]}"
  done
  BG_PIDS=()
  if [[ -n $failed ]]; then
    die_step "$((timed_out ? 3 : 1))" "$failed" "$script failed on $failed: its output is above and in $STATE_DIR/hosts/<host>.log; the host scripts are idempotent, so the step can simply be run again"
  fi
}

# run_host_step K: step K on its hosts, as STEP_HOW says: all at once, one at a time,
# or the recovery host first and then the others at once.
run_host_step() {
  local k=$1 i
  local -a hosts=() rest=()
  read -r -a hosts <<<"${STEP_HOSTS[k]}"
  if ((${#hosts[@]} == 0)); then
    log "step ${STEP_NUMS[k]}: no host to run ${STEP_SCRIPT[k]} on"
    return 0
  fi
  case ${STEP_HOW[k]} in
  serial)
    for i in "${hosts[@]}"; do
      log "step ${STEP_NUMS[k]}: ${STEP_SCRIPT[k]} on ${HOST_NAME[i]}"
      run_hosts "$k" "$i"
    done
    ;;
  recovery-first)
    for i in "${hosts[@]}"; do
      if ((i != RECOVERY_INDEX)); then
        rest+=("$i")
      fi
    done
    log "step ${STEP_NUMS[k]}: ${STEP_SCRIPT[k]} on the recovery host $RECOVERY_HOST first"
    run_hosts "$k" "$RECOVERY_INDEX"
    if ((${#rest[@]} > 0)); then
      log "step ${STEP_NUMS[k]}: ${STEP_SCRIPT[k]} on $(host_list "${rest[@]}"), in parallel"
      run_hosts "$k" "${rest[@]}"
    fi
    ;;
  *)
    log "step ${STEP_NUMS[k]}: ${STEP_SCRIPT[k]} on $(host_list "${hosts[@]}")$( ((${#hosts[@]} > 1)) && printf ', in parallel')"
    run_hosts "$k" "${hosts[@]}"
    ;;
  esac
}

# --- Plan and confirmation --------------------------------------------------------------
host_list() {
  local out="" i
  for i in "$@"; do
    out+="${out:+, }${HOST_NAME[i]}"
  done
  printf '%s' "$out"
}

# other_hosts: the masters but the recovery host, comma-separated.
other_hosts() {
  if ((${#OTHER_INDEXES[@]} == 0)); then
    printf 'no other master'
    return 0
  fi
  host_list "${OTHER_INDEXES[@]}"
}

# describe_step K: what step K will do, for the plan shown before the first change.
describe_step() {
  local k=$1
  local -a hosts=()
  case ${STEP_KIND[k]} in
  copy-backup)
    if [[ -n $BACKUP_DIR ]]; then
      printf 'copy %s from %s to %s:%s and verify it there' "${BACKUP_NAMES[*]}" "$BACKUP_DIR" "$RECOVERY_HOST" "$BACKUP_REMOTE_DIR"
    else
      printf 'verify %s is already in %s on %s (no local backup directory)' "${BACKUP_NAMES[*]}" "$BACKUP_REMOTE_DIR" "$RECOVERY_HOST"
    fi
    ;;
  push-scripts) printf 'copy the kit scripts and %s to restorekit/%s/ on %s' "$HOST_LIB" "$KIT_NAME" "$(host_list "${!HOST_NAME[@]}")" ;;
  redeploy) printf 'oc patch %s cluster with a unique forceRedeploymentReason, wait for AllNodesAtLatestRevision (up to %s)' "${STEP_RESOURCE[k]}" "$(fmt_dur "${STEP_TIMEOUT[k]}")" ;;
  *)
    if [[ -z ${STEP_SCRIPT[k]} ]]; then
      printf '%s' "${STEP_TITLES[k]}"
      return 0
    fi
    read -r -a hosts <<<"${STEP_HOSTS[k]}"
    if ((${#hosts[@]} == 0)); then
      printf '%s: no host to run it on' "${STEP_TITLES[k]}"
    elif ((${#hosts[@]} == 1)); then
      printf 'on %s: %s (%s)' "$(host_list "${hosts[@]}")" "$(host_script_cmd "$k")" "${STEP_TITLES[k]}"
    else
      printf 'on %s, %s: %s (%s)' "$(host_list "${hosts[@]}")" "$(how_text "${STEP_HOW[k]}")" "$(host_script_cmd "$k")" "${STEP_TITLES[k]}"
    fi
    ;;
  esac
}

# how_text HOW: STEP_HOW in words.
how_text() {
  case $1 in
  serial) printf 'one at a time' ;;
  recovery-first) printf 'the recovery host first, then the others in parallel' ;;
  *) printf 'in parallel' ;;
  esac
}

confirm_plan() {
  local k answer
  CONFIRMED=1
  log "PLAN for cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION), recovery host $RECOVERY_HOST:"
  for k in "${SELECTED[@]}"; do
    if ! step_done "$k"; then
      log "  step ${STEP_NUMS[k]} (${STEP_IDS[k]}): $(describe_step "$k")"
    fi
  done
  if ((AGAIN)); then
    log "  NOTE: --again: ${AGAIN_SCRIPTS[*]} redo what an earlier completed run did"
  fi
  if ((API_UNAVAILABLE)); then
    log "  NOTE: --api-unavailable: release, proxy and control-plane nodes were taken from the kit ($FACTS_SOURCE), not checked against the live cluster"
  fi
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
  read -r -p "The Kubernetes API will be unavailable until the restore is done. Type yes to start: " answer
  if [[ $answer != yes ]]; then
    die_usage "not confirmed: nothing was changed by this run"
  fi
  log "confirmed"
}

# --- Step: preflight (P1-P5, 1, 2) -----------------------------------------------------------
PREFLIGHT_PROBLEMS=()
# PROBLEM_FILE, when set (in a background check), collects the problems instead.
PROBLEM_FILE=""
problem() {
  log "  PROBLEM: $*"
  if [[ -n $PROBLEM_FILE ]]; then
    printf '%s\n' "$*" >>"$PROBLEM_FILE"
  else
    PREFLIGHT_PROBLEMS+=("$*")
  fi
}

# normalize_list LIST: a comma-separated list sorted, without empty entries.
normalize_list() {
  tr ',' '\n' <<<"$1" | sed '/^[[:space:]]*$/d' | LC_ALL=C sort -u | tr '\n' ',' | sed 's/,$//'
}

# check_api: tells apart what answers: API_STATE is ok (kube-apiserver ready), unreachable
# (no route, refused, timed out), etcd (kube-apiserver answers, its etcd does not: no
# quorum, the usual reason to restore) or unready (kube-apiserver answers but is not
# ready for another reason); API_SEEN says it in words. /readyz is served by
# kube-apiserver itself, to any client, and names the failing check.
API_STATE=""
API_SEEN=""
check_api() {
  if oc_try get --raw /readyz; then
    API_STATE=ok
    API_SEEN="kube-apiserver is ready (/readyz)"
    return 0
  fi
  case $OC_OUT in
  *"Unable to connect to the server"* | *"connection refused"* | *"no route to host"* | *"i/o timeout"* | *"no such host"* | *"did you specify the right host or port"* | *"TLS handshake timeout"* | *"Client.Timeout exceeded"*)
    API_STATE=unreachable
    API_SEEN="the API does not answer: no route to it ($(first_line "$OC_OUT"))"
    ;;
  *"Unauthorized"* | *"must be logged in"*)
    die_step 1 "" "P2: the API answers but refuses these credentials ($(first_line "$OC_OUT")): log in as a cluster-admin, preferably export KUBECONFIG=<install dir>/auth/kubeconfig, and re-run."
    ;;
  *etcd*)
    API_STATE=etcd
    API_SEEN="kube-apiserver answers but its etcd does not (/readyz: $(first_line "$OC_OUT")): etcd has lost quorum"
    ;;
  *)
    API_STATE=unready
    API_SEEN="kube-apiserver answers but is not ready (/readyz: $(first_line "$OC_OUT"))"
    ;;
  esac
  return 1
}

# check_cluster_live: P2, P1, the proxy and the master nodes, read from the live API.
# cluster-admin is checked with a SelfSubjectAccessReview (oc auth can-i), which
# kube-apiserver answers itself; oc whoami reads users/~ from openshift-apiserver (an
# aggregated API) and only names the user.
OC_USER=""
check_cluster_live() {
  local aggregated=0
  oc_try auth can-i '*' '*' --all-namespaces || true
  if ! grep -qx yes <<<"$OC_OUT"; then
    die_step 1 "" "P2: this login is not a cluster-admin (oc auth can-i '*' '*' --all-namespaces: $(first_line "$OC_OUT")): log in as one, preferably export KUBECONFIG=<install dir>/auth/kubeconfig, and re-run."
  fi
  if oc_try whoami; then
    OC_USER=$(first_line "$OC_OUT")
  else
    aggregated=1
    OC_USER="(unknown)"
    log "  P2: oc whoami fails ($(first_line "$OC_OUT")): only the aggregated APIs (openshift-apiserver) fail; kube-apiserver answers, so the checks go on"
  fi
  log "  P2: oc is logged in as $OC_USER, who may do everything in every namespace"
  if [[ $OC_USER != system:admin ]] && ((! aggregated)); then
    log "  note: $OC_USER is probably a token login; an OAuth token can stop working during the restore. A certificate-based kubeconfig (the installer's auth/kubeconfig, system:admin) keeps working."
  fi
  if ((API_UNAVAILABLE)); then
    log "  note: --api-unavailable was given but the API answers: everything is checked against the live cluster"
  fi

  log "P1: cluster version"
  check_release
  log "step ${PROXY_STEP} (read now, while the API answers): cluster-wide proxy"
  check_proxy

  log "P3, P4: the cluster's control-plane nodes are the inventory's masters"
  check_master_nodes
}

# check_release: P1. The clusterversion's status.desired.version and its newest history
# entry (status.history is newest first) must both be the kit's release, that entry
# Completed: a cluster mid-upgrade (Partial) runs a mix of releases, and a backup
# restores only onto the release it was taken on.
check_release() {
  local desired newest state version seen=""
  if ! oc_try get clusterversion version -o 'jsonpath={.status.desired.version}{"\n"}{range .status.history[*]}{.state}{" "}{.version}{"\n"}{end}'; then
    die_step 1 "" "P1: oc get clusterversion version failed: $(first_line "$OC_OUT")"
  fi
  desired=$(sed -n 1p <<<"$OC_OUT")
  newest=$(sed -n 2p <<<"$OC_OUT")
  read -r state version <<<"$newest" || true
  seen=$(sed -n '2,$p' <<<"$OC_OUT" | sed '/^[[:space:]]*$/d' | head -n 5 | tr '\n' ',' | sed 's/,$//; s/,/, /g')
  if [[ $desired != "$CLUSTER_VERSION" ]]; then
    die_step 1 "" "P1: the cluster runs OpenShift '$desired' but this kit and its backup are for $CLUSTER_VERSION (compared with the $RELEASE_SOURCE; history, newest first: ${seen:-none}): a backup restores only onto the same z-stream release."
  fi
  if [[ $state != Completed || $version != "$CLUSTER_VERSION" ]]; then
    die_step 1 "" "P1: the cluster is not settled at $CLUSTER_VERSION: its newest clusterversion history entry is ${newest:-missing} (desired $desired; history, newest first: ${seen:-none}). A cluster mid-upgrade runs a mix of releases and a backup restores only onto the release it was taken on: let the update finish (oc adm upgrade) or restore with a kit for the release the backup was taken on."
  fi
  log "  P1: compared the cluster's clusterversion (status.desired.version $desired, newest history entry Completed $version) with the kit's release $CLUSTER_VERSION (the $RELEASE_SOURCE): they match"
}

# use_recorded_facts: --api-unavailable: the facts the kit recorded when it was built
# stand in for the live cluster's, and the log says they were not checked.
use_recorded_facts() {
  OC_USER="(API unavailable)"
  log "  --api-unavailable: NOT CHECKED against the live cluster, taken as the kit recorded them (kit.json facts, $FACTS_SOURCE):"
  log "    P1: release $CLUSTER_VERSION"
  log "    step ${PROXY_STEP}: proxy httpProxy=${PROXY_HTTP:-(not set)} httpsProxy=${PROXY_HTTPS:-(not set)} noProxy=${PROXY_NO:-(not set)}"
  log "    P3, P4: control-plane nodes ${MASTER_NAMES[*]}"
  log "  every ssh, hostname, sudo, tool, backup and earlier-recovery check below still runs"
}

# The cluster's proxy as the preflight read it for step PROXY_STEP (status.httpProxy, httpsProxy, noProxy), kept in
# preflight.txt and proxy.env of the state dir for the restore; PROXY_FROM says where
# the values come from.
CLUSTER_PROXY_HTTP=""
CLUSTER_PROXY_HTTPS=""
CLUSTER_PROXY_NO=""
PROXY_FROM="the kit (not read from the cluster)"
# check_proxy: step PROXY_STEP, read while the API answers. httpProxy and httpsProxy must be the
# inventory's exactly; noProxy is compared as a set that holds the inventory's: the
# network operator expands status.noProxy (spec.noProxy plus 127.0.0.1, localhost, .svc,
# .cluster.local, api-int, the machine, cluster and service networks, ...), so an
# inventory written from install-config or spec lists fewer entries.
check_proxy() {
  local field got want entry missing="" ok=1
  for field in httpProxy httpsProxy noProxy; do
    if ! oc_try get proxy cluster -o "jsonpath={.status.$field}"; then
      problem "step ${PROXY_STEP}: oc get proxy cluster failed: $(first_line "$OC_OUT")"
      return 0
    fi
    case $field in
    httpProxy) CLUSTER_PROXY_HTTP=$OC_OUT ;;
    httpsProxy) CLUSTER_PROXY_HTTPS=$OC_OUT ;;
    noProxy) CLUSTER_PROXY_NO=$OC_OUT ;;
    esac
  done
  PROXY_FROM="cluster status"
  log "  step ${PROXY_STEP}: the cluster's proxy status, for the restore: httpProxy=${CLUSTER_PROXY_HTTP:-(not set)} httpsProxy=${CLUSTER_PROXY_HTTPS:-(not set)} noProxy=${CLUSTER_PROXY_NO:-(not set)}"
  for field in httpProxy httpsProxy; do
    if [[ $field == httpProxy ]]; then
      got=$CLUSTER_PROXY_HTTP want=$PROXY_HTTP
    else
      got=$CLUSTER_PROXY_HTTPS want=$PROXY_HTTPS
    fi
    if [[ $got != "$want" ]]; then
      problem "step ${PROXY_STEP}: the cluster's proxy status.$field is '$got' but the inventory says '$want': cluster-restore.sh would run with the wrong proxy; fix the inventory's proxy and rebuild the kit"
      ok=0
    else
      log "  step ${PROXY_STEP}: proxy $field: ${got:-(not set)}, as the inventory's"
    fi
  done
  got=",$(normalize_list "$CLUSTER_PROXY_NO"),"
  for entry in $(normalize_list "$PROXY_NO" | tr ',' ' '); do
    if [[ $got != *",$entry,"* ]]; then
      missing+="${missing:+, }$entry"
    fi
  done
  if [[ -n $missing ]]; then
    problem "step ${PROXY_STEP}: the inventory's noProxy has $missing, which the cluster's status.noProxy '$CLUSTER_PROXY_NO' lacks: the inventory's noProxy must list only entries the cluster has (its spec.noProxy or status.noProxy); fix it and rebuild the kit"
    ok=0
  elif [[ -n $PROXY_NO ]]; then
    log "  step ${PROXY_STEP}: proxy noProxy: every entry of the inventory's ($(normalize_list "$PROXY_NO" | tr ',' ' ')) is in the cluster's status.noProxy, which the network operator expands"
  else
    log "  step ${PROXY_STEP}: proxy noProxy: the inventory has none${CLUSTER_PROXY_NO:+; status.noProxy of the cluster: $CLUSTER_PROXY_NO}"
  fi
  if ((ok)); then
    write_proxy_env
  fi
}

# write_proxy_env: proxy.env in the state dir, the cluster's proxy status as the
# variables of step PROXY_STEP, to source before running the restore by hand.
write_proxy_env() {
  {
    printf '# The cluster-wide proxy of %s read by the preflight (%s) at %s.\n' "$CLUSTER_NAME" "$PROXY_FROM" "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
    if [[ -n $CLUSTER_PROXY_HTTP ]]; then
      printf 'export HTTP_PROXY=%q\n' "$CLUSTER_PROXY_HTTP"
    fi
    if [[ -n $CLUSTER_PROXY_HTTPS ]]; then
      printf 'export HTTPS_PROXY=%q\n' "$CLUSTER_PROXY_HTTPS"
    fi
    if [[ -n $CLUSTER_PROXY_NO ]]; then
      printf 'export NO_PROXY=%q\n' "$CLUSTER_PROXY_NO"
    fi
  } >"$STATE_DIR/proxy.env"
  log "  step ${PROXY_STEP}: kept in $STATE_DIR/proxy.env"
}

# check_master_nodes: the master nodes the API lists are exactly the inventory's: a
# master left out would keep its old etcd data, and step 13 waits for every one listed.
check_master_nodes() {
  local nodes name missing="" extra=""
  if ! oc_try get nodes -l node-role.kubernetes.io/master -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}'; then
    log "  note: could not list the master nodes ($(first_line "$OC_OUT")): the inventory's node names are not checked against the cluster"
    return 0
  fi
  nodes=$OC_OUT
  for name in "${MASTER_NAMES[@]}"; do
    if ! grep -qxF -- "$name" <<<"$nodes"; then
      missing+="${missing:+, }$name"
    fi
  done
  while IFS= read -r name; do
    if [[ -n $name && " ${MASTER_NAMES[*]} " != *" $name "* ]]; then
      extra+="${extra:+, }$name"
    fi
  done <<<"$nodes"
  if [[ -n $missing ]]; then
    problem "P3/P4: the cluster has no master node named $missing: the inventory's masters[].name must be the node names (oc get nodes)"
  fi
  if [[ -n $extra ]]; then
    problem "P4: the cluster's master node(s) $extra are not in the inventory: the procedure needs every control-plane host"
  fi
  if [[ -z $missing && -z $extra ]]; then
    log "  P3, P4: master nodes: ${MASTER_NAMES[*]}"
  fi
}

# check_jump_hosts: each jump host alone, before the masters behind it (BatchMode, its
# connect timeout, through your ~/.ssh/config as the jump leg is): a jump host that
# fails is named once, and the masters behind it are not tried. FAILED_JUMPS lists them.
FAILED_JUMPS=" "
check_jump_hosts() {
  local j err errfile="$STATE_DIR/ssh/err.jump"
  local -a opts
  for ((j = 0; j < ${#JUMP_SPEC[@]}; j++)); do
    opts=(-o ControlMaster=no -o ControlPath=none)
    if [[ -n ${JUMP_USER[j]} ]]; then
      opts+=(-l "${JUMP_USER[j]}")
    fi
    if [[ -n ${JUMP_PORT[j]} ]]; then
      opts+=(-p "${JUMP_PORT[j]}")
    fi
    if ssh -F "$SSH_CONFIG" -o BatchMode=yes -o "ConnectTimeout=${JUMP_TIMEOUT[j]}" "${opts[@]}" "${JUMP_ADDR[j]}" true </dev/null >/dev/null 2>"$errfile"; then
      log "  P4/2: jump host ${JUMP_SPEC[j]}: ssh ok"
    else
      err=$(first_line "$(cat "$errfile")")
      FAILED_JUMPS+="${JUMP_SPEC[j]} "
      problem "P4/2: cannot ssh to the jump host ${JUMP_SPEC[j]}: ${err:-no error output}. The masters behind it were not tried. Its key, user and host key come from your ~/.ssh/config and ssh agent: try ssh ${JUMP_SPEC[j]%%:*} by hand (the RUNBOOK says how to add host keys on first contact)"
    fi
    rm -f "$errfile"
  done
}

check_host() {
  local i=$1 name=${HOST_NAME[$1]} got
  if [[ -n ${HOST_JUMP[i]} && $FAILED_JUMPS == *" ${HOST_JUMP[i]} "* ]]; then
    return 0 # check_jump_hosts reported it
  fi
  if ! host_out "$i" hostname; then
    problem "P4/2: cannot ssh to $name (${HOST_USER[i]}@${HOST_ADDRESS[i]} port ${HOST_PORT[i]}${HOST_JUMP[i]:+ via ${HOST_JUMP[i]}}): ${HOST_ERR:-no error output}"
    return 0
  fi
  got=$(first_line "$HOST_OUT")
  # Compared case-insensitively, as the host scripts do.
  if [[ ${got,,} != "${HOST_HOSTNAME[i],,}" && (-z ${HOST_SHORTNAME[i]} || ${got,,} != "${HOST_SHORTNAME[i],,}") ]]; then
    problem "P4: ${HOST_ADDRESS[i]} says its hostname is '$got', but the inventory expects '${HOST_HOSTNAME[i]}' for $name: wrong address in the inventory?"
    return 0
  fi
  if ! host_out "$i" 'sudo -n true'; then
    problem "P4: $name: passwordless sudo does not work for ${HOST_USER[i]} (sudo -n true: ${HOST_ERR:-failed})"
    return 0
  fi
  if ((i == RECOVERY_INDEX)) && ! host_out "$i" "test -x $(printf '%q' "$CLUSTER_RESTORE")"; then
    problem "P3: $name (the recovery host) has no $CLUSTER_RESTORE"
    return 0
  fi
  log "  P4/2: $name: ssh ok${HOST_JUMP[i]:+ via ${HOST_JUMP[i]}}, hostname $got, passwordless sudo"
}

# Earlier recoveries: run directories with a "completed" file; restoring a recovered
# cluster again would throw away everything written since.
# check_host_bg I: check_host and the completed runs of master I, in the background:
# problems go to preflight-host.I in the state dir, completed runs to completed-runs.I.
check_host_bg() {
  local i=$1 inner cmd dir script
  PROBLEM_FILE="$STATE_DIR/preflight-host.$i"
  : >"$PROBLEM_FILE"
  : >"$STATE_DIR/completed-runs.$i"
  check_host "$i"
  # shellcheck disable=SC2016 # $d is expanded by the remote shell
  printf -v inner 'for d in %q/restorekit-%q-*; do if [ -f "$d/completed" ]; then printf "%%s %%s\\n" "$d" "$(head -n 1 "$d/completed")"; fi; done' "${QUARANTINE_DIR%/}" "$CLUSTER_NAME"
  printf -v cmd 'sudo bash -c %q' "$inner"
  if ! host_out "$i" "$cmd"; then
    return 0 # check_host reports an unreachable host
  fi
  while read -r dir script; do
    if [[ " ${AGAIN_SCRIPTS[*]} " == *" $script "* ]]; then
      printf '%s: %s completed in %s\n' "${HOST_NAME[i]}" "$script" "$dir" >>"$STATE_DIR/completed-runs.$i"
    fi
  done <<<"$HOST_OUT"
}

# check_earlier_recovery: no earlier run of the host scripts completed a recovery of
# this cluster on the hosts (what check_host_bg found).
check_earlier_recovery() {
  local i line found=""
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    while IFS= read -r line; do
      found+="${found:+; }$line"
    done <"$STATE_DIR/completed-runs.$i"
    rm -f "$STATE_DIR/completed-runs.$i"
  done
  if [[ -z $found ]]; then
    log "  P3, P4: no completed run of ${AGAIN_SCRIPTS[*]} on any host"
  elif ((AGAIN)); then
    log "  WARNING: an earlier recovery completed here ($found); --again: recovering again"
  else
    problem "an earlier recovery of this cluster completed on its hosts ($found): restoring again would throw away everything written since. Check the cluster first (oc get pods -n openshift-etcd, oc get clusteroperators); only to restore it again, run recover.sh with --again"
  fi
}

# check_local_backup: P5 on this workstation, each file of the pair with its size and
# sha256.
check_local_backup() {
  local k f size sum
  for ((k = 0; k < ${#BACKUP_NAMES[@]}; k++)); do
    f="$BACKUP_DIR/${BACKUP_NAMES[k]}"
    if [[ ! -f $f ]]; then
      problem "P5: $f is missing"
      continue
    fi
    size=$(stat -c %s -- "$f")
    if [[ -n ${BACKUP_SIZES[k]} && $size != "${BACKUP_SIZES[k]}" ]]; then
      problem "P5: $f is $size bytes, the kit expects ${BACKUP_SIZES[k]}: not the backup this kit was built for"
      continue
    fi
    if [[ -n ${BACKUP_SHA256[k]} ]]; then
      sum=$(sha256sum -- "$f" | awk '{ print $1 }')
      if [[ $sum != "${BACKUP_SHA256[k]}" ]]; then
        problem "P5: $f has sha256 $sum, the kit expects ${BACKUP_SHA256[k]}: damaged or another backup"
        continue
      fi
    fi
    log "  P5: $f: ${size} bytes${BACKUP_SHA256[k]:+, sha256 ok}"
  done
}

# check_remote_backup: the pair in BACKUP_REMOTE_DIR on the recovery host, with sizes and
# sha256, and no other backup file beside it (cluster-restore.sh takes the newest file of
# each kind). Reports problems; returns 1 when there was one.
check_remote_backup() {
  local k f cmd bad=0 name known
  printf -v cmd 'ls -1A -- %q' "$BACKUP_REMOTE_DIR"
  if ! host_out "$RECOVERY_INDEX" "$cmd"; then
    problem "P5/3: cannot list $BACKUP_REMOTE_DIR on $RECOVERY_HOST: ${HOST_ERR:-failed}"
    return 1
  fi
  while IFS= read -r name; do
    case $name in
    snapshot*.db | static_kuberesources*.tar.gz)
      known=0
      for ((k = 0; k < ${#BACKUP_NAMES[@]}; k++)); do
        if [[ $name == "${BACKUP_NAMES[k]}" ]]; then
          known=1
        fi
      done
      if ((! known)); then
        problem "step ${COPY_BACKUP_STEP}: $RECOVERY_HOST:$BACKUP_REMOTE_DIR also holds $name: cluster-restore.sh would pick the newest file of each kind; move it out of that directory"
        bad=1
      fi
      ;;
    esac
  done <<<"$HOST_OUT"
  for ((k = 0; k < ${#BACKUP_NAMES[@]}; k++)); do
    f="$BACKUP_REMOTE_DIR/${BACKUP_NAMES[k]}"
    printf -v cmd 'stat -c %%s -- %q && sha256sum -- %q' "$f" "$f"
    if ! host_out "$RECOVERY_INDEX" "$cmd"; then
      problem "step ${COPY_BACKUP_STEP}: $RECOVERY_HOST:$f is missing or unreadable: ${HOST_ERR:-failed}"
      bad=1
      continue
    fi
    if [[ -n ${BACKUP_SIZES[k]} && $(sed -n 1p <<<"$HOST_OUT") != "${BACKUP_SIZES[k]}" ]]; then
      problem "step ${COPY_BACKUP_STEP}: $RECOVERY_HOST:$f is $(sed -n 1p <<<"$HOST_OUT") bytes, the kit expects ${BACKUP_SIZES[k]}"
      bad=1
      continue
    fi
    if [[ -n ${BACKUP_SHA256[k]} && $(sed -n 2p <<<"$HOST_OUT" | awk '{ print $1 }') != "${BACKUP_SHA256[k]}" ]]; then
      problem "step ${COPY_BACKUP_STEP}: $RECOVERY_HOST:$f has sha256 $(sed -n 2p <<<"$HOST_OUT" | awk '{ print $1 }'), the kit expects ${BACKUP_SHA256[k]}"
      bad=1
      continue
    fi
    log "  step ${COPY_BACKUP_STEP}: $RECOVERY_HOST:$f: $(sed -n 1p <<<"$HOST_OUT") bytes${BACKUP_SHA256[k]:+, sha256 ok}"
  done
  return "$bad"
}

step_preflight() {
  local i line
  local -a pids=()
  PREFLIGHT_PROBLEMS=()
  log "kit: $KIT_DIR ($KIT_NAME, profile $PROFILE_NAME, restorekit $TOOL_VERSION)"
  if [[ -f $KIT_DIR/SHA256SUMS ]]; then
    if ! (cd "$KIT_DIR" && sha256sum -c --quiet SHA256SUMS) >>"$LOG_FILE" 2>&1; then
      die_step 1 "" "kit files do not match $KIT_DIR/SHA256SUMS (details in $LOG_FILE): the kit was changed or damaged; use an intact copy"
    fi
    log "  kit: every file matches SHA256SUMS"
  else
    log "  kit: no SHA256SUMS in $KIT_DIR (an unpackaged kit): its files were not checked"
  fi

  log "P2: the API, oc access and cluster-admin"
  if check_api; then
    check_cluster_live
  elif ((API_UNAVAILABLE)); then
    log "  P2: $API_SEEN"
    use_recorded_facts
  else
    die_step 1 "" "P2: $API_SEEN. Without the API the preflight cannot compare the cluster's release, proxy and control-plane nodes with the kit. If this is the outage you are restoring from, run recover.sh again with --api-unavailable: the preflight then takes those facts as the kit recorded them when it was built (kit.json facts) without checking them against the live cluster; every ssh, hostname, sudo, tool, backup and earlier-recovery check still runs."
  fi

  if ((${#JUMP_SPEC[@]} > 0)); then
    log "P4, 2: the jump host(s) first: ${JUMP_SPEC[*]}"
    check_jump_hosts
  fi
  log "P3, P4, 1, 2: ssh to every master (through $SSH_CONFIG), its hostname and passwordless sudo, in parallel; one persistent connection per master under $CONTROL_DIR"
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    check_host_bg "$i" &
    pids+=("$!")
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    wait "${pids[i]}" || true
  done
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    while IFS= read -r line; do
      PREFLIGHT_PROBLEMS+=("$line")
    done <"$STATE_DIR/preflight-host.$i"
    rm -f "$STATE_DIR/preflight-host.$i"
  done
  check_earlier_recovery
  preflight_profile_checks
  preflight_checks_416

  log "P5: the backup pair"
  if ((${#BACKUP_NAMES[@]} == 0)); then
    problem "P5: the kit names no backup files: rebuild it with backup.localDir or backup.snapshot and backup.staticResources"
  elif [[ -n $BACKUP_DIR ]]; then
    check_local_backup
  else
    log "  P5: no local backup directory (--backup-dir or the kit's backup/): the pair must already be on the recovery host"
    if ! check_remote_backup; then
      problem "P5: no local backup directory was given and the recovery host does not hold the pair: give the backup pair one of three ways: recover.sh --backup-dir DIR (a directory holding ${BACKUP_NAMES[*]}); a kit built with restorekit build --include-backup (the pair in its backup/); or copy ${BACKUP_NAMES[0]} and ${BACKUP_NAMES[1]:-} by hand to $BACKUP_REMOTE_DIR on $RECOVERY_HOST"
    fi
  fi

  {
    printf 'checked=%s\nuser=%s\nversion=%s\napi=%s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$OC_USER" "$CLUSTER_VERSION" "$API_STATE"
    if [[ $PROXY_FROM == "cluster status" ]]; then
      printf 'proxyFrom=%s\nhttpProxy=%s\nhttpsProxy=%s\nnoProxy=%s\n' "$PROXY_FROM" "$CLUSTER_PROXY_HTTP" "$CLUSTER_PROXY_HTTPS" "$CLUSTER_PROXY_NO"
    else
      printf 'proxyFrom=%s\nhttpProxy=%s\nhttpsProxy=%s\nnoProxy=%s\n' "$PROXY_FROM" "$PROXY_HTTP" "$PROXY_HTTPS" "$PROXY_NO"
    fi
    printf 'backupDir=%s\n' "$BACKUP_DIR"
  } >"$STATE_DIR/preflight.txt"

  if ((${#PREFLIGHT_PROBLEMS[@]} > 0)); then
    die_step 1 "" "preflight found ${#PREFLIGHT_PROBLEMS[@]} problem(s) (listed above)"
  fi
  log "preflight: all checks passed"
}

# --- Step 3: the backup on the recovery host ----------------------------------------------
step_copy_backup() {
  local k f cmd
  if [[ -z $BACKUP_DIR ]]; then
    log "step ${COPY_BACKUP_STEP}: no local backup directory: checking the pair already in $BACKUP_REMOTE_DIR on $RECOVERY_HOST"
    if ! check_remote_backup; then
      die_step 1 "$RECOVERY_HOST" "step ${COPY_BACKUP_STEP}: the backup pair is not ready in $BACKUP_REMOTE_DIR on $RECOVERY_HOST: give it with recover.sh --backup-dir DIR, a kit built with restorekit build --include-backup, or copy ${BACKUP_NAMES[*]} there by hand"
    fi
    return 0
  fi
  ssh_cmd "$RECOVERY_INDEX"
  printf -v cmd 'mkdir -p -- %q' "$BACKUP_REMOTE_DIR"
  if ((DRY_RUN)); then
    show_cmd "${SSH_CMD[@]}" "$SSH_TARGET" "$cmd"
    for ((k = 0; k < ${#BACKUP_NAMES[@]}; k++)); do
      show_cmd "${SCP_CMD[@]}" "$BACKUP_DIR/${BACKUP_NAMES[k]}" "$SCP_HOST:$BACKUP_REMOTE_DIR/"
    done
    return 0
  fi
  if ! host_out "$RECOVERY_INDEX" "$cmd"; then
    die_step 1 "$RECOVERY_HOST" "step ${COPY_BACKUP_STEP}: cannot create $BACKUP_REMOTE_DIR on $RECOVERY_HOST as ${HOST_USER[RECOVERY_INDEX]}: ${HOST_ERR:-failed}"
  fi
  for ((k = 0; k < ${#BACKUP_NAMES[@]}; k++)); do
    f="$BACKUP_REMOTE_DIR/${BACKUP_NAMES[k]}"
    printf -v cmd 'stat -c %%s -- %q && sha256sum -- %q' "$f" "$f"
    if [[ -n ${BACKUP_SHA256[k]} ]] && host_out "$RECOVERY_INDEX" "$cmd" &&
      [[ $(sed -n 1p <<<"$HOST_OUT") == "${BACKUP_SIZES[k]}" && $(sed -n 2p <<<"$HOST_OUT" | awk '{ print $1 }') == "${BACKUP_SHA256[k]}" ]]; then
      log "  step ${COPY_BACKUP_STEP}: $RECOVERY_HOST:$f is already there, same size and sha256: not copied again"
      continue
    fi
    log "  step ${COPY_BACKUP_STEP}: copying $BACKUP_DIR/${BACKUP_NAMES[k]} ($(stat -c %s -- "$BACKUP_DIR/${BACKUP_NAMES[k]}") bytes) to $RECOVERY_HOST:$BACKUP_REMOTE_DIR/"
    connect_host "$RECOVERY_INDEX"
    if ! "${SCP_CMD[@]}" "$BACKUP_DIR/${BACKUP_NAMES[k]}" "$SCP_HOST:$BACKUP_REMOTE_DIR/" </dev/null 2>>"$LOG_FILE"; then
      die_step 1 "$RECOVERY_HOST" "step ${COPY_BACKUP_STEP}: scp of ${BACKUP_NAMES[k]} to $RECOVERY_HOST:$BACKUP_REMOTE_DIR failed (details in $LOG_FILE)"
    fi
  done
  PREFLIGHT_PROBLEMS=()
  if ! check_remote_backup; then
    die_step 1 "$RECOVERY_HOST" "step ${COPY_BACKUP_STEP}: the backup on $RECOVERY_HOST does not verify (see above)"
  fi
}

# --- Push the host scripts ------------------------------------------------------------------
# push_host I: copies master I's kit scripts to restorekit/<kit>/ in the ssh user's home
# and checks the copies byte for byte; says what failed and returns 1 on a failure.
push_host() {
  local i=$1 src="$KIT_DIR/hosts/${HOST_NAME[$1]}" cmd s
  local -a names files=()
  read -r -a names <<<"${HOST_SCRIPTS[i]}"
  for s in "${names[@]}"; do
    files+=("$src/$s")
  done
  ssh_cmd "$i"
  # The library's directory goes along (scp -r): restorekit/<kit>/lib/ on the host.
  files+=("$KIT_DIR/${HOST_LIB%%/*}")
  printf -v cmd 'mkdir -p -- %q' "$REMOTE_KIT_DIR"
  if ((DRY_RUN)); then
    show_cmd "${SSH_CMD[@]}" "$SSH_TARGET" "$cmd"
    show_cmd "${SCP_CMD[@]}" -r "${files[@]}" "$SCP_HOST:$REMOTE_KIT_DIR/"
    return 0
  fi
  if ! host_out "$i" "$cmd"; then
    log "[${HOST_NAME[i]}] ERROR: cannot create ~${HOST_USER[i]}/$REMOTE_KIT_DIR: ${HOST_ERR:-failed}"
    return 1
  fi
  connect_host "$i"
  if ! "${SCP_CMD[@]}" -r "${files[@]}" "$SCP_HOST:$REMOTE_KIT_DIR/" </dev/null 2>>"$LOG_FILE"; then
    log "[${HOST_NAME[i]}] ERROR: scp of the scripts to $REMOTE_KIT_DIR failed (details in $LOG_FILE)"
    return 1
  fi
  # The copies must be byte for byte the kit's.
  printf -v cmd 'cd -- %q && sha256sum -c --quiet -' "$REMOTE_KIT_DIR"
  if ! { (cd "$src" && sha256sum "${names[@]}") && (cd "$KIT_DIR" && sha256sum "$HOST_LIB"); } | on_host "$i" "$cmd" >>"$LOG_FILE" 2>&1; then
    log "[${HOST_NAME[i]}] ERROR: the scripts copied to $REMOTE_KIT_DIR do not match the kit (details in $LOG_FILE)"
    return 1
  fi
  : >"$STATE_DIR/done/push-scripts@${HOST_NAME[i]}"
  log "[${HOST_NAME[i]}] scripts: ${HOST_SCRIPTS[i]} and $HOST_LIB in ~${HOST_USER[i]}/$REMOTE_KIT_DIR/, sha256 verified"
}

# step_push_scripts: push_host on every master, in parallel.
step_push_scripts() {
  local i k s failed=""
  local -a pids=() idxs=()
  if [[ ! -f $KIT_DIR/$HOST_LIB ]]; then
    die_step 1 "" "the kit has no $HOST_LIB: an incomplete kit"
  fi
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    for s in ${HOST_SCRIPTS[i]}; do
      if [[ ! -f $KIT_DIR/hosts/${HOST_NAME[i]}/$s ]]; then
        die_step 1 "${HOST_NAME[i]}" "the kit has no hosts/${HOST_NAME[i]}/$s: an incomplete kit"
      fi
    done
  done
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    if ((! FORCE)) && [[ -f $STATE_DIR/done/push-scripts@${HOST_NAME[i]} ]]; then
      log "[${HOST_NAME[i]}] scripts: pushed by an earlier run; skipping"
    elif ((DRY_RUN)); then
      push_host "$i"
    else
      push_host "$i" &
      pids+=("$!")
      BG_PIDS+=("$!")
      idxs+=("$i")
    fi
  done
  for ((k = 0; k < ${#pids[@]}; k++)); do
    if ! wait "${pids[k]}"; then
      failed+="${failed:+, }${HOST_NAME[${idxs[k]}]}"
    fi
  done
  BG_PIDS=()
  if [[ -n $failed ]]; then
    die_step 1 "$failed" "copying the kit scripts failed on $failed (see above)"
  fi
}

# --- Steps on the workstation ------------------------------------------------------------
# The number the check of the recovery host's running etcd container cites (the kubelet
# restart's host script checks it too; '' without a single-member check).
readonly ETCD_RUNNING_NUM=12

# check_etcd_container: the condition of ETCD_RUNNING_NUM (4.5: step 9.1), an etcd container running on the recovery
# host.
check_etcd_container() {
  local cmd
  printf -v cmd 'sudo crictl ps --name %q --state running -q' '^etcd$'
  if ! host_out "$RECOVERY_INDEX" "$cmd"; then
    POLL_SEEN="crictl on $RECOVERY_HOST failed: ${HOST_ERR:-no output}"
    return 1
  fi
  if [[ -z $HOST_OUT ]]; then
    POLL_SEEN="no running etcd container on $RECOVERY_HOST yet"
    return 1
  fi
  POLL_SEEN="etcd container $(first_line "$HOST_OUT") running on $RECOVERY_HOST"
}

step_verify_single_member() {
  log "step ${ETCD_RUNNING_NUM}: a running etcd container on the recovery host $RECOVERY_HOST"
  if ((DRY_RUN)); then
    log "DRY-RUN: would poll sudo crictl ps --name '^etcd\$' --state running -q on $RECOVERY_HOST"
  else
    poll_until "$SINGLE_MEMBER_TIMEOUT" "a running etcd container on $RECOVERY_HOST (step ${ETCD_RUNNING_NUM})" \
      "on $RECOVERY_HOST look at sudo crictl ps -a --name etcd, sudo crictl logs <id> and journalctl -u kubelet; the restore pod's manifest is /etc/kubernetes/manifests/etcd-pod.yaml." \
      check_etcd_container ||
      die_step "$?" "$RECOVERY_HOST" "step ${ETCD_RUNNING_NUM}: etcd does not run on the recovery host"
  fi
  step_single_member_oc
}

# --- Logs and summary -------------------------------------------------------------------------
fetch_remote_logs() {
  local i k inner cmd
  local -a pids=()
  # shellcheck disable=SC2016 # $f is expanded by the remote shell
  printf -v inner 'for f in %q/restorekit-%q-*/run.log; do if [ -f "$f" ]; then printf "==> %%s <==\\n" "$f"; cat "$f"; fi; done' "${QUARANTINE_DIR%/}" "$CLUSTER_NAME"
  printf -v cmd 'sudo bash -c %q' "$inner"
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    fetch_host_log "$i" "$cmd" &
    pids+=("$!")
  done
  for ((k = 0; k < ${#pids[@]}; k++)); do
    wait "${pids[k]}" || true
  done
}

# fetch_host_log I COMMAND: runs COMMAND (which prints the host scripts' logs) on
# master I into the state directory.
fetch_host_log() {
  local i=$1 out="$STATE_DIR/remote-logs/${HOST_NAME[$1]}.log"
  if host_out "$i" "$2"; then
    printf '%s\n' "$HOST_OUT" >"$out"
    log "  ${HOST_NAME[i]}: host script logs fetched to $out"
  else
    log "  ${HOST_NAME[i]}: could not fetch the host script logs (${HOST_ERR:-ssh failed}); they are in $QUARANTINE_DIR/restorekit-$CLUSTER_NAME-*/run.log there"
  fi
}

close_connections() {
  local i
  for ((i = 0; i < ${#HOST_NAME[@]}; i++)); do
    if [[ -S $CONTROL_DIR/$i ]]; then
      ssh_cmd "$i"
      "${SSH_CMD[@]}" -O exit "$SSH_TARGET" >/dev/null 2>&1 || true
    fi
  done
}

summary() {
  local k
  log "SUMMARY for cluster $CLUSTER_NAME (total $(fmt_dur $(($(date +%s) - RUN_START)))):"
  for k in "${SELECTED[@]}"; do
    log "  $(printf '%-32s %-18s %s' "${STEP_IDS[k]}" "step ${STEP_NUMS[k]}" "${STEP_RESULT[k]:-not run}")"
  done
  if ((HOST_SCRIPTS_RAN)); then
    log "fetching the host scripts' logs"
    fetch_remote_logs
  fi
  log "logs: $LOG_FILE (everything), $STATE_DIR/hosts/<host>.log (each host's script output), $STATE_DIR/remote-logs/ (the host scripts' own logs)"
  if ((DRY_RUN)); then
    log "dry run: nothing was changed"
  elif [[ -f $STATE_DIR/done/verify-members ]]; then
    log "the control plane is restored. It can take several minutes more for every service to come back (oc login works once the OAuth server pods have restarted): watch oc get clusteroperators."
  fi
}

# run_step I: runs step I unless it is done, recording its time and completion.
run_step() {
  local k=$1 start elapsed
  if step_done "$k"; then
    log "step ${STEP_NUMS[k]} (${STEP_IDS[k]}): done by an earlier run ($(fmt_dur "$(cat "$STATE_DIR/done/${STEP_IDS[k]}")")); skipping"
    STEP_RESULT[k]="done earlier"
    return 0
  fi
  if ((STEP_CHANGES[k] && ! CONFIRMED)); then
    confirm_plan
  fi
  CURRENT_STEP=${STEP_IDS[k]}
  CURRENT_STEP_NUM=${STEP_NUMS[k]}
  FAIL_HOST=""
  log "==> step ${STEP_NUMS[k]} (${STEP_IDS[k]}): ${STEP_TITLES[k]}"
  if ((STEP_CHANGES[k] && ! DRY_RUN)); then
    : >"$STATE_DIR/started/${STEP_IDS[k]}"
  fi
  start=$(date +%s)
  dispatch_step "$k"
  elapsed=$(($(date +%s) - start))
  if ((DRY_RUN)); then
    STEP_RESULT[k]="dry run"
  else
    STEP_RESULT[k]="done in $(fmt_dur "$elapsed")"
    printf '%s\n' "$elapsed" >"$STATE_DIR/done/${STEP_IDS[k]}"
    duties_after "$k"
    if ((STEP_UNINTERRUPTIBLE[k])); then
      NODE_WATCH=1
    fi
  fi
  log "<== step ${STEP_NUMS[k]} (${STEP_IDS[k]}): ${STEP_RESULT[k]}"
  CURRENT_STEP=""
}

main() {
  local k
  parse_args "$@"
  if ((LIST)); then
    list_steps
    exit 0
  fi
  select_steps
  check_local_tools
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  init_state
  REDEPLOY_STATE_DIR=$STATE_DIR
  if ((! DRY_RUN && ! ASSUME_YES)) && [[ ! -t 0 ]] && pending_changes; then
    die_usage "refusing to run: stdin is not a terminal, so the plan cannot be confirmed (use --yes)"
  fi
  if ((DRY_RUN)); then
    log "recover.sh for cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION); state in $STATE_DIR; DRY RUN: nothing will be changed"
  else
    log "recover.sh for cluster $CLUSTER_NAME (OpenShift $CLUSTER_VERSION); state in $STATE_DIR"
  fi
  if ((API_UNAVAILABLE)); then
    log "--api-unavailable: the preflight may go on without the API, with the facts the kit recorded ($FACTS_SOURCE)"
  fi
  if [[ ! -f $STATE_DIR/done/preflight ]] && ((SELECTED[0] != 0)); then
    log "note: preflight has not passed in $STATE_DIR; starting at ${STEP_IDS[SELECTED[0]]} as asked"
  fi
  # The waits after the restore watch the nodes too (a resumed run as well).
  for k in "${!STEP_IDS[@]}"; do
    if ((STEP_UNINTERRUPTIBLE[k])) && [[ -f $STATE_DIR/done/${STEP_IDS[k]} ]]; then
      NODE_WATCH=1
    fi
  done
  for k in "${SELECTED[@]}"; do
    run_step "$k"
  done
  summary
}

main "$@"
