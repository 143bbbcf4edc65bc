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
// being uid 0 in the simulated hosts) even when /usr/bin/sudo exists.
package e2e
