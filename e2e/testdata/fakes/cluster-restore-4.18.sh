#!/usr/bin/env bash
# Simulated /usr/local/bin/cluster-restore.sh of a 4.18+ host: models
# bindata/etcd/cluster-restore.sh of openshift/cluster-etcd-operator, branches
# release-4.18 to release-4.22 (4.21 dropped etcd-backup-server from the container
# list, 4.22 prints a completion banner). Same order, checks and messages as the real
# script, with the simulated crictl, podman route and etcdutl; ETCD_ETCDCTL_RESTORE
# (the etcdctl restore branch) is not modelled and refused before any change.
set -o errexit
set -o pipefail
set -o errtrace
# shellcheck source=sim-lib.bash
. /usr/local/sbin/sim-lib.bash
sim_record cluster-restore.sh "$@"
# What the caller passed on (sudo -E or explicitly): podman needs the proxy.
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
  # shellcheck source=etcd-common-tools
  . "$dep"
done

if [[ -z ${1-} || ! -d $1 ]]; then
  echo 'Path to the directory containing backup files is required: ./cluster-restore.sh <path-to-backup>'
  echo 'The backup directory is expected to be contain two files:'
  echo '        1. etcd snapshot'
  echo '        2. A copy of the Static POD resources at the time of backup'
  exit 1
fi
if [[ -n ${ETCD_ETCDCTL_RESTORE-} ]]; then
  echo "cluster-restore.sh (simulated): ETCD_ETCDCTL_RESTORE is not modelled"
  exit 3
fi
if [[ $SIM_RESTORE_FAIL == early ]]; then
  echo "simulated failure before anything changed"
  exit 1
fi

# Like the real script: the newest file of each kind by name, paired or not.
# shellcheck disable=SC2012
backup_file=$(ls -vd "$1"/static_kuberesources*.tar.gz | tail -1) || true
# shellcheck disable=SC2012
snapshot_file=$(ls -vd "$1"/snapshot*.db | tail -1) || true
sim_record cluster-restore.sh-picked "$backup_file" "$snapshot_file"

containers=(etcd etcdctl etcd-metrics etcd-readyz etcd-rev)
((SIM_MINOR >= 21)) || containers+=(etcd-backup-server)

if [[ ! -f $snapshot_file ]]; then
  echo "etcd snapshot $snapshot_file does not exist"
  exit 1
fi

dl_etcdctl
check_snapshot_status "$snapshot_file"

mv_static_pods etcd-pod.yaml
wait_for_containers_to_stop "${containers[@]}"

if [[ $SIM_RESTORE_FAIL == late ]]; then
  echo "simulated failure after etcd was stopped"
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
[[ ! -f $ETCD_REV_JSON ]] || mv -f "$ETCD_REV_JSON" "$ETCD_DATA_DIR_BACKUP/revision.json"
rm -f "$ETCD_DATA_DIR"/etcd_perf*

if [[ -n $(ls -A "$ETCD_DATA_DIR") ]]; then
  echo "folder $ETCD_DATA_DIR is not empty, please review and remove all files in it"
  exit 1
fi

echo "starting restore-etcd static pod"
cp -p "$RESTORE_ETCD_POD_YAML" "$MANIFEST_DIR/etcd-pod.yaml"
date +%s%N >"$SIM/restored"
((SIM_MINOR < 22)) || print_restore_completion_message
