#!/usr/bin/env bash
# Simulated /usr/local/bin/cluster-restore.sh (OpenShift 4.5): does to the files what
# the real script does, with the simulated crictl standing in for the container runtime.
set -o errexit
set -o pipefail
# shellcheck source=sim-lib.bash
. /usr/local/sbin/sim-lib.bash
sim_record cluster-restore.sh "$@"
# What step 6 must have passed on (sudo -E or explicitly).
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
  # shellcheck source=/dev/null
  . "$dep"
done
: "${CONFIG_FILE_DIR:?} ${MANIFEST_DIR:?} ${ETCD_DATA_DIR:?} ${ETCD_DATA_DIR_BACKUP:?} ${MANIFEST_STOPPED_DIR:?}"

if [[ -z ${1-} || ! -d $1 ]]; then
  echo 'Path to the directory containing backup files is required: ./cluster-restore.sh <path-to-backup>'
  exit 1
fi

if [[ $SIM_RESTORE_FAIL == early ]]; then
  echo "simulated failure before anything changed"
  exit 1
fi

# Like the real script: the newest file of each kind, whether or not they match.
# shellcheck disable=SC2012
backup_file=$(ls -vd "$1"/static_kuberesources*.tar.gz | tail -1) || true
# shellcheck disable=SC2012
snapshot_file=$(ls -vd "$1"/snapshot*.db | tail -1) || true

if [[ ! -f $snapshot_file ]]; then
  echo "etcd snapshot $snapshot_file does not exist"
  exit 1
fi

mkdir -p "$MANIFEST_STOPPED_DIR"
for pod in kube-apiserver-pod.yaml kube-controller-manager-pod.yaml kube-scheduler-pod.yaml etcd-pod.yaml; do
  echo "...stopping $pod"
  [[ -f $MANIFEST_DIR/$pod ]] || continue
  mv "$MANIFEST_DIR/$pod" "$MANIFEST_STOPPED_DIR"
done

for c in etcd etcdctl etcd-metrics kube-controller-manager kube-apiserver kube-scheduler; do
  echo "Waiting for container $c to stop"
  while [[ -n $(crictl ps --label io.kubernetes.container.name="$c" -q) ]]; do
    echo -n "."
    sleep 0.2
  done
  echo "complete"
done

if [[ $SIM_RESTORE_FAIL == late ]]; then
  echo "simulated failure after the static pods were stopped"
  exit 1
fi

mkdir -p "$ETCD_DATA_DIR_BACKUP"
if [[ -d $ETCD_DATA_DIR/member ]]; then
  if [[ -d $ETCD_DATA_DIR_BACKUP/member ]]; then
    echo "removing previous backup $ETCD_DATA_DIR_BACKUP/member"
    rm -rf "$ETCD_DATA_DIR_BACKUP/member"
  fi
  echo "Moving etcd data-dir $ETCD_DATA_DIR/member to $ETCD_DATA_DIR_BACKUP"
  mv "$ETCD_DATA_DIR/member" "$ETCD_DATA_DIR_BACKUP/"
fi

tar -C "$CONFIG_FILE_DIR" -xzf "$backup_file" static-pod-resources
cp -p "$snapshot_file" "$ETCD_DATA_DIR_BACKUP/snapshot.db"

restore_pod=$(tar -tzf "$backup_file" --wildcards '*restore-etcd-pod/pod.yaml' | head -1) || true
if [[ -z $restore_pod ]]; then
  echo "restore-etcd-pod/pod.yaml does not exist in $backup_file"
  exit 1
fi
echo "starting restored etcd-pod.yaml"
tar -xzOf "$backup_file" "$restore_pod" | sed "s/NODE_NAME/$SIM_HOST/g" >"$MANIFEST_DIR/etcd-pod.yaml"

for pod in kube-apiserver-pod.yaml kube-controller-manager-pod.yaml kube-scheduler-pod.yaml; do
  path=$(tar -tzf "$backup_file" --wildcards "*$pod") || true
  if [[ -z $path ]]; then
    echo "$pod does not exist in $backup_file"
    exit 1
  fi
  echo "starting $pod"
  tar -xzf "$backup_file" --strip-components=2 -C "$MANIFEST_DIR" "$path"
done
date +%s%N >"$SIM/restored"
