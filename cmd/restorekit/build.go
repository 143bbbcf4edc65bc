package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/lint"
	"github.com/restorekit/restorekit/out"
)

func init() { subcommands = append(subcommands, newBuildCmd) }

type buildOptions struct {
	renderOptions
	IncludeBackup bool
	ShellCheck    string
	NoCache       bool
	SignKey       string
}

func newBuildCmd(streams IOStreams) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build INVENTORY [-o DIR] [--force] [--include-backup] [--templates DIR] [--shellcheck auto|always|never] [--sign-key KEY]",
		Short: "Validate, render, lint and package a recovery kit",
		Long: `build runs every stage for one inventory (the argument, or -i INVENTORY):
validate, render, lint (restorekit's rules, and ShellCheck when installed) and
package. It prints one line per stage and stops at the first stage that fails, with
its problems (exit 1).

It writes into DIR (default ./kits):
  <cluster>-recovery-kit/         the kit directory, with SHA256SUMS
  <cluster>-recovery-kit.tar.gz   the kit as a reproducible archive
  <cluster>-recovery-kit.run      the kit as one self-extracting bash file
                                  (bash FILE.run --help; needs only bash, coreutils, tar, gzip)
Existing outputs are refused, before any stage runs, unless --force is given.
Archive members are dated SOURCE_DATE_EPOCH when it is set, else 2000-01-01T00:00:00Z,
so rebuilding the same inventory with the same restorekit gives the same bytes.

--include-backup copies the backup pair found in backup.localDir into backup/ in the kit
(streamed and checked against the recorded sha256), so that recover.sh copies it from
the kit.

--sign-key KEY signs SHA256SUMS with an SSH key (OpenSSH's SSHSIG format, namespace
"restorekit"), as "ssh-keygen -Y sign -f KEY -n restorekit" would:
  <cluster>-recovery-kit.SHA256SUMS.sig   beside the archives
  <cluster>-recovery-kit/SHA256SUMS.sig   the same bytes, in the kit directory
Neither is in SHA256SUMS or in an archive, so signing leaves the archives' bytes as they
are unsigned. KEY is a private key without a passphrase, or a public key (KEY.pub) or
passphrase-protected key whose private half ssh-agent holds (SSH_AUTH_SOCK): restorekit
never asks for a passphrase. The site checks the signature with ssh-keygen alone (see
"restorekit verify --help").`,
		Args:              inventoryArgs,
		ValidArgsFunction: inventoryFileArg,
		RunE:              func(_ *cobra.Command, args []string) error { return runBuild(streams, o, args) },
	}
	o.bind(cmd)
	cmd.Flags().BoolVar(&o.IncludeBackup, "include-backup", false, "copy the backup pair from backup.localDir into the kit")
	cmd.Flags().StringVar(&o.ShellCheck, "shellcheck", "auto", "run ShellCheck in the lint stage: auto (when installed), always, never")
	cmd.Flags().BoolVar(&o.NoCache, "no-cache", false, "run ShellCheck on every script, neither reading nor writing its cache of findings")
	cmd.Flags().StringVar(&o.SignKey, "sign-key", "", "sign SHA256SUMS with this SSH key (a private key, or KEY.pub for a key in ssh-agent)")
	completeChoices(cmd, "shellcheck", shellCheckChoices...)
	return cmd
}

func runBuild(streams IOStreams, o buildOptions, args []string) error {
	if err := o.check(args); err != nil {
		return err
	}
	sc, err := lint.ParseShellCheckMode(o.ShellCheck)
	if err != nil {
		return usageError(fmt.Errorf("--shellcheck: %w", err))
	}
	mtime, err := out.SourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return usageError(err)
	}
	var key *out.SigningKey
	if o.SignKey != "" {
		// Before any work: a key that cannot sign stops the build at once.
		if key, err = out.LoadSigningKey(o.SignKey, os.Getenv("SSH_AUTH_SOCK")); err != nil {
			return failed(fmt.Errorf("--sign-key %w", err))
		}
		defer key.Close()
	}
	if err := o.refuseExisting("", ".tar.gz", ".run", ".SHA256SUMS.sig"); err != nil {
		return err
	}
	w := streams.Out
	stage := func(n int, what string) { fmt.Fprintf(w, "[%d/4] %s ... ", n, what) }

	stage(1, "validate "+o.Inventory)
	v := validateInventory(o.Inventory)
	if v.err != nil {
		fmt.Fprintln(w, "failed")
		v.report(streams.ErrOut)
		return v.err
	}
	if len(v.warnings) > 0 {
		fmt.Fprintf(w, "ok (%s)\n", countOf(len(v.warnings), "warning"))
	} else {
		fmt.Fprintln(w, "ok")
	}
	v.report(streams.ErrOut)
	inv := v.inv

	stage(2, "render")
	kit, err := renderKit(inv, o.Templates)
	if err != nil {
		fmt.Fprintln(w, "failed")
		return failed(err)
	}
	fmt.Fprintf(w, "ok (%s)\n", countOf(len(kit.Files), "file"))

	stage(3, "lint")
	findings, err := lint.Check(kit, lint.Options{ShellCheck: sc, CacheDir: shellCheckCache(o.NoCache)})
	if err != nil {
		fmt.Fprintln(w, "failed")
		return failed(err)
	}
	errs := lint.AtOrAbove(findings, lint.SeverityError)
	var notes []string
	if errs > 0 {
		notes = append(notes, countOf(errs, "error"))
	} else if len(findings) > 0 {
		notes = append(notes, countOf(len(findings), "finding")+", no errors")
	}
	// "ok" alone would read as "ShellCheck passed too".
	switch {
	case sc == lint.ShellCheckNever:
		notes = append(notes, "ShellCheck skipped: --shellcheck never")
	case sc == lint.ShellCheckAuto && lint.ShellCheckPath() == "":
		notes = append(notes, "ShellCheck skipped: not found on PATH")
	}
	verdict := "ok"
	if errs > 0 {
		verdict = "failed"
	}
	if len(notes) > 0 {
		verdict += " (" + strings.Join(notes, "; ") + ")"
	}
	fmt.Fprintln(w, verdict)
	for _, f := range findings {
		fmt.Fprintln(streams.ErrOut, f.String())
	}
	if errs > 0 {
		return failed(fmt.Errorf("lint: %s in the rendered kit; nothing was written", countOf(errs, "error")))
	}

	stage(4, "package")
	res, err := out.Package(kit, o.OutputDir, out.PackageOptions{Force: o.Force, IncludeBackup: o.IncludeBackup, ModTime: mtime, SignWith: key})
	if err != nil {
		fmt.Fprintln(w, "failed")
		return failed(err)
	}
	fmt.Fprintln(w, "ok")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "kit\t%s/\t%s, %d bytes\n", res.Dir, countOf(res.Files, "file"), res.DirSize)
	if o.IncludeBackup {
		var size int64
		for _, b := range inv.Backup.Files {
			size += b.Size
		}
		fmt.Fprintf(tw, "backup\t%s/%s/\t%s, %d bytes, in the kit and both archives\n", res.Dir, out.BackupDir, countOf(len(inv.Backup.Files), "file"), size)
	}
	fmt.Fprintf(tw, "archive\t%s\t%d bytes\tsha256 %s\n", res.TarGz.Path, res.TarGz.Size, res.TarGz.SHA256)
	fmt.Fprintf(tw, "self-extracting\t%s\t%d bytes\tsha256 %s\n", res.Run.Path, res.Run.Size, res.Run.SHA256)
	if res.Signature != nil {
		fmt.Fprintf(tw, "signature\t%s\t%d bytes\t%s, namespace %s (also in the kit)\n", res.Signature.Path, res.Signature.Size, key.ID(), out.SigNamespace)
	}
	return tw.Flush()
}
