#!/usr/bin/env bash
# role: workstation
set -euo pipefail
ssh core@10.0.0.2 true # want "ssh without -o BatchMode=yes and -o ConnectTimeout=N"
scp -o BatchMode=yes restore.sh core@10.0.0.2: # want "scp without -o ConnectTimeout=N"
opts=(-o ConnectTimeout=10)
ssh "${opts[@]}" core@10.0.0.2 true # want "ssh without -o BatchMode=yes:"
ssh -o BatchMode=no -o ConnectTimeout=5 core@10.0.0.2 true # want "without -o BatchMode=yes"
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=5)
probe() {
  local -a ssh_opts=(-o ConnectTimeout=5)
  ssh "${ssh_opts[@]}" core@10.0.0.2 true # want "ssh without -o BatchMode=yes:"
}
SCP=(scp -o ConnectTimeout=5)
"${SCP[@]}" a.sh core@10.0.0.2: # want `scp without -o BatchMode=yes \(run as "\$\{SCP\[@\]\}": add them where SCP is assigned\)`
