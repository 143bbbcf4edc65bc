#!/usr/bin/env bash
set -euo pipefail
deadline=$(($(date +%s) + 600))
while [[ -n "$(crictl ps --name '^etcd$' --state running -q)" ]]; do
  if (($(date +%s) >= deadline)); then
    echo "etcd still running after 600s" >&2
    exit 3
  fi
  sleep 5
done
until systemctl is-active kubelet.service || [[ "$(date +%s)" -ge "$deadline" ]]; do
  sleep 2
done
past() {
  (($(date +%s) >= $1))
}
while ! systemctl is-active kubelet.service; do
  past "$deadline" && exit 3
  sleep 2
done
tries=0
while ! crictl ps -q; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || exit 3
  sleep 1
done
while read -r line; do
  echo "$line"
done </etc/hostname
pause() {
  sleep "${1:-5}"
}
until [[ -e /etc/kubernetes/manifests/etcd-pod.yaml ]]; do
  (($(date +%s) < deadline)) || exit 3
  pause 2
done
for ((i = 0; i < 30; i++)); do
  crictl ps -q && break
  sleep 1
done
for ((;;)); do
  (($(date +%s) < deadline)) || exit 3
  sleep 1
done
