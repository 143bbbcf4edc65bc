#!/usr/bin/env bash
set -euo pipefail
RUN_DIR=$(mktemp -d /tmp/restorekit-ocp4-XXXXXX)
LOG="$RUN_DIR/run.log"
STATE=${LOG}.state
mv /etc/kubernetes/manifests/etcd-pod.yaml "$RUN_DIR/"
echo "moved" >>"$LOG"
echo "state" >"$STATE"
exec > >(tee -a "$RUN_DIR/run.log") 2>&1
rm -f "${RUN_DIR}/tmp.$$"
crictl ps -q >/dev/null 2>&1
echo "to stderr" >&2
echo "to tty" >/dev/tty
run_dir=$RUN_DIR
truncate -s 0 "$run_dir/progress"
LOG_FILE=""
setup() {
  local out
  LOG_FILE="${RUN_DIR}/run.log"
  out="${RUN_DIR}/cluster-restore.log"
  echo "started" >>"$LOG_FILE"
  echo "output" >"$out"
}
setup
scratch=$(mktemp)
crictl ps -a -o json >"$scratch"
rm -f "$scratch"
