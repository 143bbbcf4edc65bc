package e2e

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/out"
	"github.com/restorekit/restorekit/render"
)

// KitOptions change the inventory a kit is built from, relative to the cluster.
type KitOptions struct {
	Version       string            // cluster.version (default: what the cluster reports)
	NetworkType   string            // cluster.networkType of a 4.16 inventory (default: the cluster's)
	Proxy         *SimProxy         // inventory proxy (default: the cluster's)
	Hostnames     map[string]string // masters[].hostname overrides, by node name
	QuarantineDir string
	IncludeBackup bool
	StaticPodStop time.Duration // default 30s (the inventory's minimum)
	Rollout       time.Duration // every operator's rollout timeout, default 90s
	Restore       time.Duration // timeouts.restore, default 60s
	// StableCluster and MinimumStablePeriod are the 4.18+ wait for a stable cluster
	// (default 90s and 2s).
	StableCluster       time.Duration
	MinimumStablePeriod time.Duration
	// ViaRun packages the kit (out.Package) and runs it from what its self-extracting
	// .run unpacks, as at an air-gapped site.
	ViaRun bool
}

// Kit is a kit built from the simulated cluster's inventory and written to disk.
type Kit struct {
	Dir           string
	IncludeBackup bool // the backup pair is in the kit's backup/
	Inventory     *inventory.Inventory
	Render        *render.Kit
}

// InventoryYAML is the inventory of the simulated cluster, as a site would write it.
func (c *Cluster) InventoryYAML(o KitOptions) string {
	version := o.Version
	if version == "" {
		version = c.Config.Version
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: restorekit.io/v1alpha1
kind: RecoveryInventory
cluster:
  name: %s
  version: %s
%sbackup:
  localDir: %s
  remoteDir: /home/core/backup
recoveryHost: %s
masters:
`, c.Config.Name, version, c.cluster416YAML(o), c.BackupDir, c.Recovery().Name)
	for _, h := range c.Hosts {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n", h.Name, h.Addr)
		hostname := ""
		if h.Hostname != h.Name {
			hostname = h.Hostname
		}
		if v, ok := o.Hostnames[h.Name]; ok {
			hostname = v
		}
		if hostname != "" {
			fmt.Fprintf(&b, "    hostname: %s\n", hostname)
		}
		fmt.Fprintf(&b, "    ssh:\n      port: %d\n", h.Port)
	}
	if c.Is416() {
		// The 4.16 inventory's facts: the workers, the network type, the VIPs.
		b.WriteString("workers:")
		if len(c.Workers) == 0 {
			b.WriteString(" []")
		}
		b.WriteString("\n")
		for _, h := range c.Workers {
			fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    ssh:\n      port: %d\n", h.Name, h.Addr, h.Port)
			if h.Hostname != h.Name {
				fmt.Fprintf(&b, "    hostname: %s\n", h.Hostname)
			}
		}
	}
	fmt.Fprintf(&b, `ssh:
  user: core
  identityFile: %s
  knownHostsFile: %s
  strictHostKeyChecking: "yes"
  connectTimeout: 5s
`, c.ClientKey, c.KnownHost)
	if c.Jump != nil {
		fmt.Fprintf(&b, "  jumpHost: core@%s:%d\n", c.Jump.Addr, c.Jump.Port)
	}
	proxy := o.Proxy
	if proxy == nil {
		proxy = c.Config.Proxy
	}
	if proxy != nil {
		fmt.Fprintf(&b, "proxy:\n  httpProxy: %s\n  httpsProxy: %s\n  noProxy: %s\n", proxy.HTTPProxy, proxy.HTTPSProxy, proxy.NoProxy)
	}
	stop := o.StaticPodStop
	if stop == 0 {
		stop = 30 * time.Second
	}
	roll := o.Rollout
	if roll == 0 {
		roll = 90 * time.Second
	}
	restore := o.Restore
	if restore == 0 {
		restore = 60 * time.Second
	}
	fmt.Fprintf(&b, `timeouts:
  staticPodStop: %s
  restore: %s
  kubeletRestart: 30s
  singleMember: 60s
  etcdRollout: %s
  kubeAPIServerRollout: %s
  kubeControllerManagerRollout: %s
  kubeSchedulerRollout: %s
  pollInterval: 1s
`, stop, restore, roll, roll, roll, roll)
	if c.Is418() || c.Is416() {
		stable, period := o.StableCluster, o.MinimumStablePeriod
		if stable == 0 {
			stable = 90 * time.Second
		}
		if period == 0 {
			period = 2 * time.Second
		}
		fmt.Fprintf(&b, "  stableCluster: %s\n  minimumStablePeriod: %s\n", stable, period)
	}
	// Without KitOptions.QuarantineDir the inventory leaves it out: the default.
	c.QuarantineDir = o.QuarantineDir
	if c.QuarantineDir == "" {
		c.QuarantineDir = inventory.DefaultQuarantineDir
	} else {
		fmt.Fprintf(&b, "quarantineDir: %s\n", c.QuarantineDir)
	}
	return b.String()
}

// cluster416YAML is what a 4.16 inventory says of the cluster beyond its name and
// version: the network type and the VIPs ("" for other releases).
func (c *Cluster) cluster416YAML(o KitOptions) string {
	if !c.Is416() {
		return ""
	}
	v := c.Config.V416
	nt := cmp.Or(o.NetworkType, v.NetworkType, "OVNKubernetes")
	out := "  networkType: " + nt + "\n"
	if !v.Keepalived {
		return out + "  apiVIPs: []\n"
	}
	api, ingress := v.APIVIP, v.IngressVIP
	if api == "" {
		api = defaultAPIVIP
	}
	if ingress == "" {
		ingress = defaultIngressVIP
	}
	return out + "  apiVIPs: [" + api + "]\n  ingressVIPs: [" + ingress + "]\n"
}

// BuildKit builds a kit the way `restorekit build` does (inventory.Parse, render.Render,
// out.WriteKit) and writes it under the workstation directory.
func (c *Cluster) BuildKit(o KitOptions) *Kit {
	t := c.t
	t.Helper()
	data := c.InventoryYAML(o)
	invPath := filepath.Join(c.Work, "inventory.yaml")
	writeFile(t, invPath, data, 0o644)
	inv, warnings, err := inventory.Parse(invPath, []byte(data), inventory.LoadOptions{})
	if err != nil {
		t.Fatalf("inventory:\n%v\n%s", err, data)
	}
	for _, w := range warnings {
		t.Logf("inventory warning: %s", w)
	}
	rk, err := render.Render(inv, render.Options{ToolVersion: "e2e"})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	parent := filepath.Join(c.Work, "kits")
	mustMkdir(t, parent, 0o755)
	var dir string
	if o.ViaRun {
		res, err := out.Package(rk, filepath.Join(c.Work, "build"), out.PackageOptions{Force: true, IncludeBackup: o.IncludeBackup})
		if err != nil {
			t.Fatalf("package kit: %v", err)
		}
		dir = filepath.Join(parent, rk.Name)
		_ = os.RemoveAll(dir)
		if b, err := exec.Command("bash", res.Run.Path, "--extract", dir).CombinedOutput(); err != nil {
			t.Fatalf("bash %s --extract %s: %v\n%s", res.Run.Path, dir, err, b)
		}
	} else {
		dir, err = out.WriteKit(rk, parent, out.WriteOptions{Force: true, IncludeBackup: o.IncludeBackup})
		if err != nil {
			t.Fatalf("write kit: %v", err)
		}
	}
	c.writeWorkstationSSHConfig()
	return &Kit{Dir: dir, Inventory: inv, Render: rk, IncludeBackup: o.IncludeBackup}
}

// writeWorkstationSSHConfig is the ~/.ssh/config of the workstation's user (bind-mounted
// over /root for the coordinator): the jump host's key and known hosts.
func (c *Cluster) writeWorkstationSSHConfig() {
	if c.Jump == nil {
		return
	}
	cfg := fmt.Sprintf("Host %s\n  User core\n  Port %d\n  IdentityFile %s\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		c.Jump.Addr, c.Jump.Port, c.ClientKey, c.KnownHost)
	writeFile(c.t, filepath.Join(c.Work, "home", ".ssh", "config"), cfg, 0o600)
}

// Result is one run of a kit script on the workstation.
type Result struct {
	Output   string
	ExitCode int
	Elapsed  time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d after %s:\n%s", r.ExitCode, r.Elapsed.Round(time.Millisecond), r.Output)
}

// RunOptions tune a coordinator run.
type RunOptions struct {
	// Watch, when set, is called every 100ms while the script runs; when it returns
	// true the script's process group gets Signal (default SIGINT, as from Ctrl-C on its
	// terminal; SIGKILL for a workstation that dies).
	Watch   func() bool
	Signal  syscall.Signal
	Timeout time.Duration // default 8 minutes
}

// Run runs a kit script (recover.sh, redeploy.sh) from the kit directory on the
// workstation: in a mount namespace of its own where /root (the user's home) is the
// workstation's, with the fake oc first on PATH. recover.sh gets --backup-dir with the
// backup pair unless the kit carries it.
func (c *Cluster) Run(k *Kit, script string, o RunOptions, args ...string) Result {
	t := c.t
	t.Helper()
	if script == "recover.sh" && !k.IncludeBackup && !contains(args, "--backup-dir") {
		args = append(args, "--backup-dir", c.BackupDir)
	}
	if o.Timeout == 0 {
		o.Timeout = 8 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	home := filepath.Join(c.Work, "home")
	mustMkdir(t, filepath.Join(c.Work, "tmp"), 0o700)
	shell := fmt.Sprintf("mount --bind %s /root && cd %s && exec %s ./%s \"$@\"", shellQuote(home), shellQuote(k.Dir), shellQuote(wsBash()), script)
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "bash", "-c", shell, script}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+c.Bin+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"KUBECONFIG="+filepath.Join(c.Work, "kubeconfig"), "HOME=/root", "LC_ALL=C", "TMPDIR="+filepath.Join(c.Work, "tmp"))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	interrupted := false
loop:
	for {
		select {
		case err = <-done:
			break loop
		case <-time.After(100 * time.Millisecond):
			if o.Watch != nil && !interrupted && o.Watch() {
				interrupted = true
				sig := o.Signal
				if sig == 0 {
					sig = syscall.SIGINT
				}
				t.Logf("interrupting %s (%v to its process group)", script, sig)
				_ = syscall.Kill(-cmd.Process.Pid, sig)
			}
		}
	}
	r := Result{Output: buf.String(), Elapsed: time.Since(start)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v\n%s", script, err, r.Output)
		}
		r.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.ExitCode = 128 + int(ws.Signal())
		}
	}
	if ctx.Err() != nil {
		t.Errorf("%s did not finish within %s", script, o.Timeout)
	}
	writeFile(t, filepath.Join(c.Work, fmt.Sprintf("run-%s-%d.log", script, time.Now().UnixNano())), r.Output, 0o644)
	return r
}

// RunOnHost runs one of a host's kit scripts the way the RUNBOOK says: copied to the
// host with the kit's host library, then `sudo bash ./SCRIPT --yes` over ssh.
func (c *Cluster) RunOnHost(k *Kit, h *Host, script string, args ...string) Result {
	c.t.Helper()
	return c.RunScriptOn(k, h, h, script, args...)
}

// RunScriptOn runs the script the kit has for host of on host h (a mistake when they
// differ).
func (c *Cluster) RunScriptOn(k *Kit, of, h *Host, script string, args ...string) Result {
	t := c.t
	t.Helper()
	src := filepath.Join(k.Dir, "hosts", of.Name, script)
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("kit has no %s for %s", script, of.Name)
	}
	// The script goes with the kit's host library, as the RUNBOOK copies them.
	if out, err := c.SSH(h, "mkdir -p kit/lib"); err != nil {
		t.Fatalf("%s: %v\n%s", h.Hostname, err, out)
	}
	if err := c.SCP(h, "kit/", src); err != nil {
		t.Fatalf("%s: %v", h.Hostname, err)
	}
	if err := c.SCP(h, "kit/lib/", filepath.Join(k.Dir, filepath.FromSlash(render.HostLibPath))); err != nil {
		t.Fatalf("%s: %v", h.Hostname, err)
	}
	cmd := "cd kit && sudo bash ./" + script
	for _, a := range args {
		cmd += " " + shellQuote(a)
	}
	start := time.Now()
	out, err := c.SSH(h, cmd)
	r := Result{Output: out, Elapsed: time.Since(start)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", h.Hostname, err)
		}
		r.ExitCode = ee.ExitCode()
	}
	return r
}

// CopyBackup puts the backup pair in /home/core/backup on a host, as step 3 does by hand.
func (c *Cluster) CopyBackup(h *Host) {
	t := c.t
	t.Helper()
	if out, err := c.SSH(h, "mkdir -p /home/core/backup"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var files []string
	for _, b := range c.Backup {
		files = append(files, filepath.Join(c.BackupDir, b.Name))
	}
	if err := c.SCP(h, "/home/core/backup/", files...); err != nil {
		t.Fatal(err)
	}
}
