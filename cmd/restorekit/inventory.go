package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/inventory/importer"
	"github.com/restorekit/restorekit/render"
)

func init() { subcommands = append(subcommands, newInventoryCmd) }

func newInventoryCmd(streams IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Work with inventories: import one from a live cluster",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError(errors.New("inventory needs a subcommand (restorekit inventory import --help)"))
		},
	}
	cmd.AddCommand(newInventoryImportCmd(streams))
	return cmd
}

// importFlags are inventory import's options.
type importFlags struct {
	Nodes, ClusterVersion, Proxy, Infrastructure, Network string
	FromCluster                                           bool
	RequestTimeout                                        time.Duration
	Kubeconfig                                            string
	Output                                                string
	Force                                                 bool
	Opts                                                  importer.Options
	ConnectTimeout                                        time.Duration
}

func newInventoryImportCmd(streams IOStreams) *cobra.Command {
	var fl importFlags
	cmd := &cobra.Command{
		Use:   "import --backup-dir DIR (--nodes FILE --clusterversion FILE --proxy FILE | --from-cluster)",
		Short: "Write an inventory from what the cluster says about itself",
		Long: `import writes an inventory, commented like the one init writes, from the cluster's
own description: its control-plane and worker nodes (names, addresses, hostnames,
readiness), its release, its proxy, its network type and the VIPs keepalived holds. The backup pair in --backup-dir is checked as validate
checks it, and the file written is loaded back as validate would load it.

The cluster's description comes from oc output captured beforehand, as JSON or YAML
(a List or a single object), for example on the bastion, next to the backup:

  oc get nodes -o json                       > nodes.json
  oc get clusterversion version -o json      > clusterversion.json
  oc get proxy cluster -o json               > proxy.json
  oc get infrastructure cluster -o json      > infrastructure.json
  oc get network.config cluster -o json      > network.json

or, with --from-cluster, from those same read-only calls made by running oc here
(each bounded by --request-timeout). The release is the newest Completed entry of the
clusterversion's history: capture clusterversion.json when the backup is taken, and
import from that capture.

Without --recovery-host, the recovery host is the first Ready control-plane node in
name order; the file says so, and a person must confirm it. The cluster name is
taken from the infrastructure's API server URL, or given with --cluster-name. The
VIPs come from the infrastructure's platform status (none off-premise, or with a
user-managed load balancer), the network type from the network config's status:
4.16 kits need both, so import with --infrastructure and --network.
Warnings go to standard error. The inventory goes to --output (default ` + defaultInventoryFile + `),
or to standard output for -o -; an existing file is left alone unless --force is given.`,
		Example: `  restorekit inventory import --nodes nodes.json --clusterversion clusterversion.json \
      --proxy proxy.json --infrastructure infrastructure.json --network network.json \
      --backup-dir backup -o prod.yaml
  restorekit inventory import --from-cluster --backup-dir backup --identity-file ~/.ssh/core -o -`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInventoryImport(cmd.Context(), streams, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.Nodes, "nodes", "", "`FILE` holding oc get nodes -o json")
	f.StringVar(&fl.ClusterVersion, "clusterversion", "", "`FILE` holding oc get clusterversion version -o json")
	f.StringVar(&fl.Proxy, "proxy", "", "`FILE` holding oc get proxy cluster -o json")
	f.StringVar(&fl.Infrastructure, "infrastructure", "", "`FILE` holding oc get infrastructure cluster -o json (names the cluster, gives the VIPs)")
	f.StringVar(&fl.Network, "network", "", "`FILE` holding oc get network.config cluster -o json (gives the network type)")
	f.BoolVar(&fl.FromCluster, "from-cluster", false, "run those oc get calls here instead of reading files")
	f.DurationVar(&fl.RequestTimeout, "request-timeout", 30*time.Second, "with --from-cluster: how long each oc call may wait for the API")
	f.StringVar(&fl.Kubeconfig, "kubeconfig", "", "with --from-cluster: the kubeconfig `FILE` oc uses")
	f.StringVar(&fl.Opts.BackupDir, "backup-dir", "", "`DIR` holding the backup pair (required)")
	f.BoolVar(&fl.Opts.AllowPossiblyDirty, "allow-possibly-dirty", false, "accept a backup marked __POSSIBLY_DIRTY__")
	f.StringVar(&fl.Opts.ClusterName, "cluster-name", "", "the cluster's `NAME` (default: from the infrastructure's API server URL)")
	f.StringVar(&fl.Opts.RecoveryHost, "recovery-host", "", "the master to restore on, by node `NAME` (default: the first Ready one)")
	f.StringVar(&fl.Opts.SSH.User, "ssh-user", "", "ssh user (default "+inventory.DefaultSSHUser+")")
	f.IntVar(&fl.Opts.SSH.Port, "ssh-port", 0, "ssh port (default 22)")
	f.StringVar(&fl.Opts.SSH.IdentityFile, "identity-file", "", "ssh private key `FILE`")
	f.StringVar(&fl.Opts.SSH.JumpHost, "jump-host", "", "bastion to go through, `[user@]host[:port]`")
	f.StringVar(&fl.Opts.SSH.KnownHostsFile, "known-hosts-file", "", "known_hosts `FILE` with the masters' host keys")
	f.StringVar(&fl.Opts.SSH.StrictHostKeyChecking, "strict-host-key-checking", "", "yes, accept-new or no (default yes)")
	f.DurationVar(&fl.ConnectTimeout, "connect-timeout", 0, "how long ssh waits for a connection (default 10s)")
	f.StringVarP(&fl.Output, "output", "o", defaultInventoryFile, "`FILE` to write, - for standard output")
	f.BoolVarP(&fl.Force, "force", "f", false, "overwrite the output file if it exists")
	return cmd
}

func runInventoryImport(ctx context.Context, streams IOStreams, fl importFlags) error {
	files := fl.Nodes != "" || fl.ClusterVersion != "" || fl.Proxy != "" || fl.Infrastructure != "" || fl.Network != ""
	switch {
	case fl.FromCluster && files:
		return usageError(errors.New("inventory import: --from-cluster gathers what --nodes, --clusterversion, --proxy, --infrastructure and --network would give: use one or the other"))
	case !fl.FromCluster && (fl.Nodes == "" || fl.ClusterVersion == "" || fl.Proxy == ""):
		return usageError(errors.New("inventory import needs --nodes, --clusterversion and --proxy (files captured with oc get ... -o json), or --from-cluster"))
	case fl.Output == "":
		return usageError(errors.New("inventory import: --output must not be empty (a file, or - for standard output)"))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// Refused before the backup is digested, which can take minutes.
	if fl.Output != "-" && !fl.Force {
		if _, err := os.Lstat(fl.Output); err == nil {
			return failed(fmt.Errorf("%s already exists (use --force to overwrite it)", fl.Output))
		}
	}

	var src importer.Sources
	if fl.FromCluster {
		oc := importer.OC{Path: "oc", RequestTimeout: fl.RequestTimeout, Kubeconfig: fl.Kubeconfig}
		var err error
		if src, err = oc.Gather(ctx); err != nil {
			return failed(err)
		}
	} else {
		var errs []error
		read := func(name string) importer.Source {
			data, err := os.ReadFile(name)
			if err != nil {
				errs = append(errs, err)
			}
			return importer.Source{Name: name, Data: data}
		}
		src.Nodes, src.ClusterVersion, src.Proxy = read(fl.Nodes), read(fl.ClusterVersion), read(fl.Proxy)
		if fl.Infrastructure != "" {
			s := read(fl.Infrastructure)
			src.Infrastructure = &s
		}
		if fl.Network != "" {
			s := read(fl.Network)
			src.Network = &s
		}
		if len(errs) > 0 {
			return failed(errors.Join(errs...))
		}
	}

	opts := fl.Opts
	opts.Output = fl.Output
	opts.SSH.ConnectTimeout = inventory.Duration(fl.ConnectTimeout)
	res, err := importer.Import(src, opts)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(streams.ErrOut, importer.ProblemString(w))
		}
	}
	var ie *importer.Error
	if errors.As(err, &ie) {
		for _, p := range ie.Problems {
			fmt.Fprintln(streams.ErrOut, importer.ProblemString(p))
		}
		return failed(fmt.Errorf("inventory import: %s; nothing was written", countNoun(len(ie.Problems), "problem")))
	}
	if err != nil {
		return failed(err)
	}
	if _, err := render.ProfileFor(res.Inventory.Cluster.Version); err != nil {
		fmt.Fprintf(streams.ErrOut, "warning: %v: build refuses this inventory until restorekit has one\n", err)
	}

	if fl.Output == "-" {
		_, err := streams.Out.Write(res.YAML)
		return err
	}
	if err := writeNew(fl.Output, res.YAML, fl.Force); err != nil {
		return failed(err)
	}
	writeSummary(streams.Out, fl.Output, res.Inventory)
	fmt.Fprintf(streams.Out, "wrote %s: confirm the recovery host, then run: restorekit build -i %s\n", fl.Output, fl.Output)
	return nil
}

// writeNew writes a file as init does: an existing one only with force.
func writeNew(path string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists (use --force to overwrite it)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
