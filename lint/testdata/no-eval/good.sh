#!/usr/bin/env bash
set -euo pipefail
cmd=(crictl ps -q)
"${cmd[@]}"
echo "eval is not called here"
