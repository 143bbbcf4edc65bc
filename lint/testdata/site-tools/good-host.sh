#!/usr/bin/env bash
set -euo pipefail
log() {
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}
run() {
  log "+ $*"
  "$@"
}
log "on $(hostname)"
[[ "$(id -u)" == 0 ]] || exit 2
run mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp/
crictl ps --name '^etcd$' --state running -q | wc -l
sudo -E /usr/local/bin/cluster-restore.sh /home/core/backup
systemctl restart kubelet.service
/usr/bin/sha256sum /home/core/backup/snapshot_2020-08-04_184021.db
cmd=(systemctl is-active kubelet.service)
"${cmd[@]}"
wait_until() {
  local step=$1 timeout=$2
  shift 2
  log "step ${step}: waiting up to ${timeout}s"
  "$@"
}
wait_until "8" 300 systemctl is-active kubelet.service
"crictl" ps -q
check_etcd() {
  local -a cmd=(crictl ps --name '^etcd$' -q)
  "${cmd[@]}"
}
restart() {
  local -a cmd=(systemctl restart kubelet.service)
  run "${cmd[@]}"
}
CLUSTER_RESTORE=/usr/local/bin/cluster-restore.sh
readonly CLUSTER_RESTORE
sudo -E "$CLUSTER_RESTORE" /home/core/backup
\mv /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp/
