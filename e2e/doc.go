// Package e2e runs recovery kits against a simulated OpenShift control plane on one
// machine: every master is a real sshd in its own mount and UTS namespace, and fake
// crictl, systemctl, cluster-restore.sh and oc model the cluster's state. The tests need
// root, sshd, unshare and ssh; they skip (saying why) without them.
//
// Run them with `sudo go test ./e2e/ -v -count=1` (about six minutes on two cores) and
// the benchmark with `go test ./e2e/ -run '^$' -bench BenchmarkRecover -benchtime 1x`.
//
// Layout of a simulated cluster (Cluster): under a fresh directory in /var/tmp (or
// $RESTOREKIT_E2E_DIR; not /tmp, which each host gets its own of), one directory per
// master whose root/ holds the directories bind-mounted over /etc/kubernetes, /var/lib,
// /home, /tmp, /usr/local/bin and /usr/local/sbin inside that master's namespace
// (testdata/ns-init.sh), its sshd config, host key and account files, and the fakes'
// state in root/var/lib/restorekit-sim; plus a workstation/ directory with the client
// key, known_hosts, the fake oc, the backup pair and the kits. The only change outside
// the namespaces is an empty /etc/kubernetes (and /run/sshd) created as mount points.
//
// Environment: RESTOREKIT_E2E_KEEP=1 keeps a failed test's directory for a post-mortem;
// RESTOREKIT_E2E_FAKE_SUDO=1 uses the fake sudo (testdata/fakes/sudo, the ssh user then
// being uid 0 in the simulated hosts) even when /usr/bin/sudo exists;
// RESTOREKIT_E2E_WS_BASH is the bash recover.sh and redeploy.sh run with on the
// workstation (default: bash on PATH), RESTOREKIT_E2E_HOST_BASH the bash the host scripts
// run with (linked as /usr/local/sbin/bash in every master, first on sudo's
// secure_path; it must lie outside the directories bind-mounted per host, e.g.
// /opt/bash-4.2/bin/bash), so the suite can run under real bash 4.2 and 4.4 builds.
//
// Releases. ClusterConfig.Version (default 4.5.2) is the release the cluster reports
// and selects the model. Before 4.18: the 4.5 hosts (testdata/fakes/cluster-restore.sh,
// a kubelet that starts manifests only on `systemctl restart kubelet`) and API. From
// 4.18.0 (4.18 to 4.22 modelled; the minor picks the differences):
//   - testdata/fakes/disable-etcd.sh and cluster-restore-4.18.sh (installed as
//     /usr/local/bin/cluster-restore.sh) model bindata/etcd/disable-etcd.sh and
//     cluster-restore.sh of openshift/cluster-etcd-operator, release-4.18 to
//     release-4.22; they source the host's etcd.env and etcd-common-tools (the
//     simulated copy of bindata/etcd/etcd-common-tools, testdata/fakes/etcd-common-tools,
//     whose dl_etcdctl stands in for the podman route and uses testdata/fakes/etcdutl,
//     which accepts a snapshot only with its sha256 trailer).
//   - The etcd pod's containers are those of pod.gotpl.yaml (etcdctl etcd etcd-metrics
//     etcd-readyz etcd-rev, plus etcd-backup-server on 4.18-4.20 with
//     ClusterConfig.AutomatedBackup); the restore pod's are etcd and etcd-readyz. Guard
//     pods (<operand>-guard-<node>, container "guard") and the operators' containers
//     run beside them (not on single-node): only exact-name filters tell them apart.
//   - The kubelet picks up manifests by itself; /var/lib/etcd holds revision.json.
//   - The fake oc (oc418_test.go) models the etcd operator's post-restore revision,
//     held back by its quorum precondition unless the quorum guard is off
//     (unsupportedConfigOverrides) or the cluster is single-node; the members
//     rejoining; cluster operators (oc get clusteroperators); the Infrastructure's
//     controlPlaneTopology; `oc adm wait-for-stable-cluster` (absent from clients before
//     4.10, ClusterConfig.OCClientVersion). ClusterConfig.Masters 1 is single-node.
//
// 4.16 and 4.17 (cluster416_test.go, oc416_test.go): the 4.16 container names, guard
// pods, testdata/fakes/cluster-restore-4.16.sh (release-4.16/4.17's script, which stops
// and restores KAS, KCM and KS itself) and etcd-common-tools-4.16; ClusterConfig.V416
// adds workers (hosts with sshd), keepalived and its VIPs (modelled in state by
// testdata/fakes/ip: the hosts share one network namespace), nodes NotReady until
// their PEM files move and a CSR is approved, a foreign pending CSR, OVN pods and
// databases (one pod stuck Terminating), and reboots that end the session (a host can
// never come back: SetFault416(h, NeverBootsAgain)). /var/tmp is the machine's own,
// shared by every simulated host. Events: vip-taken|vip-deleted <ip> <node>,
// reboot-requested|rebooted|never-boots <node>, csr-created <name> <node> <signer>,
// csr-approved|csr-approved-foreign|csr-denied <name> <node>, node-registered <node>,
// node-deleted <node>, node-shown <node> Ready|NotReady, ovn-pod-deleted <app> <pod>
// <node>, ovn-pod-running <app> <node>, ovn-pod-crashloop <node> <why>,
// ovn-pod-stuck-terminating|ovn-pod-force-deleted <pod> <node>.
//
// Faults: SetFault(h, "SIM_STUCK=etcd") (etcd never stops: disable-etcd.sh and
// cluster-restore.sh wait forever, as the real ones do), SetFault(h,
// "SIM_RESTORE_FAIL=early|late"), PutInEtcdDir (an entry cluster-restore.sh refuses),
// CorruptSnapshot, NeverStable (operators that never settle), StuckRollouts,
// SetOCClientVersion, StopSSHD, SetAPIUnreachable (no route to the API until the
// restore), RotatedKubeletCerts (a master NotReady after the restore with its kubelet's
// CSR pending), ClusterConfig.TmpfsTmp (a tmpfs over each master's /tmp),
// SetVersionHistory (clusterversion status.history, e.g. a Partial update). The Proxy's
// status.noProxy is ClusterConfig.Proxy.NoProxy expanded as cluster-network-operator
// does (loopback, .svc, .cluster.local, the networks, api-int, and up to 4.7 etcd-<i>). The model's events (Cluster.Events) record what
// happened for the scenarios' order checks: api-back-after-restore,
// post-restore-revision-requested etcd, revision-blocked etcd <why>,
// revision-unblocked etcd, revision <op> <n>, node-at-revision <op> <node> <n>,
// rollout-complete <op> <n>, member-archived <node> <path>, etcd-members-back <n>,
// cluster-stable, guard-off, guard-on, patch <op> "<reason>", patch-spec <op> <spec>,
// patch-no-change <op> "<reason>", wait-for-stable start|stable|timeout,
// clusteroperators-shown unstable=<names>, etcd-pods-running <n>, api-down <msg>.
package e2e
