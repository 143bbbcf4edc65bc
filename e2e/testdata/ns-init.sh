#!/usr/bin/env bash
# ns-init.sh ROOT HOSTNAME ETC CMD...: run inside `unshare --mount --uts --propagation
# private`: become the simulated host HOSTNAME by bind-mounting its directories under
# ROOT over the real paths and its account files from ETC over /etc, then exec CMD.
set -euo pipefail
root=$1 name=$2 etc=$3
shift 3
hostname "$name"
# Mount points that a Debian machine lacks (empty directories; the only change this
# makes outside the namespace), and sshd's privilege separation directory.
mkdir -p /etc/kubernetes /run/sshd
for d in etc/kubernetes var/lib home tmp usr/local/bin usr/local/sbin; do
  # SIM_TMPFS_TMP=1: /tmp is a tmpfs, as RHCOS mounts it.
  if [[ $d == tmp && ${SIM_TMPFS_TMP:-} == 1 ]]; then
    mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp
    continue
  fi
  mount --bind "$root/$d" "/$d"
done
unset SIM_TMPFS_TMP
# SIM_HOST_OC: the host's oc, as RHCOS ships it in /usr/bin (an empty, non-executable
# mount point is made outside the namespace when the machine has no oc there).
if [[ -n ${SIM_HOST_OC:-} ]]; then
  [[ -e /usr/bin/oc ]] || (umask 022 && : >>/usr/bin/oc) # tolerates hosts starting at once
  mount --bind "$SIM_HOST_OC" /usr/bin/oc
fi
unset SIM_HOST_OC
for f in "$etc"/*; do
  mount --bind "$f" "/etc/${f##*/}"
done
exec "$@"
