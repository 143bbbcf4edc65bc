#!/usr/bin/env bash
# role: workstation
set -euo pipefail
ssh -o BatchMode=yes -o ConnectTimeout=10 core@10.0.0.2 true
scp -o BatchMode=yes -o ConnectTimeout=10 a.sh core@10.0.0.2:
oc get etcd cluster -o json
