#!/usr/bin/env bash
# Simulated /usr/local/bin/cluster-restore.sh of a 4.16 or 4.17 host: models
# bindata/etcd/cluster-restore.sh of openshift/cluster-etcd-operator, branches
# release-4.16 and release-4.17 (the same script). Same order, checks and messages as
# the real one: it stops kube-apiserver, kube-controller-manager and kube-scheduler
# (manifests to /home/core/assets/manifests-stopped, then waits for the containers
# kube-controller-manager kube-apiserver kube-scheduler), then etcd (etcd etcdctl
# etcd-metrics etcd-readyz); removes an existing /var/lib/etcd-backup/member (the real
# script's one deletion) and moves /var/lib/etcd/member there; extracts
# static-pod-resources; copies the snapshot; installs the restore pod; and installs
# the three other pods from the tarball, failing "<pod> does not exist in <tarball>".
# The simulated crictl, podman route and etcdutl stand in for the real ones; the
# tarball is searched with GNU tar's --wildcards, which the real `tar -tvf FILE
# "*NAME"` relies on. ETCD_ETCDCTL_RESTORE and ETCD_RESTORE_SKIP_MOVE_CP_STATIC_PODS
# are not modelled and refused before any change.
set -o errexit
set -o pipefail
set -o errtrace
# shellcheck source=sim-lib.bash
. /usr/local/sbin/sim-lib.bash
sim_record cluster-restore.sh "$@"
sim_record cluster-restore.sh-env "HTTP_PROXY=${HTTP_PROXY-}" "HTTPS_PROXY=${HTTPS_PROXY-}" "NO_PROXY=${NO_PROXY-}"

if [[ $EUID -ne 0 ]]; then
  echo "This script must be run as root"
  exit 1
fi

scripts=/etc/kubernetes/static-pod-resources/etcd-certs/configmaps/etcd-scripts
for dep in "$scripts/etcd.env" "$scripts/etcd-common-tools"; do
  if [[ ! -f $dep ]]; then
    echo "required dependencies not found, please ensure this script is run on a node with a functional etcd static pod"
    exit 1
  fi
  # shellcheck source=etcd-common-tools-4.16
  . "$dep"
done

if [[ -z ${1-} || ! -d $1 ]]; then
  echo 'Path to the directory containing backup files is required: ./cluster-restore.sh <path-to-backup>'
  echo 'The backup directory is expected to be contain two files:'
  echo '        1. etcd snapshot'
  echo '        2. A copy of the Static POD resources at the time of backup'
  exit 1
fi
if [[ -n ${ETCD_ETCDCTL_RESTORE-}${ETCD_RESTORE_SKIP_MOVE_CP_STATIC_PODS-}${ETCD_ETCDCTL_RESTORE_ENABLE_BUMP-} ]]; then
  echo "cluster-restore.sh (simulated): ETCD_ETCDCTL_RESTORE, ETCD_RESTORE_SKIP_MOVE_CP_STATIC_PODS and ETCD_ETCDCTL_RESTORE_ENABLE_BUMP are not modelled"
  exit 3
fi
if [[ $SIM_RESTORE_FAIL == early ]]; then
  echo "simulated failure before anything changed"
  exit 1
fi

restore_static_pods() {
  local backup_file="$1" pod_file_name backup_pod_path
  shift
  for pod_file_name in "$@"; do
    backup_pod_path=$(tar --wildcards -tvf "${backup_file}" "*${pod_file_name}" 2>/dev/null | awk '{ print $6 }') || true
    if [ -z "${backup_pod_path}" ]; then
      echo "${pod_file_name} does not exist in ${backup_file}"
      exit 1
    fi
    echo "starting ${pod_file_name}"
    tar -xvf "${backup_file}" --strip-components=2 -C "${MANIFEST_DIR}"/ "${backup_pod_path}"
  done
}

wait_for_containers_to_stop() {
  local container_name
  for container_name in "$@"; do
    echo "Waiting for container ${container_name} to stop"
    while [[ -n $(crictl ps --label io.kubernetes.container.name="${container_name}" -q) ]]; do
      echo -n "."
      sleep 1
    done
    echo "complete"
  done
}

mv_static_pods() {
  local f
  [[ -d $MANIFEST_STOPPED_DIR ]] || mkdir -p "$MANIFEST_STOPPED_DIR"
  for f in "$@"; do
    echo "...stopping ${f}"
    [[ -f "${MANIFEST_DIR}/${f}" ]] || continue
    mv "${MANIFEST_DIR}/${f}" "${MANIFEST_STOPPED_DIR}"
  done
}

# Like the real script: the newest file of each kind by name, paired or not.
# shellcheck disable=SC2012
backup_file=$(ls -vd "$1"/static_kuberesources*.tar.gz | tail -1) || true
# shellcheck disable=SC2012
snapshot_file=$(ls -vd "$1"/snapshot*.db | tail -1) || true
sim_record cluster-restore.sh-picked "$backup_file" "$snapshot_file"

etcd_pods=(etcd-pod.yaml)
aux_pods=(kube-apiserver-pod.yaml kube-controller-manager-pod.yaml kube-scheduler-pod.yaml)
etcd_containers=(etcd etcdctl etcd-metrics etcd-readyz)
aux_containers=(kube-controller-manager kube-apiserver kube-scheduler)

if [[ ! -f $snapshot_file ]]; then
  echo "etcd snapshot $snapshot_file does not exist"
  exit 1
fi

dl_etcdctl
check_snapshot_status "$snapshot_file"

mv_static_pods "${aux_pods[@]}"
wait_for_containers_to_stop "${aux_containers[@]}"

mv_static_pods "${etcd_pods[@]}"
wait_for_containers_to_stop "${etcd_containers[@]}"

if [[ $SIM_RESTORE_FAIL == late ]]; then
  echo "simulated failure after the static pods were stopped"
  exit 1
fi

[[ -d $ETCD_DATA_DIR_BACKUP ]] || mkdir -p "$ETCD_DATA_DIR_BACKUP"

if [[ -d $ETCD_DATA_DIR/member ]]; then
  if [[ -d $ETCD_DATA_DIR_BACKUP/member ]]; then
    echo "removing previous backup $ETCD_DATA_DIR_BACKUP/member"
    sim_record cluster-restore.sh-removed "$ETCD_DATA_DIR_BACKUP/member"
    rm -rf "$ETCD_DATA_DIR_BACKUP/member"
  fi
  echo "Moving etcd data-dir $ETCD_DATA_DIR/member to $ETCD_DATA_DIR_BACKUP"
  mv "$ETCD_DATA_DIR/member" "$ETCD_DATA_DIR_BACKUP/"
fi

tar -C "$CONFIG_FILE_DIR" -xzf "$backup_file" static-pod-resources
cp -p "$snapshot_file" "$ETCD_DATA_DIR_BACKUP/snapshot.db"

echo "starting restore-etcd static pod"
cp -p "$RESTORE_ETCD_POD_YAML" "$MANIFEST_DIR/etcd-pod.yaml"

restore_static_pods "$backup_file" "${aux_pods[@]}"
date +%s%N >"$SIM/restored"
