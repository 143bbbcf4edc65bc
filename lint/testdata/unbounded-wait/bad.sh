#!/usr/bin/env bash
set -euo pipefail
while [[ -n "$(crictl ps --name '^etcd$' --state running -q)" ]]; do # want "while loop polls with sleep but never checks a deadline"
  sleep 5
done
until systemctl is-active kubelet.service; do # want "until loop polls"
  echo "waiting for kubelet"
  sleep 2
done
running=0
while true; do # want "while loop polls"
  if ((running == 1)); then
    break
  fi
  sleep 1
done
pause() {
  sleep "${1:-5}"
}
until [[ -e /etc/kubernetes/manifests/etcd-pod.yaml ]]; do # want "until loop polls"
  pause 2
done
for ((;;)); do # want `for \(\(;;\)\) loop polls`
  crictl ps -q && break
  sleep 1
done
