#!/usr/bin/env bash
set -euo pipefail
cmd="crictl ps -q"
eval "$cmd" # want "eval runs code built at run time"
sudo eval "$cmd" # want "eval runs code"
builtin eval "echo hi" # want "eval runs code"
