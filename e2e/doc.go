// Package e2e runs recovery kits against a simulated OpenShift control plane on one
// machine: every master is a real sshd in its own mount and UTS namespace, and fake
// crictl, systemctl, cluster-restore.sh and oc model the cluster's state. The tests need
// root, sshd, unshare and ssh; they skip (saying why) without them.
package e2e
