#!/usr/bin/env bash
set -euo pipefail

main() {
  if true; then
    echo "two spaces"
  fi
}

main "$@"
