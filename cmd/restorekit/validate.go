package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

func init() { subcommands = append(subcommands, newValidateCmd) }

// validateFlags are validate's options.
type validateFlags struct {
	Offline bool
}

func newValidateCmd(streams IOStreams) *cobra.Command {
	var fl validateFlags
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check inventories and summarize each one, or list every problem",
		Long: `validate loads each inventory file, checks every field and the backup pair in
backup.localDir (each file is read once, for its sha256 and what is inside it: the
snapshot's integrity, the release and nodes it holds, the static pod resources; see
"restorekit backup inspect"), and prints a short summary
of each valid file: cluster, release, recovery host, the other hosts and the backup
pair, followed by any warnings. For an invalid file it lists every problem on
standard error, one per line, as FILE:LINE:COL: field: what is wrong (what would be valid).
FILE - reads standard input.

Exit status: 0 when every file is valid (warnings do not count), 1 when any is not,
2 for a usage error.`,
		Example: `  restorekit validate inventory.yaml
  restorekit validate --offline kits/ocp4-recovery-kit/inventory.yaml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(errors.New("validate needs at least one inventory file (restorekit validate FILE...)"))
			}
			return nil
		},
		ValidArgsFunction: inventoryFilesArg,
		RunE: func(_ *cobra.Command, args []string) error {
			return runValidate(streams, fl, args)
		},
	}
	cmd.Flags().BoolVar(&fl.Offline, "offline", false, "do not read backup.localDir; trust the backup names and files the inventory records")
	return cmd
}

func runValidate(streams IOStreams, fl validateFlags, files []string) error {
	opts := inventory.LoadOptions{Offline: fl.Offline, ReadBackup: !fl.Offline}
	invalid, problems := 0, 0
	for i, file := range files {
		if i > 0 {
			fmt.Fprintln(streams.Out)
		}
		inv, warnings, err := loadInventoryArg(streams, file, opts)
		var ie *inventory.Error
		switch {
		case errors.As(err, &ie):
			invalid++
			problems += len(ie.Problems)
			fmt.Fprintf(streams.Out, "%s: invalid (%s)\n", file, countNoun(len(ie.Problems), "problem"))
			for _, p := range ie.Problems {
				fmt.Fprintln(streams.ErrOut, p.String())
			}
		case err != nil:
			invalid++
			fmt.Fprintf(streams.Out, "%s: invalid (cannot be read)\n", file)
			fmt.Fprintf(streams.ErrOut, "%s: %s\n", file, readProblem(err))
		default:
			writeSummary(streams.Out, file, inv)
		}
		for _, w := range warnings {
			fmt.Fprintln(streams.Out, w.String())
		}
	}
	switch {
	case invalid == 0:
		return nil
	case len(files) == 1:
		return silentFailure
	default:
		return failed(fmt.Errorf("%d of %d inventories are invalid", invalid, len(files)))
	}
}

// loadInventoryArg loads a file named on the command line; "-" is standard input.
func loadInventoryArg(streams IOStreams, file string, opts inventory.LoadOptions) (*inventory.Inventory, []inventory.Problem, error) {
	if file != "-" {
		return withProfileCheck(inventory.Load(file, opts))
	}
	data, err := io.ReadAll(streams.In)
	if err != nil {
		return nil, nil, err
	}
	return withProfileCheck(inventory.Parse(file, data, opts))
}

// withProfileCheck adds, to a valid inventory's load, what the procedure profile of its
// release finds missing (render.Check): a release without a profile, a field a step
// needs. The inventory is then invalid like any other.
func withProfileCheck(inv *inventory.Inventory, warnings []inventory.Problem, err error) (*inventory.Inventory, []inventory.Problem, error) {
	if err != nil {
		return inv, warnings, err
	}
	if problems := render.Check(inv); len(problems) > 0 {
		return nil, warnings, &inventory.Error{Problems: problems}
	}
	return inv, warnings, nil
}

// readProblem is why a file could not be read, without repeating its path.
func readProblem(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// writeSummary prints what a person checks before trusting an inventory.
func writeSummary(w io.Writer, file string, inv *inventory.Inventory) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-15s%s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "%s: valid\n", file)
	row("cluster:", "%s, OpenShift %s", inv.Cluster.Name, inv.Cluster.Version)
	row("recovery host:", "%s", hostSummary(inv, inv.Recovery()))
	for i, m := range inv.Others() {
		label := ""
		if i == 0 {
			label = "other hosts:"
		}
		row(label, "%s", hostSummary(inv, m))
	}
	s := inv.SSH
	via := ""
	if s.JumpHost != "" {
		via = " via " + s.JumpHost
	}
	row("ssh:", "user %s, port %d%s, host keys %s", s.User, s.Port, via, hostKeys(s.StrictHostKeyChecking))
	if p := inv.Proxy; p != nil && (p.HTTPProxy != "" || p.HTTPSProxy != "") {
		row("proxy:", "%s", proxySummary(p))
	}
	b := inv.Backup
	if len(b.Files) == 2 {
		for i, f := range b.Files {
			label := ""
			if i == 0 {
				label = "backup:"
			}
			row(label, "%s (%s, sha256 %s)", f.Name, formatSize(f.Size), f.SHA256[:12])
		}
		if b.LocalDir != "" {
			row("", "from %s", b.LocalDir)
		}
		if r := b.SnapshotRelease; r != nil {
			row("", "taken on %s (%s %s; etcd revision %d)", r.Version, r.State, r.CompletionTime, r.Revision)
		}
	} else {
		row("backup:", "%s", b.Snapshot)
		row("", "%s", b.StaticResources)
		row("", "(names only: set backup.localDir to check the files)")
	}
	row("", "copied to %s on the recovery host", b.RemoteDir)
}

// hostSummary is "name (address)", with the ssh port and hostname when they are not
// the usual ones.
func hostSummary(inv *inventory.Inventory, m inventory.Master) string {
	var extra []string
	if s := inv.EffectiveSSH(m); s.Port != inventory.DefaultSSHPort {
		extra = append(extra, fmt.Sprintf("port %d", s.Port))
	}
	if m.Hostname != "" && m.Hostname != m.Name {
		extra = append(extra, "hostname "+m.Hostname)
	}
	s := fmt.Sprintf("%s (%s", m.Name, m.Address)
	if len(extra) > 0 {
		s += ", " + strings.Join(extra, ", ")
	}
	return s + ")"
}

func hostKeys(mode string) string {
	switch mode {
	case "no":
		return "not checked"
	case "accept-new":
		return "checked, new ones accepted"
	}
	return "checked"
}

func proxySummary(p *inventory.Proxy) string {
	var parts []string
	if p.HTTPProxy != "" {
		parts = append(parts, "httpProxy "+p.HTTPProxy)
	}
	if p.HTTPSProxy != "" {
		parts = append(parts, "httpsProxy "+p.HTTPSProxy)
	}
	if p.NoProxy != "" {
		parts = append(parts, countNoun(len(strings.Split(p.NoProxy, ",")), "noProxy entry"))
	}
	return strings.Join(parts, ", ")
}

// formatSize prints a byte count the way ls -lh would, with the exact count when small.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return countNoun(int(n), "byte")
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// countNoun is "1 problem", "2 problems"; "entry" becomes "entries".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
