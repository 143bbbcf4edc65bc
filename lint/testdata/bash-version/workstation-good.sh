#!/usr/bin/env bash
# role: workstation
set -euo pipefail
start=$(date +%s)
printf '%q\n' "$start"
files=(a b c)
echo "${files[${#files[@]} - 1]}" "${files[1]}"
declare -A seen=([a]=1)
echo "${seen[a]}" "${start,,}"
mapfile -t lines < <(printf 'a\nb\n')
echo "${lines[@]}" "$((start - 1))"
