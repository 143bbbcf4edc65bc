#!/usr/bin/env bash
#
# 05-check-api-vip.sh: procedure/procedure-4.16.md step 5-6, on one control-plane host.
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
#   5-6  on the recovery host, only when /etc/kubernetes/manifests/keepalived.yaml exists: wait until
#        `ip -o address` shows every API VIP of the inventory (192.168.111.5) on this
#        host: once step 4.k has stopped keepalived on every other control-plane host, the
#        keepalived here takes them. It changes nothing (a run.log is all it writes).
# If a VIP does not come here, another host still holds it: repeat step 4.k there
# (04.k-stop-keepalived.sh on that host), then run this script again.
# Run it on the recovery host after 04.k-stop-keepalived.sh has finished on every other host.
#
# How to run it (as root, from the directory it was copied to):
#   sudo bash ./05-check-api-vip.sh              show the plan, ask, then run
#   sudo bash ./05-check-api-vip.sh --dry-run    print every command it would run; change nothing
#   sudo bash ./05-check-api-vip.sh --yes        run without asking (needed when stdin is not a terminal)
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
readonly SCRIPT_NAME=05-check-api-vip.sh
# 1 when the script has --again.
readonly SUPPORTS_AGAIN=0
readonly CLUSTER=ocp416
readonly NODE_NAME=master-0.ocp416.example.com
readonly EXPECTED_HOSTNAME=master-0.ocp416.example.com
readonly -a ACCEPTED_HOSTNAMES=(master-0.ocp416.example.com master-0)
readonly QUARANTINE_DIR=/var/lib/restorekit
# Seconds between two checks of every wait.
readonly POLL_INTERVAL=10
readonly MANIFESTS_DIR=/etc/kubernetes/manifests
readonly KEEPALIVED_MANIFEST="${MANIFESTS_DIR}/keepalived.yaml"
# The API VIPs (cluster.apiVIPs).
readonly -a API_VIPS=(192.168.111.5)
# Seconds keepalived here may take to take them (timeouts.staticPodStop).
readonly VIP_TIMEOUT=600
# The non-recovery control-plane hosts, one of which holds a VIP that is not here.
readonly -a OTHER_HOSTS=(master-1.ocp416.example.com master-2.ocp416.example.com)

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
    "Procedure steps 5-6 on ${NODE_NAME} (cluster ${CLUSTER}), the RECOVERY host:" \
    "  wait until ip -o address shows the API VIPs ${API_VIPS[*]} on this host (only when" \
    "  ${KEEPALIVED_MANIFEST} exists). It changes nothing." \
    "A run.log goes to a new directory under ${QUARANTINE_DIR}." \
    "" \
    "  --yes         do not ask for confirmation (required when stdin is not a terminal)" \
    "  --dry-run     check once and say what it sees" \
    "  --force-host  run although hostname does not match ${EXPECTED_HOSTNAME}" \
    "" \
    "Exit codes: 0 done, 1 a VIP is not here (or a step failed), 2 usage error or refused."
}

show_plan() {
  log "plan for ${NODE_NAME}, the recovery host of cluster ${CLUSTER}, procedure steps 5-6 (read-only):"
  plan_line "5-6 wait until ip -o address shows ${API_VIPS[*]} here (at most $(human_duration "$VIP_TIMEOUT"))"
}

# api_vips_here: succeed when `ip -o address` shows every API VIP on this host;
# PROBE_SEEN says which are here (with their device) and which are not.
api_vips_here() {
  local out vip here="" missing="" found
  local -a f
  if ! out="$(ip -o address)"; then
    PROBE_SEEN="ip -o address failed"
    return 1
  fi
  for vip in "${API_VIPS[@]}"; do
    found=""
    while read -r -a f; do
      if ((${#f[@]} >= 4)) && [[ ${f[2]} == inet* && (${f[3]%/*} == "$vip" || ${f[3]%/*} == "${vip,,}") ]]; then
        found="${f[3]} on ${f[1]}"
      fi
    done <<<"$out"
    if [[ -n $found ]]; then
      here+="${here:+, }${found}"
    else
      missing+="${missing:+, }${vip}"
    fi
  done
  if [[ -n $missing ]]; then
    PROBE_SEEN="not on this host: ${missing}${here:+; here: ${here}}"
    return 1
  fi
  PROBE_SEEN="here: ${here}"
}

# Steps 5-6: `ip -o address | grep <api_vip>` shows the API VIP, waited for.
step_check_api_vip() {
  CURRENT_STEP="5-6"
  local start now
  if ((DRY_RUN)); then
    PROBE_SEEN=""
    api_vips_here || true
    log "dry-run: step 5-6: would wait until ip -o address shows ${API_VIPS[*]} (at most $(human_duration "$VIP_TIMEOUT")); now: ${PROBE_SEEN}"
    return 0
  fi
  log "step 5-6: waiting until ip -o address shows ${API_VIPS[*]} (check every ${POLL_INTERVAL}s, at most $(human_duration "$VIP_TIMEOUT"))"
  start="$(date +%s)"
  while true; do
    PROBE_SEEN=""
    if api_vips_here; then
      log "step 5-6: this host holds the API VIP: ${PROBE_SEEN}"
      return 0
    fi
    now="$(date +%s)"
    if ((now - start >= VIP_TIMEOUT)); then
      break
    fi
    log "step 5-6: $(human_duration "$((now - start))") of $(human_duration "$VIP_TIMEOUT"): ${PROBE_SEEN}"
    sleep "$POLL_INTERVAL"
  done
  fail "$EXIT_FAILED" "step 5-6: after $(human_duration "$((now - start))") the API VIP is still not on this host. Expected: ip -o address shows ${API_VIPS[*]}. Seen: ${PROBE_SEEN}. What to do: another control-plane host still holds it (ip can not tell which from here): run ip -o address on ${OTHER_HOSTS[*]}, and on the one that shows it repeat step 4.k (sudo bash ./04.k-stop-keepalived.sh there); also check that keepalived runs here (crictl ps --name '^keepalived\$'). Then run ${SCRIPT_NAME} again. Nothing was changed."
}

main() {
  prepare "$@"
  CURRENT_STEP="5-6 (check)"
  require_tool ip
  if [[ ! -e $KEEPALIVED_MANIFEST ]]; then
    log "step 5-6: there is no ${KEEPALIVED_MANIFEST} on this host: no keepalived here to take the API VIP, nothing to check"
    return 0
  fi
  confirm
  start_run
  step_check_api_vip
  CURRENT_STEP="5-6 (done)"
  mark_completed "steps 5-6 on ${NODE_NAME}"
  log "steps 5-6 are done: ${NODE_NAME} holds the API VIP. Next: 07-restore.sh here."
}

main "$@"
