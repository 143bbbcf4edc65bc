#!/usr/bin/env bash
set -euo pipefail
echo "no newline at the end" # want "no newline at the end of line 3, the last"