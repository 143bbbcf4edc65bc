#!/usr/bin/env bash
# role: workstation
set -euo pipefail
oc get nodes -o json | jq '.items | length' # want "jq is not a tool a workstation has"
ansible all -m ping # want "ansible is not a tool a workstation has"
