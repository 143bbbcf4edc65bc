#!/usr/bin/env bash
# Fake /usr/local/bin/cluster-restore.sh for the host script tests. It does to the
# files under $FAKEHOST_ROOT what the real OpenShift 4.5 script does (procedure.md
# step 7), including its sharp edges: it picks the newest file of each kind with
# `ls -v | tail -1`, overwrites manifests-stopped, and on a second run deletes
# /var/lib/etcd-backup/member before moving the current data there.
#   FAKEHOST_RESTORE_FAIL   fail after stopping the static pods
#   FAKEHOST_RESTORE_SLEEP  seconds to hang before finishing
set -o errexit -o pipefail
root=${FAKEHOST_ROOT:?FAKEHOST_ROOT must be set}
state="$root/.fakehost"
mkdir -p "$state"
printf 'cluster-restore.sh %s HTTP_PROXY=%s HTTPS_PROXY=%s NO_PROXY=%s\n' "$*" "${HTTP_PROXY-}" "${HTTPS_PROXY-}" "${NO_PROXY-}" >>"${FAKEHOST_LOG:-$state/commands.log}"

if [[ $EUID -ne 0 ]]; then
  echo "This script must be run as root"
  exit 1
fi
if [ -z "$1" ] || [ -f "$1" ]; then
  echo 'Path to backup dir required: ./cluster-restore.sh <path-to-backup>'
  exit 1
fi
if [ ! -d "$1" ]; then
  echo "Could not find backup directory $1"
  exit 1
fi
BACKUP_DIR=$1
BACKUP_FILE=$(ls -vd "$BACKUP_DIR"/static_kuberesources*.tar.gz | tail -1) || true
SNAPSHOT_FILE=$(ls -vd "$BACKUP_DIR"/snapshot*.db | tail -1) || true
if [ ! -f "$SNAPSHOT_FILE" ]; then
  echo "etcd snapshot ${SNAPSHOT_FILE} does not exist."
  exit 1
fi

MANIFEST_DIR=$root/etc/kubernetes/manifests
MANIFEST_STOPPED_DIR=$root/home/core/assets/manifests-stopped
ETCD_DATA_DIR=$root/var/lib/etcd
ETCD_DATA_DIR_BACKUP=$root/var/lib/etcd-backup

mkdir -p "$MANIFEST_STOPPED_DIR"
for POD_FILE_NAME in kube-apiserver-pod.yaml kube-controller-manager-pod.yaml kube-scheduler-pod.yaml etcd-pod.yaml; do
  echo "...stopping ${POD_FILE_NAME}"
  [ ! -f "${MANIFEST_DIR}/${POD_FILE_NAME}" ] && continue
  mv "${MANIFEST_DIR}/${POD_FILE_NAME}" "${MANIFEST_STOPPED_DIR}"
done
echo "...waiting for the static pods to stop"
if [[ -n ${FAKEHOST_RESTORE_SLEEP:-} ]]; then
  sleep "$FAKEHOST_RESTORE_SLEEP"
fi
if [[ -n ${FAKEHOST_RESTORE_FAIL:-} ]]; then
  echo "fake failure after stopping the static pods"
  exit 1
fi

if [ -d "${ETCD_DATA_DIR}/member" ]; then
  if [ -d "${ETCD_DATA_DIR_BACKUP}/member" ]; then
    echo "removing previous backup ${ETCD_DATA_DIR_BACKUP}/member"
    rm -rf "${ETCD_DATA_DIR_BACKUP}/member"
  fi
  echo "Moving etcd data-dir ${ETCD_DATA_DIR}/member to ${ETCD_DATA_DIR_BACKUP}"
  mkdir -p "${ETCD_DATA_DIR_BACKUP}"
  mv "${ETCD_DATA_DIR}/member" "${ETCD_DATA_DIR_BACKUP}/"
fi

tar -C "$root/etc/kubernetes" -xzf "$BACKUP_FILE" static-pod-resources
mkdir -p "$ETCD_DATA_DIR_BACKUP"
cp -p "$SNAPSHOT_FILE" "${ETCD_DATA_DIR_BACKUP}/snapshot.db"

echo "starting restore-etcd static pod"
printf 'kind: Pod\nmetadata: {name: etcd, namespace: openshift-etcd}\n# restore pod from %s\n' "${SNAPSHOT_FILE##*/}" >"${MANIFEST_DIR}/etcd-pod.yaml"
for POD in kube-apiserver-pod kube-controller-manager-pod kube-scheduler-pod; do
  RESOURCES=$(ls -vd "$root/etc/kubernetes/static-pod-resources/${POD}"-[0-9]* | tail -1)
  echo "starting ${POD} from ${RESOURCES##*/}"
  cp "${RESOURCES}/${POD}.yaml" "${MANIFEST_DIR}/${POD}.yaml"
done
echo "restore complete"
