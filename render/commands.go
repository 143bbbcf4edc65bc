package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/restorekit/restorekit/inventory"
)

// RunDirWord stands for a host script's run directory in the commands listed offline:
// its name is made when the script runs (UTC time and pid).
const RunDirWord = "<run dir>"

// hostPlans say, per host step kind, what its script does on a host, in order: the
// lines the script's plan prints before it asks (and with --dry-run). They are written
// from the same step options and inventory values the templates use, so that a reviewer
// reads them offline; hostscripts_test checks them against what the scripts print.
var hostPlans = map[string]func(s PlanStep, h *Host, inv *inventory.Inventory, paths HostPaths) []string{
	"stop-static-pods": func(s PlanStep, _ *Host, inv *inventory.Inventory, paths HostPaths) []string {
		var out []string
		for _, p := range s.StaticPods {
			manifest := paths.Manifests + "/" + p.Manifest
			out = append(out,
				fmt.Sprintf("%s move %s to %s%s", p.MoveStep, manifest, RunDirWord, manifest),
				fmt.Sprintf("%s wait until no %s container runs (at most %s)", p.WaitStep, p.Container, humanDuration(inv.Timeouts.StaticPodStop)))
		}
		return append(out,
			fmt.Sprintf("%s move %s to %s%s", s.MoveData, paths.EtcdData, RunDirWord, paths.EtcdData),
			"nothing is deleted; what an earlier run already moved is skipped")
	},
	"restore": func(_ PlanStep, _ *Host, inv *inventory.Inventory, paths HostPaths) []string {
		proxy := "6 no cluster-wide proxy to export"
		if env := restoreEnv(inv.Proxy); len(env) > 0 {
			proxy = "6 pass the proxy to cluster-restore.sh: " + strings.Join(env, " ")
		}
		return []string{proxy,
			fmt.Sprintf("7 move %s and %s, where present, to %s", paths.EtcdBackup, paths.StoppedManifests, RunDirWord),
			fmt.Sprintf("7 run %s %s (at most %s): it stops the control-plane static pods,", paths.ClusterRestore, inv.Backup.RemoteDir, humanDuration(inv.Timeouts.Restore)),
			fmt.Sprintf("  moves %s/member to %s and starts a one-member etcd from the snapshot", paths.EtcdData, paths.EtcdBackup),
		}
	},
	"restart-kubelet": func(s PlanStep, h *Host, inv *inventory.Inventory, _ HostPaths) []string {
		out := []string{fmt.Sprintf("%s systemctl restart kubelet.service, then wait until it is active (at most %s)", s.Number, humanDuration(inv.Timeouts.KubeletRestart))}
		if h.IsRecovery {
			// lib/host.sh container_steady: STEADY_POLLS=3.
			out = append(out, fmt.Sprintf("%s wait until the same container named %s runs over 3 polls in a row (at most %s)", s.CheckRunning, s.RunningContainer, humanDuration(inv.Timeouts.SingleMember)))
		}
		return out
	},
	"repair-node": func(s PlanStep, _ *Host, inv *inventory.Inventory, _ HostPaths) []string {
		return []string{fmt.Sprintf("%s move /var/lib/kubelet/pki/*.pem into the run directory, systemctl restart kubelet.service, wait until it is active (at most %s)", s.Number, humanDuration(inv.Timeouts.KubeletRestart))}
	},
	"ovn-node": func(_ PlanStep, _ *Host, inv *inventory.Inventory, _ HostPaths) []string {
		return []string{"14.a move /var/lib/ovn-ic/etc/*.db into the run directory",
			fmt.Sprintf("14.b systemctl restart ovs-vswitchd ovsdb-server, wait until both are active (at most %s)", humanDuration(inv.Timeouts.SingleMember))}
	},
	"reboot-node": func(PlanStep, *Host, *inventory.Inventory, HostPaths) []string {
		return []string{"24 systemctl reboot, 5s after this script ends"}
	},
}

// restoreEnv is what restore.sh passes to cluster-restore.sh for the proxy (step 6).
func restoreEnv(p *inventory.Proxy) []string {
	if p == nil {
		return nil
	}
	var env []string
	for _, kv := range [][2]string{{"HTTP_PROXY", p.HTTPProxy}, {"HTTPS_PROXY", p.HTTPSProxy}, {"NO_PROXY", p.NoProxy}} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env
}

// humanDuration is the host library's human_duration: 75s -> 1m15s, 10m -> 10m00s.
func humanDuration(d inventory.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm%02ds", s/3600, s%3600/60, s%60)
	case s >= 60:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// HostCommands is what the step's script does on host h, in order (nil, false for a
// kind without a description).
func (p *Plan) HostCommands(s PlanStep, h *Host, inv *inventory.Inventory) ([]string, bool) {
	return p.hostCommands(s, h, inv, hostPaths)
}

func (p *Plan) hostCommands(s PlanStep, h *Host, inv *inventory.Inventory, paths HostPaths) ([]string, bool) {
	describe, ok := hostPlans[s.Kind]
	if !ok {
		return nil, false
	}
	return describe(s, h, inv, paths), true
}

// WriteCommands prints, step by step in running order, what each host runs: for a host
// step the script recover.sh starts on each host, as it goes over them, and what that
// script does there; for a workstation step what recover.sh does itself. It needs
// nothing but the inventory: a reviewer reads it before the outage.
func (p *Plan) WriteCommands(w io.Writer, inv *inventory.Inventory) error {
	kit := KitName(inv.Cluster.Name)
	fmt.Fprintf(w, "commands of the kit %s (OpenShift %s, profile %s), step by step as recover.sh runs them\n",
		kit, inv.Cluster.Version, p.Profile.Name)
	fmt.Fprintf(w, "(%s is the new directory a host script makes under %s for what it moves and its run.log)\n", RunDirWord, inv.QuarantineDir)
	for _, s := range p.Steps {
		fmt.Fprintf(w, "\nstep %s (%s): %s\n", s.Number, s.ID, s.Title)
		if s.Manual {
			fmt.Fprintf(w, "  not in a normal run: only recover.sh --only %s\n", s.ID)
		}
		if !s.Where.OnHosts() {
			by := "recover.sh"
			if s.Tail {
				by = "recover.sh, or redeploy.sh,"
			}
			fmt.Fprintf(w, "  on the workstation: %s runs it (RUNBOOK.md gives its commands by hand)\n", by)
			continue
		}
		if len(s.HostIndexes) > 1 {
			fmt.Fprintf(w, "  on %s, %s\n", strings.Join(s.HostNames(p), ", "), s.How)
		}
		for _, i := range s.HostIndexes {
			h := p.Hosts[i]
			fmt.Fprintf(w, "  %s: sudo bash restorekit/%s/%s --yes\n", h.Name, kit, s.ScriptName())
			lines, ok := p.HostCommands(s, h, inv)
			if !ok {
				fmt.Fprintf(w, "    (no listing for step kind %s: read hosts/%s/%s)\n", s.Kind, h.Name, s.ScriptName())
			}
			for _, l := range lines {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	return nil
}
