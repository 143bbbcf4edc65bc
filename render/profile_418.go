package render

// profile418 is procedure-4.18.md: OpenShift 4.18 to 4.22, multi-node and single-node.
// Numbers of the single-node section are cited as "SNO n".
var profile418 = Profile{
	Name:       "ocp-4.18",
	Minors:     []int{18, 19, 20, 21, 22},
	Page:       "procedure-4.18.md",
	Source:     "OpenShift Container Platform 4.18 to 4.22, Backup and restore, Restoring to a previous cluster state (and its single-node variant)",
	MinMasters: 1,
	Offered:    true,
	Steps: []Step{
		{ID: "preflight", Number: "P1-P5, 1, 2", Cites: []string{"P1", "P2", "P3", "P4", "P5", "1", "2"}, Kind: "preflight", When: Condition{Fact: MultiNode},
			HostTools: []string{"disable-etcd.sh", "cluster-restore.sh"}, EtcdDirAllowed: etcdDirAllowed418, StableCommand: true,
			Title: "preflight: local tools, kit checksums, oc access, cluster version, proxy, ssh and sudo on every control-plane host, disable-etcd.sh and cluster-restore.sh present, /var/lib/etcd on the recovery host, the backup pair"},
		{ID: "preflight", Number: "P1-P5, SNO 1", Cites: []string{"P1", "P2", "P3", "P4", "P5", "SNO 1"}, Kind: "preflight", When: Condition{Fact: SingleNode},
			HostTools: []string{"cluster-restore.sh"}, EtcdDirAllowed: etcdDirAllowed418, StableCommand: true,
			Title: "preflight: local tools, kit checksums, oc access, cluster version, proxy, ssh and sudo on the node, cluster-restore.sh present, /var/lib/etcd, the backup pair"},
		{ID: "push-scripts", Number: "2", Cites: []string{"2"}, Kind: "push-scripts", Changes: true, When: Condition{Fact: MultiNode},
			Title: "copy each control-plane host's kit scripts and the host library to restorekit/ in the ssh user's home"},
		{ID: "push-scripts", Number: "SNO 1", Cites: []string{"SNO 1"}, Kind: "push-scripts", Changes: true, When: Condition{Fact: SingleNode},
			Title: "copy the node's kit scripts and the host library to restorekit/ in the ssh user's home"},
		// Step 4 does not depend on step 3: copying first means a failed copy stops the
		// run before etcd is down anywhere.
		{ID: "copy-backup", Number: "4", Cites: []string{"4"}, Kind: "copy-backup", Changes: true, When: Condition{Fact: MultiNode},
			Title: "copy the backup pair to the recovery host and verify its sizes and sha256 there"},
		{ID: "copy-backup", Number: "SNO 1", Cites: []string{"SNO 1"}, Kind: "copy-backup", Changes: true, When: Condition{Fact: SingleNode},
			Title: "copy the backup pair to the node and verify its sizes and sha256 there"},
		{ID: "disable-etcd", Number: "3", Cites: []string{"3"}, Where: OnOtherMasters, How: Parallel, Kind: "disable-etcd", Changes: true,
			Timeout: "staticPodStop", When: Condition{Fact: MultiNode},
			Title:  "run the host's own disable-etcd.sh on every other control-plane host, in parallel, and wait until its etcd containers have stopped",
			Again:  "stop etcd on this host again, although an earlier run completed step 3 here",
			Script: "disable-etcd.sh", EtcdContainers: etcdContainers418},
		{ID: "restore", Number: "5", Cites: []string{"5"}, Where: OnRecoveryHost, Kind: "restore-etcd", Changes: true, Timeout: "restore", Uninterruptible: true, When: Condition{Fact: MultiNode},
			Title:  "on the recovery host: set an earlier /var/lib/etcd-backup aside, run cluster-restore.sh once with the proxy variables",
			Again:  "restore the snapshot again, although an earlier run completed the restore here",
			Script: "cluster-restore.sh", EtcdContainers: etcdContainers418, EtcdDirAllowed: etcdDirAllowed418},
		{ID: "restore", Number: "SNO 2", Cites: []string{"SNO 2"}, Where: OnRecoveryHost, Kind: "restore-etcd", Changes: true, Timeout: "restore", Uninterruptible: true, When: Condition{Fact: SingleNode},
			Title:  "on the node: set an earlier /var/lib/etcd-backup aside, run cluster-restore.sh once with the proxy variables",
			Again:  "restore the snapshot again, although an earlier run completed the restore here",
			Script: "cluster-restore.sh", EtcdContainers: etcdContainers418, EtcdDirAllowed: etcdDirAllowed418},
		{ID: "wait-api", Number: "7", Cites: []string{"7"}, Kind: "wait-api", Timeout: "singleMember", When: Condition{Fact: MultiNode}, Tail: true,
			Title: "wait until the restored API answers (through the EOF window)"},
		{ID: "wait-api", Number: "SNO 4", Cites: []string{"SNO 4"}, Kind: "wait-api", Timeout: "singleMember", When: Condition{Fact: SingleNode}, Tail: true,
			Title: "wait until the restored API answers (through the EOF window)"},
		{ID: "quorum-guard-off", Number: "7", Cites: []string{"7"}, Kind: "quorum-guard-off", Changes: true, When: Condition{Fact: MultiNode}, Tail: true,
			Title: "turn the etcd quorum guard off (unsupportedConfigOverrides)",
			Opens: []Duty{quorumGuardDuty}},
		{ID: "wait-stable", Number: "8", Cites: []string{"8"}, Kind: "wait-stable", Timeout: "stableCluster", When: Condition{Fact: MultiNode}, Tail: true,
			Title: "wait for a stable cluster: every cluster operator Available, not Progressing, not Degraded, for the minimum stable period"},
		{ID: "wait-stable", Number: "SNO 4", Cites: []string{"SNO 4"}, Kind: "wait-stable", Timeout: "stableCluster", When: Condition{Fact: SingleNode}, Tail: true,
			Title: "wait for a stable cluster: every cluster operator Available, not Progressing, not Degraded, for the minimum stable period"},
		{ID: "quorum-guard-on", Number: "9", Cites: []string{"9"}, Kind: "quorum-guard-on", Changes: true, When: Condition{Fact: MultiNode}, Tail: true,
			Title:  "turn the etcd quorum guard back on and check that unsupportedConfigOverrides is gone",
			Closes: []string{quorumGuardDuty.Name}},
		{ID: "verify-members", Number: "9", Cites: []string{"9"}, Kind: "verify-members", Timeout: "singleMember", When: Condition{Fact: MultiNode}, Tail: true,
			Title: "final check: one Running and Ready etcd pod per control-plane host, every cluster operator stable"},
		{ID: "verify-members", Number: "SNO 4", Cites: []string{"SNO 4"}, Kind: "verify-members", Timeout: "singleMember", When: Condition{Fact: SingleNode}, Tail: true,
			Title: "final check: the etcd pod Running and Ready, every cluster operator stable"},
		{ID: "force-redeploy-etcd", Number: "troubleshooting", Cites: []string{"troubleshooting"}, Kind: "redeploy", Changes: true, Timeout: "etcdRollout",
			Resource: "etcd", Manual: true, Tail: true,
			Title: "troubleshooting, only with --only: force a new etcd revision (unique forceRedeploymentReason) and wait until every node is at it"},
	},
}

// etcdDirAllowed418 is what cluster-restore.sh (4.18+) deals with in /var/lib/etcd:
// member/ it moves aside, revision.json it moves, etcd_perf* it deletes. Anything else
// makes it exit after etcd is down.
var etcdDirAllowed418 = []string{"member", "revision.json", "etcd_perf*"}

// etcdContainers418 are the containers of the etcd pod that disable-etcd.sh and
// cluster-restore.sh wait for (etcd-common-tools of release-4.18 to release-4.22):
// etcd-backup-server is in the list up to 4.20.
func etcdContainers418(minor int) []string {
	names := []string{"etcd", "etcdctl", "etcd-metrics", "etcd-readyz", "etcd-rev"}
	if minor <= 20 {
		names = append(names, "etcd-backup-server")
	}
	return names
}

// quorumGuardDuty is open from "quorum guard off" until "quorum guard on".
var quorumGuardDuty = Duty{
	Name: "quorum-guard",
	Open: "the etcd quorum guard is still OFF (unsupportedConfigOverrides is set)",
	Fix:  `oc patch etcd/cluster --type=merge -p '{"spec": {"unsupportedConfigOverrides": null}}'`,
}
