package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/out"
	"github.com/restorekit/restorekit/render"
)

func init() { subcommands = append(subcommands, newRenderCmd) }

// defaultOutputDir is where render and build write kits without -o.
const defaultOutputDir = "kits"

// renderOptions are the flags render shares with build.
type renderOptions struct {
	Inventory string
	OutputDir string
	Force     bool
	Templates string
}

func (o *renderOptions) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.Inventory, "inventory", "i", "", "inventory file to build the kit from (or give it as the argument)")
	f.StringVarP(&o.OutputDir, "output", "o", defaultOutputDir, "directory the kit is written into, created if missing")
	f.BoolVar(&o.Force, "force", false, "replace an existing kit of the same name (only once the new one is complete)")
	f.StringVar(&o.Templates, "templates", "", "render from the templates in this directory instead of the built-in ones")
	completeInventoryFiles(cmd, "inventory")
	_ = cmd.MarkFlagDirname("templates")
	_ = cmd.MarkFlagDirname("output")
}

// inventoryArgs accepts the inventory as the one optional argument, beside -i.
var inventoryArgs = argsUsage(cobra.MaximumNArgs(1))

// inventoryArg is the inventory given as the argument or with -i (flag), refusing two
// different ones; "" when neither is given.
func inventoryArg(flag string, args []string) (string, error) {
	if len(args) == 1 {
		switch {
		case args[0] == "":
			return "", usageError(errors.New("the inventory argument must not be empty"))
		case flag != "" && filepath.Clean(flag) != filepath.Clean(args[0]):
			return "", usageError(fmt.Errorf("two inventories: -i %s and %s (give one, as the argument or with -i)", flag, args[0]))
		}
		return args[0], nil
	}
	return flag, nil
}

// check takes the inventory from the argument (when given) and checks the options.
func (o *renderOptions) check(args []string) error {
	inv, err := inventoryArg(o.Inventory, args)
	if err != nil {
		return err
	}
	o.Inventory = inv
	if o.Inventory == "" {
		return usageError(errors.New("no inventory: give its file as the argument (or with -i INVENTORY)"))
	}
	if o.OutputDir == "" {
		return usageError(errors.New("-o DIR must not be empty"))
	}
	return nil
}

// refuseExisting names every output that is already there, before any stage runs
// (validating a large backup takes a while), unless --force. The inventory is read
// only for its cluster name here; when that cannot be had, validation reports why.
func (o *renderOptions) refuseExisting(suffixes ...string) error {
	if o.Force {
		return nil
	}
	name := inventory.ClusterName(o.Inventory)
	if name == "" {
		return nil
	}
	existing, err := out.Existing(o.OutputDir, render.KitName(name), suffixes...)
	if err != nil {
		return failed(err)
	}
	switch len(existing) {
	case 0:
		return nil
	case 1:
		return failed(fmt.Errorf("%s: already exists (use --force to replace it)", existing[0]))
	}
	return failed(fmt.Errorf("%s and %s: already exist (use --force to replace them)", strings.Join(existing[:len(existing)-1], ", "), existing[len(existing)-1]))
}

func newRenderCmd(streams IOStreams) *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render INVENTORY [-o DIR] [--force] [--templates DIR]",
		Short: "Validate an inventory and write its kit directory (no lint, no archives)",
		Long: `render validates the inventory, renders its recovery kit and writes the kit
directory DIR/<cluster>-recovery-kit/ with its SHA256SUMS (DIR defaults to ./kits).
It neither lints nor archives the kit: "restorekit build" does all of that.
The inventory is the argument, or -i INVENTORY. An existing kit directory is refused
unless --force is given.`,
		Args:              inventoryArgs,
		ValidArgsFunction: inventoryFileArg,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := o.check(args); err != nil {
				return err
			}
			if err := o.refuseExisting(""); err != nil {
				return err
			}
			v := validateInventory(o.Inventory)
			v.report(streams.ErrOut)
			if v.err != nil {
				return v.err
			}
			kit, err := renderKit(v.inv, o.Templates)
			if err != nil {
				return failed(err)
			}
			dir, err := out.WriteKit(kit, o.OutputDir, out.WriteOptions{Force: o.Force})
			if err != nil {
				return failed(err)
			}
			fmt.Fprintf(streams.Out, "wrote %s/ (%d files and %s)\n", dir, len(kit.Files), out.SumsFile)
			return nil
		},
	}
	o.bind(cmd)
	return cmd
}

// validation is the outcome of loading and validating an inventory.
type validation struct {
	inv      *inventory.Inventory
	warnings []inventory.Problem
	problems []inventory.Problem
	err      error // set when the inventory is unusable
}

// validateInventory loads and validates the inventory file.
func validateInventory(path string) validation {
	inv, warnings, err := withProfileCheck(inventory.Load(path, inventory.LoadOptions{ReadBackup: true}))
	v := validation{inv: inv, warnings: warnings}
	var ie *inventory.Error
	switch {
	case errors.As(err, &ie):
		v.problems = ie.Problems
		v.err = &exitError{code: exitFailed, err: fmt.Errorf("%s: %s", path, countOf(len(ie.Problems), "problem"))}
	case err != nil:
		v.err = failed(err)
	}
	return v
}

// report prints the warnings and problems, one per line.
func (v validation) report(w io.Writer) {
	for _, p := range v.warnings {
		fmt.Fprintln(w, p.String())
	}
	for _, p := range v.problems {
		fmt.Fprintln(w, p.String())
	}
}

// renderKit renders the kit with this tool's version, from templatesDir when given.
func renderKit(inv *inventory.Inventory, templatesDir string) (*render.Kit, error) {
	opts := render.Options{ToolVersion: toolVersion()}
	if templatesDir != "" {
		fi, err := os.Stat(templatesDir)
		if err != nil {
			return nil, fmt.Errorf("--templates: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("--templates %s: not a directory", templatesDir)
		}
		opts.Templates = os.DirFS(templatesDir)
	}
	return render.Render(inv, opts)
}

// countOf is "1 file", "2 files".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
