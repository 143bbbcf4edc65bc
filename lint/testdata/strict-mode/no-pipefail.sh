#!/usr/bin/env bash
# A header comment before the first statement is fine.
set -eu # want `not set -euo pipefail \(missing pipefail\)`
echo "hi"
