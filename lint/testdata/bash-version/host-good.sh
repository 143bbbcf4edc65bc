#!/usr/bin/env bash
set -euo pipefail
shopt -s inherit_errexit
start=$(date +%s)
echo "${start@Q}"
files=(a b c)
echo "${files[-1]}"
declare -n ref=start
echo "$ref"
sleep 1 &
wait -n
mapfile -d '' -t names < <(printf 'a\0b\0')
echo "${names[@]}"
