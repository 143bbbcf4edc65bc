# shellcheck shell=bash disable=SC2034 # its variables are read by the tools that source it
# sim-lib.bash: the state model shared by the simulated host tools (crictl, systemctl,
# cluster-restore.sh). Sourced by absolute path; never run on a real host.
#
# State lives under $SIM (per host, since /var/lib is bind-mounted per host):
#   config          shell variables: SIM_HOST, SIM_STOP_DELAY_MS, SIM_START_DELAY_MS,
#                   SIM_KUBELET_ACTIVATE_MS, SIM_STUCK (pods that never stop),
#                   SIM_RESTORE_FAIL (empty, "early" or "late"), SIM_MINOR (the
#                   release's minor: 5 models 4.5, 18 and later the 4.18+ hosts),
#                   SIM_BACKUP_SERVER (1: the etcd pod also runs etcd-backup-server,
#                   4.18 to 4.20 with automated backups), SIM_GUARDS (1: guard pods
#                   run, multi-node 4.18+), SIM_KUBELET_WATCH (1: the kubelet starts
#                   new manifests by itself, as a real one does; the 4.5 model starts
#                   them only on a kubelet restart; 16 and 17 model the 4.16
#                   hosts, see sim416.bash), SIM_SHARED (4.16: the cluster-wide
#                   state, the VIPs and reboot requests, beside the hosts)
#   commands.log    every command a fake received: UTC time, host, tool, argv
#   pods/<pod>      a static pod the kubelet runs: "<started_ns> <manifest inode> <kind>"
#   gone/<pod>      when the kubelet first noticed the pod's manifest had gone
#   exited          containers that have stopped: "<id> <name> <pod> <finished_ns>"
#   kubelet         "<restarted_ns>" of the last kubelet restart
#   restored        written by cluster-restore.sh when it completed
#   restore-started when the restore pod's etcd started (4.18+: the API's EOF window)
#   units/<unit>    4.16: "<restarted_ns>" of the last restart of ovs-vswitchd or ovsdb-server
SIM=/var/lib/restorekit-sim
MANIFESTS=/etc/kubernetes/manifests
SIM_HOST=unknown
SIM_STOP_DELAY_MS=0
SIM_START_DELAY_MS=0
SIM_KUBELET_ACTIVATE_MS=0
SIM_STUCK=
SIM_RESTORE_FAIL=
SIM_MINOR=5
SIM_BACKUP_SERVER=0
SIM_GUARDS=0
SIM_SHARED=
SIM_ROLE=master
SIM_KUBELET_WATCH=0
# shellcheck source=/dev/null
[[ -f $SIM/config ]] && . "$SIM/config"

sim_now() { date +%s%N; }

# sim_record TOOL ARG...: one line per command, written with a single write.
sim_record() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)	$SIM_HOST	$1"
  shift
  local a
  for a in "$@"; do
    line+="	$(printf '%q' "$a")"
  done
  printf '%s\n' "$line" >>"$SIM/commands.log"
}

sim_lock() {
  exec 9>>"$SIM/lock"
  flock 9
}

# Containers of each static pod, as the kubelet names them: 4.5, or for 4.18+ those
# of pod.gotpl.yaml and restore-pod.yaml of cluster-etcd-operator's release branch
# (etcd-backup-server is added by the periodic backup controller, 4.18 to 4.20).
sim_containers() {
  case $1:$2 in
    etcd:restore)
      if ((SIM_MINOR >= 18)); then echo "etcd etcd-readyz"; else echo "etcd"; fi ;;
    etcd:*)
      if ((SIM_MINOR >= 21)) || { ((SIM_MINOR >= 18)) && [[ $SIM_BACKUP_SERVER != 1 ]]; }; then
        echo "etcdctl etcd etcd-metrics etcd-readyz etcd-rev"
      elif ((SIM_MINOR >= 18)); then
        echo "etcdctl etcd etcd-metrics etcd-readyz etcd-rev etcd-backup-server"
      elif ((SIM_MINOR >= 16)); then
        # bindata/etcd/pod.yaml of release-4.16 and release-4.17: no etcd-rev yet.
        echo "etcdctl etcd etcd-metrics etcd-readyz"
      else
        echo "etcdctl etcd etcd-metrics"
      fi ;;
    kube-apiserver:*) echo "kube-apiserver kube-apiserver-cert-syncer kube-apiserver-cert-regeneration-controller kube-apiserver-insecure-readyz kube-apiserver-check-endpoints" ;;
    kube-controller-manager:*) echo "kube-controller-manager cluster-policy-controller kube-controller-manager-cert-syncer kube-controller-manager-recovery-controller" ;;
    kube-scheduler:*) echo "kube-scheduler kube-scheduler-cert-syncer kube-scheduler-recovery-controller" ;;
    # machine-config-operator's on-prem keepalived static pod (keepalived.yaml).
    keepalived:*) echo "keepalived keepalived-monitor" ;;
    *) echo "$1" ;;
  esac
}

sim_pod_of_manifest() {
  local b=${1##*/}
  b=${b%.yaml}
  echo "${b%-pod}"
}

# sim_manifest POD: the manifest the kubelet runs POD from (keepalived.yaml has no -pod).
sim_manifest() {
  if [[ $1 == keepalived ]]; then echo "$MANIFESTS/keepalived.yaml"; else echo "$MANIFESTS/$1-pod.yaml"; fi
}

sim_inode() { stat -c %i "$1" 2>/dev/null || echo none; }

sim_kind_of_manifest() {
  if grep -q 'restorekit-sim: restore-etcd' "$1" 2>/dev/null; then
    echo restore
  elif grep -q 'restorekit-sim: revision-from-rollout' "$1" 2>/dev/null; then
    echo rollout
  else
    echo original
  fi
}

sim_is_stuck() {
  local p
  for p in $SIM_STUCK; do
    [[ $p == "$1" ]] && return 0
  done
  return 1
}

# sim_stop_pod POD: its containers exit.
sim_stop_pod() {
  local pod=$1 started inode kind c now
  read -r started inode kind <"$SIM/pods/$pod"
  now=$(sim_now)
  for c in $(sim_containers "$pod" "$kind"); do
    printf '%s %s %s %s\n' "$(sim_cid "$pod" "$c" "$started")" "$c" "$pod" "$now" >>"$SIM/exited"
  done
  rm -f "$SIM/pods/$pod" "$SIM/gone/$pod"
}

sim_cid() { printf '%s/%s/%s/%s' "$SIM_HOST" "$1" "$2" "$3" | sha256sum | cut -c1-64; }

# sim_sync: the kubelet notices manifests that have left the manifests directory and
# stops their pods once the stop delay has passed. Call with the lock held.
sim_sync() {
  local f pod started inode kind now gone
  now=$(sim_now)
  for f in "$SIM"/pods/*; do
    [[ -e $f ]] || continue
    pod=${f##*/}
    read -r started inode kind <"$f"
    if [[ $(sim_inode "$(sim_manifest "$pod")") == "$inode" ]]; then
      rm -f "$SIM/gone/$pod"
      continue
    fi
    sim_is_stuck "$pod" && continue
    [[ -f $SIM/gone/$pod ]] || echo "$now" >"$SIM/gone/$pod"
    read -r gone <"$SIM/gone/$pod"
    if ((now - gone >= SIM_STOP_DELAY_MS * 1000000)); then
      sim_stop_pod "$pod"
    fi
  done
  [[ $SIM_KUBELET_WATCH == 1 ]] || return 0
  # A watching kubelet starts a manifest once the pod it replaces has stopped, and
  # retries a crash-looping restore pod.
  for m in "$MANIFESTS"/*-pod.yaml "$MANIFESTS"/keepalived.yaml; do
    [[ -f $m ]] || continue
    pod=$(sim_pod_of_manifest "$m")
    if [[ -f $SIM/pods/$pod ]]; then
      read -r started inode kind <"$SIM/pods/$pod"
      [[ $kind == restore-failed && $inode == "$(sim_inode "$m")" ]] || continue
    fi
    sim_start_pod "$pod" "$m" "$now"
  done
}

# sim_start_pod POD MANIFEST NOW: the kubelet starts a static pod; a restore-etcd pod
# restores the snapshot into an empty /var/lib/etcd (like restore-pod.yaml: it refuses
# a non-empty data dir or a missing snapshot copy; from 4.18 it also copies
# revision.json back and removes the snapshot copy).
sim_start_pod() {
  local pod=$1 m=$2 now=$3 inode kind
  inode=$(sim_inode "$m")
  kind=$(sim_kind_of_manifest "$m")
  if [[ $kind == restore ]]; then
    if [[ -n $(ls -A /var/lib/etcd 2>/dev/null) || ! -f /var/lib/etcd-backup/snapshot.db ]]; then
      kind=restore-failed
    else
      mkdir -p /var/lib/etcd/member/snap /var/lib/etcd/member/wal
      {
        echo "restored member on $SIM_HOST from snapshot"
        sha256sum </var/lib/etcd-backup/snapshot.db
      } >/var/lib/etcd/member/snap/db
      if ((SIM_MINOR >= 18)); then
        [[ ! -f /var/lib/etcd-backup/revision.json ]] || cp /var/lib/etcd-backup/revision.json /var/lib/etcd/
        rm -f /var/lib/etcd-backup/snapshot.db
        echo "$((now + SIM_START_DELAY_MS * 1000000))" >"$SIM/restore-started"
      fi
    fi
  fi
  echo "$((now + SIM_START_DELAY_MS * 1000000)) $inode $kind" >"$SIM/pods/$pod"
}

# sim_kubelet_restart: pods without a manifest stop at once; every manifest present is
# (re)started; a restore-etcd pod restores the snapshot into an empty /var/lib/etcd.
sim_kubelet_restart() {
  local f pod started inode kind now m
  sim_sync
  now=$(sim_now)
  for f in "$SIM"/pods/*; do
    [[ -e $f ]] || continue
    pod=${f##*/}
    read -r started inode kind <"$f"
    if [[ $(sim_inode "$(sim_manifest "$pod")") != "$inode" ]] && ! sim_is_stuck "$pod"; then
      sim_stop_pod "$pod"
    fi
  done
  for m in "$MANIFESTS"/*-pod.yaml "$MANIFESTS"/keepalived.yaml; do
    [[ -f $m ]] || continue
    pod=$(sim_pod_of_manifest "$m")
    inode=$(sim_inode "$m")
    if [[ -f $SIM/pods/$pod ]]; then
      read -r started f kind <"$SIM/pods/$pod"
      [[ $f == "$inode" ]] && continue
      sim_stop_pod "$pod"
    fi
    sim_start_pod "$pod" "$m" "$now"
  done
  echo "$now" >"$SIM/kubelet"
}

# sim_running: "<id> <name> <pod> <kind> <started_ns>" for each running container,
# operators and (4.18+, multi-node) the guard pods included: they are not static pods
# and never stop here.
sim_running() {
  local f pod started inode kind now c
  now=$(sim_now)
  for f in "$SIM"/pods/*; do
    [[ -e $f ]] || continue
    pod=${f##*/}
    read -r started inode kind <"$f"
    ((started <= now)) || continue
    [[ $kind == restore-failed ]] && continue
    for c in $(sim_containers "$pod" "$kind"); do
      echo "$(sim_cid "$pod" "$c" "$started") $c $pod $kind $started"
    done
  done
  # The operators and guard pods run on control-plane nodes only.
  [[ $SIM_ROLE == master ]] || return 0
  echo "$(sim_cid etcd-operator etcd-operator 0) etcd-operator etcd-operator operator 0"
  echo "$(sim_cid kube-apiserver-operator kube-apiserver-operator 0) kube-apiserver-operator kube-apiserver-operator operator 0"
  if ((SIM_MINOR >= 16)); then
    echo "$(sim_cid kube-controller-manager-operator kube-controller-manager-operator 0) kube-controller-manager-operator kube-controller-manager-operator operator 0"
    echo "$(sim_cid kube-scheduler-operator kube-scheduler-operator-container 0) kube-scheduler-operator-container kube-scheduler-operator operator 0"
  fi
  if [[ $SIM_GUARDS == 1 ]]; then
    # library-go's guard pods: <operand>-guard-<node>, one container named guard.
    for pod in etcd kube-apiserver kube-controller-manager kube-scheduler; do
      echo "$(sim_cid "$pod-guard" guard 0) guard $pod-guard guard 0"
    done
  fi
}
