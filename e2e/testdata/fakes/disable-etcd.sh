#!/usr/bin/env bash
# Simulated /usr/local/bin/disable-etcd.sh of a 4.18+ host: models
# bindata/etcd/disable-etcd.sh of openshift/cluster-etcd-operator, branches
# release-4.18 to release-4.22 (4.21 dropped etcd-backup-server from the list). It
# moves etcd-pod.yaml to /home/core/assets/manifests-stopped/ and waits, without a
# time limit, until no container of the etcd pod runs. Nothing else is touched.
set -o errexit
set -o pipefail
set -o errtrace
# shellcheck source=sim-lib.bash
. /usr/local/sbin/sim-lib.bash
sim_record disable-etcd.sh "$@"
sim_record disable-etcd.sh-env "HTTP_PROXY=${HTTP_PROXY-}" "HTTPS_PROXY=${HTTPS_PROXY-}" "NO_PROXY=${NO_PROXY-}"

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

containers=(etcd etcdctl etcd-metrics etcd-readyz etcd-rev)
((SIM_MINOR >= 21)) || containers+=(etcd-backup-server)

mv_static_pods etcd-pod.yaml
wait_for_containers_to_stop "${containers[@]}"
