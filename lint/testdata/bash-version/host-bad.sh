#!/usr/bin/env bash
set -euo pipefail
start=$EPOCHSECONDS # want "EPOCHSECONDS needs bash 5.0; the control-plane host has bash 4.4"
echo "${start@U}" # want `\$\{start@U\} needs bash 5.1`
sleep 1 &
wait -p pid -n # want "wait -p needs bash 5.1"
shopt -s localvar_inherit # want "shopt localvar_inherit needs bash 5.0"
echo "${ date;}" # want "needs bash 5.3"
