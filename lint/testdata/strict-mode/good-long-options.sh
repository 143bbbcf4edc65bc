#!/bin/bash
set -o errexit -o nounset -o pipefail
echo "hi"
