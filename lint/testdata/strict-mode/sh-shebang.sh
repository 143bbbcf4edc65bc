#!/bin/sh # want "does not run bash"
set -euo pipefail
echo "hi"
