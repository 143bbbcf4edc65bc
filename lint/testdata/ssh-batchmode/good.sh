#!/usr/bin/env bash
# role: workstation
set -euo pipefail
timeout=10
ssh -o BatchMode=yes -o "ConnectTimeout=$timeout" core@10.0.0.2 true
scp -oBatchMode=yes -oConnectTimeout=10 restore.sh core@10.0.0.2:
ssh_opts=(-o BatchMode=yes)
ssh_opts+=(-o "ConnectTimeout=${timeout}" -o StrictHostKeyChecking=yes)
ssh "${ssh_opts[@]}" core@10.0.0.2 true
scp "${ssh_opts[@]}" restore.sh core@10.0.0.2:
SSH=(ssh -o BatchMode=yes -o ConnectTimeout=10 -p 22)
"${SSH[@]}" core@10.0.0.2 true
remote() {
  sudo -u core ssh "${ssh_opts[@]}" "$@"
}
remote core@10.0.0.2 true
