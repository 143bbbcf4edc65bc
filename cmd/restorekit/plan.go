package main

import (
	"errors"
	"fmt"

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
}

func newPlanCmd(streams IOStreams) *cobra.Command {
	var fl planFlags
	cmd := &cobra.Command{
		Use:   "plan -i INVENTORY | --profiles",
		Short: "Print the steps a kit for this cluster runs, in order, or the procedure profiles",
		Long: `plan resolves the procedure profile of the inventory's release against the
inventory and prints the steps a kit for this cluster runs, in order: the procedure
number each cites, where it runs and on which hosts, whether it changes anything, and
how long its waits may take. The same table heads the kit's RUNBOOK.md and is listed
in kit.json. A profile that is not offered for kits yet is planned too, and said so.

--profiles lists every profile with the releases it covers and the procedure it follows.`,
		Example: `  restorekit plan -i my-cluster.yaml
  restorekit plan -i my-cluster.yaml --json
  restorekit plan --profiles`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if fl.Profiles {
				return render.WriteProfiles(streams.Out)
			}
			if fl.Inventory == "" {
				return usageError(errors.New("-i INVENTORY is required (or --profiles)"))
			}
			inv, warnings, err := inventory.Load(fl.Inventory, inventory.LoadOptions{})
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
	cmd.Flags().StringVarP(&fl.Inventory, "inventory", "i", "", "inventory file of the cluster")
	cmd.Flags().BoolVar(&fl.Profiles, "profiles", false, "list the procedure profiles and the releases each covers")
	cmd.Flags().BoolVar(&fl.JSON, "json", false, "print the plan as JSON (the steps of kit.json)")
	return cmd
}
