#!/usr/bin/env bash
# role: workstation
# shellcheck disable=SC2088 # ssh itself expands a leading ~ in -i
set -euo pipefail
ssh -o BatchMode=yes -o ConnectTimeout=5 -i '~/.ssh/id' core@192.0.2.10 true
# shellcheck disable=SC2016 # $HOME is expanded by the remote shell
ssh -o BatchMode=yes -o ConnectTimeout=5 core@192.0.2.10 'echo $HOME'
# A comment that mentions shellcheck is not a directive.
