#!/usr/bin/env bash
set -euo pipefail
jq -r '.items[]' /tmp/x.json # want "jq is not a tool a control-plane host has"
ssh core@10.0.0.2 true # want "ssh is not a tool a control-plane host has"
oc get nodes # want "oc is not a tool"
sudo -E cluster-restore.sh /home/core/backup # want "call cluster-restore.sh as /usr/local/bin/cluster-restore.sh"
/opt/tools/etcdctl member list # want "/opt/tools/etcdctl is not a tool"
tool=$(command -v crictl)
"$tool" ps # want `command name "\$tool" is computed at run time`
timeout 10 python3 -c 'print(1)' # want "python3 is not a tool"
wait_until() {
  local step=$1
  shift
  echo "step ${step}"
  "$@"
}
wait_until "8" jq . # want "jq is not a tool"
fetch() {
  local -a cmd=(wget -q http://192.0.2.1/x)
  "${cmd[@]}" # want "wget is not a tool"
}
TOOL=jq
"$TOOL" . /tmp/x.json # want "jq is not a tool"
