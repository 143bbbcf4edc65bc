package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

func init() { subcommands = append(subcommands, newPlanCmd) }

// planFlags are plan's options.
type planFlags struct {
	Inventory string
	Profiles  bool
	JSON      bool
	Commands  bool
}

func newPlanCmd(streams IOStreams) *cobra.Command {
	var fl planFlags
	cmd := &cobra.Command{
		Use:   "plan INVENTORY | plan KITDIR | plan --profiles",
		Short: "Print the steps a kit for this cluster runs, in order, or the procedure profiles",
		Long: `plan resolves the procedure profile of the inventory's release against the
inventory and prints the steps a kit for this cluster runs, in order: the procedure
number each cites, where it runs and on which hosts, whether it changes anything, and
how long its waits may take. The same table heads the kit's RUNBOOK.md and is listed
in kit.json. A profile that is not offered for kits yet is planned too, and said so.
The inventory is the argument, or -i INVENTORY; a kit directory stands for the
inventory.yaml inside it (the kit's own, with every default spelled out).

--commands prints, step by step in running order, what each host runs: the host script
recover.sh starts on each host, and what that script does there (the plan the script
itself shows before it asks, and with --dry-run); for a workstation step, that
recover.sh runs it. It needs nothing but the inventory or the kit: review it offline.

--profiles lists every profile with the releases it covers and the procedure it follows.`,
		Example: `  restorekit plan my-cluster.yaml
  restorekit plan kits/my-cluster-recovery-kit
  restorekit plan -i my-cluster.yaml --json
  restorekit plan --commands kits/my-cluster-recovery-kit
  restorekit plan --profiles`,
		Args:              inventoryArgs,
		ValidArgsFunction: inventoryFileArg,
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := inventoryArg(fl.Inventory, args)
			if err != nil {
				return err
			}
			if fl.Profiles {
				if path != "" {
					return usageError(errors.New("--profiles lists every profile: give no inventory with it"))
				}
				return render.WriteProfiles(streams.Out)
			}
			if path == "" {
				return usageError(errors.New("no inventory: give its file (or a kit directory) as the argument, or -i INVENTORY (or --profiles)"))
			}
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				path = filepath.Join(path, "inventory.yaml")
			}
			inv, warnings, err := inventory.Load(path, inventory.LoadOptions{})
			for _, w := range warnings {
				fmt.Fprintln(streams.ErrOut, w.String())
			}
			if err != nil {
				return failed(err)
			}
			plan, err := render.PlanFor(inv)
			if err != nil {
				return failed(err)
			}
			if fl.Commands {
				if fl.JSON {
					return usageError(errors.New("--commands and --json: give one"))
				}
				return plan.WriteCommands(streams.Out, inv)
			}
			if fl.JSON {
				b, err := plan.JSON()
				if err != nil {
					return err
				}
				_, err = streams.Out.Write(b)
				return err
			}
			return plan.WriteText(streams.Out, inv)
		},
	}
	cmd.Flags().StringVarP(&fl.Inventory, "inventory", "i", "", "inventory file of the cluster (or give it as the argument)")
	completeInventoryFiles(cmd, "inventory")
	cmd.Flags().BoolVar(&fl.Profiles, "profiles", false, "list the procedure profiles and the releases each covers")
	cmd.Flags().BoolVar(&fl.JSON, "json", false, "print the plan as JSON (the steps of kit.json)")
	cmd.Flags().BoolVar(&fl.Commands, "commands", false, "print what each host runs, step by step, in order")
	return cmd
}
