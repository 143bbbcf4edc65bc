#!/usr/bin/env bash
set -euo pipefail
if true; then
    echo "four spaces" # want `not in canonical form: line 4 is "    echo`
fi
