#!/usr/bin/env bash
set -euo pipefail
if true; then # want "`if` statement must end with `fi`"
  echo hi
