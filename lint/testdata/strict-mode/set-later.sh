#!/bin/bash
echo "too early" # want "it does not call set"
set -euo pipefail
