package render

import "time"

// profile45 is procedure.md: OpenShift 4.5, "Restoring to a previous cluster state".
// Usually is what the steps take on a healthy three-master cluster: a rollout is a few
// minutes per master (kube-apiserver's the longest), the restore a few minutes.
var profile45 = Profile{
	Name:       "ocp-4.5",
	Minors:     []int{5},
	Page:       "procedure.md",
	Source:     "OpenShift Container Platform 4.5, Backup and restore, 5.3 Restoring to a previous cluster state",
	Offered:    true,
	MinMasters: 2,
	Steps: []Step{
		{ID: "preflight", Number: "P1-P5, 1, 2", Cites: []string{"P1", "P2", "P3", "P4", "P5", "1", "2"}, Kind: "preflight", EtcdDirAllowed: etcdDirAllowed45,
			Title: "preflight: local tools, kit checksums, oc access and cluster-admin, cluster version, proxy, ssh and sudo on every master, the backup pair"},
		{ID: "copy-backup", Number: "3", Cites: []string{"3"}, Kind: "copy-backup", Changes: true,
			Title: "copy the backup pair to the recovery host and verify its sizes and sha256 there"},
		{ID: "push-scripts", Number: "3", Cites: []string{"3"}, Kind: "push-scripts", Changes: true,
			Title: "copy each master's kit scripts and the host library to restorekit/ in the ssh user's home"},
		{ID: "stop-static-pods", Usually: time.Minute, Number: "4", Cites: []string{"4", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6"},
			Where: OnOtherMasters, How: Parallel, Kind: "stop-static-pods", Changes: true, Timeout: "staticPodStop",
			Title: "stop the etcd and kube-apiserver static pods and move the etcd data aside on every other master, in parallel",
			Again: "stop this host's static pods and move its etcd data again, although an earlier run completed step 4 here",
			StaticPods: []StaticPod{
				{Manifest: "etcd-pod.yaml", Container: "etcd", MoveStep: "4.1", WaitStep: "4.2",
					Containers: []string{"etcd", "etcdctl", "etcd-metrics"}},
				{Manifest: "kube-apiserver-pod.yaml", Container: "kube-apiserver", MoveStep: "4.3", WaitStep: "4.4",
					Containers: []string{"kube-apiserver", "kube-apiserver-cert-syncer", "kube-apiserver-cert-regeneration-controller",
						"kube-apiserver-insecure-readyz", "kube-apiserver-check-endpoints"}},
			},
			MoveData: "4.5"},
		{ID: "restore", Usually: 5 * time.Minute, Number: "5-7", Cites: []string{"5", "6", "7"}, Where: OnRecoveryHost, Kind: "restore", Changes: true, Timeout: "restore", Uninterruptible: true,
			Title:     "on the recovery host: export the proxy and run cluster-restore.sh with the backup",
			Again:     "restore the snapshot again, although an earlier run completed the restore here",
			HostSteps: "3 (check), 6, 7", ProxyStep: "6", RestoreStep: "7", EtcdDirAllowed: etcdDirAllowed45},
		{ID: "restart-kubelet", Usually: 2 * time.Minute, Number: "8", Cites: []string{"8"}, Where: OnAllMasters, How: RecoveryFirst, Kind: "restart-kubelet",
			Changes: true, Timeout: "kubeletRestart",
			Title:     "restart kubelet on every master, the recovery host first",
			HostSteps: "8 (and 9.1 on the recovery host)", CheckRunning: "9.1", RunningContainer: "etcd"},
		{ID: "repair-nodes", Usually: time.Minute, Number: "8", Cites: []string{"8"}, Where: OnAllMasters, How: OneAtATime, Kind: "repair-node", Changes: true,
			Timeout: "kubeletRestart", Manual: true, ApproveNodeCSRs: true,
			Title:     "troubleshooting, only recover.sh --only repair-nodes NODE: on a master that stays NotReady after step 8, move the PEM files of /var/lib/kubelet/pki into the run directory, restart its kubelet, approve only that node's CSRs",
			HostSteps: "8 (troubleshooting)"},
		{ID: "verify-single-member", Usually: 2 * time.Minute, Number: "9", Cites: []string{"9", "9.1", "9.2"}, Kind: "verify-single-member", Timeout: "singleMember",
			Title: "verify the single-member control plane: etcd running on the recovery host, one Running etcd pod", Tail: true, TailPart: "9.2"},
		{ID: "redeploy-etcd", Usually: 10 * time.Minute, Number: "10-11", Cites: []string{"10", "11"}, Kind: "redeploy", Changes: true, Timeout: "etcdRollout", Resource: "etcd", Tail: true,
			Title: "force a new etcd rollout (unique forceRedeploymentReason) and wait until every node is at the new revision"},
		{ID: "redeploy-kubeapiserver", Usually: 15 * time.Minute, Number: "12.1", Cites: []string{"12.1"}, Kind: "redeploy", Changes: true, Timeout: "kubeAPIServerRollout", Resource: "kubeapiserver", Tail: true,
			Title: "force a new kubeapiserver rollout (unique forceRedeploymentReason) and wait until every node is at the new revision"},
		{ID: "redeploy-kubecontrollermanager", Usually: 5 * time.Minute, Number: "12.2", Cites: []string{"12.2"}, Kind: "redeploy", Changes: true, Timeout: "kubeControllerManagerRollout", Resource: "kubecontrollermanager", Tail: true,
			Title: "force a new kubecontrollermanager rollout (unique forceRedeploymentReason) and wait until every node is at the new revision"},
		{ID: "redeploy-kubescheduler", Usually: 5 * time.Minute, Number: "12.3", Cites: []string{"12.3"}, Kind: "redeploy", Changes: true, Timeout: "kubeSchedulerRollout", Resource: "kubescheduler", Tail: true,
			Title: "force a new kubescheduler rollout (unique forceRedeploymentReason) and wait until every node is at the new revision"},
		{ID: "verify-members", Usually: time.Minute, Number: "13", Cites: []string{"13"}, Kind: "verify-members", Timeout: "singleMember", Tail: true,
			Title: "verify every master has joined: one Running etcd pod per master"},
	},
}

// etcdDirAllowed45 is what /var/lib/etcd of the recovery host may hold before the 4.5
// restore: cluster-restore.sh moves member/ away, and the restore pod then restores
// only into an empty directory.
var etcdDirAllowed45 = []string{"member"}
