#!/usr/bin/env bash
set -euo pipefail
echo 'not closed # want "reached EOF without closing quote"
