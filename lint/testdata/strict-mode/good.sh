#!/usr/bin/env bash
# hosts/master-0/restore.sh: steps 3 (check), 6, 7
set -euo pipefail
echo "hi"
