#!/usr/bin/env bash
set -euo pipefail
manifest=/etc/kubernetes/manifests/etcd-pod.yaml
dir=$(dirname "$manifest")
echo "$manifest" "${dir}/x" "$(basename "$manifest")"
echo $# $? $$ ${#manifest} $((1 + 2)) $LINENO $UID $RANDOM
sleep 1 &
wait $!
if [[ -n $dir && $manifest == *.yaml ]]; then
  local_copy=$manifest
  echo "${local_copy}"
fi
f() {
  local v=$1
  echo "$v"
}
f "$@"
