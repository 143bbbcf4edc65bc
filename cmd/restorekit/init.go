package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/inventory"
)

func init() { subcommands = append(subcommands, newInitCmd) }

// defaultInventoryFile is what init writes without a FILE argument.
const defaultInventoryFile = "inventory.yaml"

// initFlags are init's options.
type initFlags struct {
	Force bool
}

func newInitCmd(streams IOStreams) *cobra.Command {
	var fl initFlags
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented example inventory to start from",
		Long: `init writes an example inventory in which every field is explained and every
default is shown, to FILE (default ` + defaultInventoryFile + `), or to standard output for FILE -.
An existing file is left alone unless --force is given.`,
		Example: `  restorekit init
  restorekit init prod-east.yaml
  restorekit init - | less`,
		Args:              argsUsage(cobra.MaximumNArgs(1)),
		ValidArgsFunction: inventoryFileArg,
		RunE: func(_ *cobra.Command, args []string) error {
			file := defaultInventoryFile
			if len(args) == 1 {
				file = args[0]
			}
			return runInit(streams, fl, file)
		},
	}
	cmd.Flags().BoolVarP(&fl.Force, "force", "f", false, "overwrite FILE if it exists")
	return cmd
}

func runInit(streams IOStreams, fl initFlags, file string) error {
	if file == "-" {
		_, err := io.WriteString(streams.Out, inventory.Example)
		return err
	}
	if file == "" {
		return usageError(errors.New("init: FILE must not be empty"))
	}
	// The header tells the reader which command checks this very file.
	word, err := syntax.Quote(file, syntax.LangBash)
	if err != nil {
		return usageError(fmt.Errorf("init: %q cannot be named in a command line", file))
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if fl.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(file, flags, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return failed(fmt.Errorf("%s already exists (use --force to overwrite it)", file))
	case err != nil:
		return failed(err)
	}
	if _, err := io.WriteString(f, inventory.ExampleFor(word)); err != nil {
		f.Close()
		return failed(err)
	}
	if err := f.Close(); err != nil {
		return failed(err)
	}
	fmt.Fprintf(streams.Out, "wrote %s: edit it for your cluster, then run: restorekit validate %s\n", file, word)
	return nil
}
