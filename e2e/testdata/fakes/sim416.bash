# shellcheck shell=bash
# sim416.bash: what the 4.16 hosts add to sim-lib.bash (sourced after it): the VIPs
# keepalived holds and the reboots. Never run on a real host.
#
# Cluster-wide state under $SIM_SHARED (a directory beside the hosts, at the same path
# in every host's namespace):
#   vips/<ip>          a VIP: "<kind> <prefix>", kind api or ingress
#   vip-eligible/<ip>  the nodes whose keepalived may take the VIP, one a line
#   held/<ip>          "<node> <device>": the node whose interface carries the VIP now
#   reboot/<node>      a reboot was asked for on that node (the test's watcher ends its
#                      sessions, boots it again, or never: SetFault)
#
# Keepalived is modelled, not run: a host whose keepalived container runs takes any VIP
# it is eligible for that no node carries, on the next command that looks (ip, crictl).
# A keepalived that stops leaves its VIPs on the interface (the procedure deletes them
# by hand, step 4.k): stale until `ip address del`. VIPs cannot be real addresses on a
# dummy device here: the simulated hosts share the machine's network namespace (sshd
# listens on 127.x addresses), so one host's device would be every host's.

# The interface a node's own address is on, as on RHCOS with OVN-Kubernetes.
SIM_DEV=br-ex

sim_keepalived_running() {
  local started
  [[ -f $SIM/pods/keepalived ]] || return 1
  read -r started _ <"$SIM/pods/keepalived"
  ((started <= $(sim_now)))
}

# sim_vip_sync: this host's keepalived takes the VIPs no node carries. Takes the
# cluster-wide lock itself.
sim_vip_sync() {
  [[ -n $SIM_SHARED && -d $SIM_SHARED/vips ]] || return 0
  sim_keepalived_running || return 0
  local f ip
  (
    flock 8
    for f in "$SIM_SHARED"/vips/*; do
      [[ -e $f ]] || continue
      ip=${f##*/}
      [[ -f $SIM_SHARED/held/$ip ]] && continue
      grep -qxF "$SIM_HOST" "$SIM_SHARED/vip-eligible/$ip" 2>/dev/null || continue
      echo "$SIM_HOST $SIM_DEV" >"$SIM_SHARED/held/$ip"
      printf '%s\tvip-taken %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$ip" "$SIM_HOST" >>"$SIM_SHARED/events.log"
    done
  ) 8>>"$SIM_SHARED/lock"
}

# sim_reboot: ask the test's watcher to reboot this host, then wait to be ended with
# the rest of the host's processes, as a real reboot ends the ssh session.
sim_reboot() {
  [[ -n $SIM_SHARED ]] || { echo "reboot (simulated): no cluster state" >&2; exit 1; }
  mkdir -p "$SIM_SHARED/reboot"
  date +%s%N >"$SIM_SHARED/reboot/$SIM_HOST"
  echo "Connection to $SIM_HOST closed by remote host." >&2
  exec /usr/bin/sleep infinity
}
