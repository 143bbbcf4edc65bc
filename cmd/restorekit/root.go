package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// IOStreams are the streams a command reads and writes; tests pass buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Exit codes shared by every command.
const (
	exitOK     = 0
	exitFailed = 1 // invalid input or a failed check
	exitUsage  = 2 // the command line itself is wrong
)

// exitError carries an exit code; its message (if any) has already been printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// failed marks an error as "invalid input or failed check" (exit 1).
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// usageError marks an error as a usage error (exit 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// silentFailure exits 1 after the command has already reported why.
var silentFailure = &exitError{code: exitFailed}

// subcommands are registered by each command's file, so a command is one file.
var subcommands []func(IOStreams) *cobra.Command

// version is set at build time with -ldflags "-X main.version=..."; otherwise it
// comes from the build info.
var version = ""

// toolVersion is what kit.json records as toolVersion and `restorekit version`
// prints: builds from different sources differ, builds from the same source agree.
func toolVersion() string {
	if version != "" {
		return version
	}
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi)
}

// versionFrom reads a version from build info: the module version (go install
// ...@v1.2.3, or the pseudo-version Go derives from the VCS), else devel+<commit>
// with -dirty for uncommitted changes, else devel (go test, -buildvcs=false, no VCS).
func versionFrom(bi *debug.BuildInfo) string {
	if bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel+" + rev
	if dirty {
		v += "-dirty"
	}
	return v
}

func newRootCmd(streams IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "restorekit",
		Short: "Build verified recovery kits for restoring an OpenShift 4 control plane from an etcd backup",
		Long: `restorekit turns an inventory of a cluster's control-plane hosts and its etcd backup
into a recovery kit: per-host bash scripts, a coordinator script and a runbook that
follow the documented "restoring to a previous cluster state" procedure step by step.
Generate and review kits before an outage; run them by hand or through the coordinator.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd(streams))
	}
	return root
}

// run executes the command line and returns the process exit code; only main exits.
func run(args []string, streams IOStreams) int {
	root := newRootCmd(streams)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(streams.ErrOut, "restorekit: %v\n", ee.err)
		}
		return ee.code
	}
	// Errors cobra raises itself (unknown command, wrong number of arguments) are usage errors.
	fmt.Fprintf(streams.ErrOut, "restorekit: %v\n", err)
	fmt.Fprintln(streams.ErrOut, "Run 'restorekit --help' for usage.")
	return exitUsage
}

// exactArgs and friends wrap cobra's argument checks as usage errors.
func argsUsage(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError(err)
		}
		return nil
	}
}
