#!/usr/bin/env bash
# role: workstation
# shellcheck disable=SC2086 # want "shellcheck disable=SC2086 silences a check kits must pass"
set -euo pipefail
# shellcheck disable=all # want "disable=ALL silences"
echo $HOME
# shellcheck disable=SC2016 # want `disable=SC2016 without a reason`
ssh -o BatchMode=yes -o ConnectTimeout=5 core@192.0.2.10 'echo $HOME'
# shellcheck disable=SC2016,2034 # want "disable=SC2034 silences"
unused='$x'
