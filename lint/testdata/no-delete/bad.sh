#!/usr/bin/env bash
set -euo pipefail
RUN_DIR=/tmp/restorekit-ocp4-20200804T184021Z-42
rm -f /etc/kubernetes/manifests/etcd-pod.yaml # want "rm deletes /etc/kubernetes/manifests/etcd-pod.yaml, outside the run directory"
sudo rm -rf "/var/lib/etcd" # want `rm deletes "/var/lib/etcd"`
rm -rf "$RUN_DIR/../etcd" # want "rm deletes"
echo "{}" >/etc/kubernetes/manifests/etcd-pod.yaml # want "redirection overwrites /etc/kubernetes/manifests/etcd-pod.yaml"
echo "note" >>/var/log/restore.log # want "redirection appends to /var/log/restore.log"
truncate -s 0 /var/lib/etcd/member/snap/db # want "truncate truncates /var/lib/etcd/member/snap/db"
shred /var/lib/etcd/member/wal/0.wal # want "shred destroys"
dd if=/dev/zero of=/dev/sda bs=1M count=1 # want "dd of=/dev/sda overwrites"
find /var/lib/etcd -name '*.tmp' -delete # want "find -delete deletes files"
echo "x" | tee /etc/hosts # want "tee overwrites /etc/hosts"
run() {
  echo "+ $*"
  "$@"
}
run rm /etc/kubernetes/manifests/kube-apiserver-pod.yaml # want "rm deletes"
echo "x" >"${RUN_DIR:-/}/x" # want "redirection overwrites"
scratch=$(mktemp)
scratch=/etc/kubernetes/manifests/etcd-pod.yaml
rm -f "$scratch" # want "rm deletes"
\rm -f /etc/kubernetes/manifests/kube-apiserver-pod.yaml # want "rm deletes"
rm -rf "$RUN_DIR" # want "rm deletes the run directory \"\\$RUN_DIR\" itself"
