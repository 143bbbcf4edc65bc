#!/usr/bin/env bash
# role: workstation
set -euo pipefail
shopt -s inherit_errexit # want "shopt inherit_errexit needs bash 4.4; the workstation has bash 4.2"
x=value
echo "${x@Q}" # want `\$\{x@Q\} needs bash 4.4`
files=(a b c)
echo "${files[-1]}" # want "a negative array subscript"
declare -n ref=x # want `declare -n \(a nameref\) needs bash 4.3`
echo "$ref"
f() {
  local -n out=$1 # want "local -n"
  out=1
}
f x
sleep 1 &
wait -n # want "wait -n needs bash 4.3"
mapfile -d '' -t names < <(printf 'a\0b\0') # want "mapfile -d needs bash 4.4"
echo "${names[@]}"
