#!/usr/bin/env bash
set -euo pipefail
manifest=/etc/kubernetes/manifests/etcd-pod.yaml
echo $manifest # want `unquoted expansion \$manifest in the arguments of echo`
mv "$manifest" ${RUN_DIR}/ # want `unquoted expansion \$\{RUN_DIR\} in the arguments of mv`
ids=$(crictl ps -q)
printf '%s\n' $(crictl ps -q) # want "unquoted command substitution \\$\\(crictl ps -q\\)"
if [ -n $ids ]; then # want `unquoted expansion \$ids in the arguments of \[`
  echo "running: $ids"
fi
echo "--name="$manifest # want `unquoted expansion \$manifest`
ls "$(dirname $manifest)" # want `unquoted expansion \$manifest in the arguments of dirname`
echo $* $@ ${#} # want `\$\*` `\$@`
