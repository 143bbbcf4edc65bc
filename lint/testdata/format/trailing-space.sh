#!/usr/bin/env bash
set -euo pipefail
echo  "two spaces between words" # want "line 3 is"
