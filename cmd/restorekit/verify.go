package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/out"
	"github.com/restorekit/restorekit/render"
)

func init() { subcommands = append(subcommands, newVerifyCmd) }

type verifyOptions struct {
	Templates      string
	AllowedSigners string
	Signature      string
}

func newVerifyCmd(streams IOStreams) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify KIT [--templates DIR] [--allowed-signers FILE [--signature SIG]]",
		Short: "Check a kit's checksums and that it is exactly what its inventory renders",
		Long: `verify checks a kit: a kit directory, its .tar.gz or its .run (whose payload
checksum is checked first). It answers two questions:

  1. Did the kit arrive intact? Every file listed in SHA256SUMS must have its digest,
     and no file may be missing from the list.
  2. Is the kit what its inventory says? The kit's own inventory.yaml is rendered again
     with this restorekit (` + "`restorekit version`" + `) and every rendered file must be
     byte for byte the one in the kit; files the inventory does not render are reported
     (a backup pair under backup/ must have the digests the inventory records).

Every file that differs, is missing or is extra is named; the exit code is 1 if any.
A state directory of recover.sh inside the kit (older kits kept .recover-state/
there) is recognised by the marker recover.sh writes, named, and skipped.
At a site without restorekit, question 1 alone is "sha256sum -c SHA256SUMS" in the
kit directory, or "bash KIT.run --verify".

A kit built with --templates DIR is what its inventory renders from those templates:
give verify the same --templates DIR.

A kit built with --sign-key carries SHA256SUMS.sig (in the kit directory, and as
<kit>.SHA256SUMS.sig beside its archives; --signature SIG names another place).
verify checks that it is a "restorekit" signature of SHA256SUMS, and with
--allowed-signers FILE (OpenSSH's format, see ssh-keygen(1)) who made it: it prints the
principal and the key's fingerprint, or names what is wrong (not signed, bad signature,
wrong namespace, unknown signer, signer not allowed). At a site with only OpenSSH:
  ssh-keygen -Y find-principals -s SHA256SUMS.sig -f FILE
  ssh-keygen -Y verify -f FILE -I PRINCIPAL -n restorekit -s SHA256SUMS.sig < SHA256SUMS
  sha256sum -c SHA256SUMS
or "bash KIT.run --verify --allowed-signers FILE".`,
		Args:              argsUsage(cobra.ExactArgs(1)),
		ValidArgsFunction: kitArg,
		RunE:              func(_ *cobra.Command, args []string) error { return runVerify(streams, args[0], o) },
	}
	cmd.Flags().StringVar(&o.Templates, "templates", "", "re-render with the templates in this directory instead of the built-in ones")
	cmd.Flags().StringVar(&o.AllowedSigners, "allowed-signers", "", "check who signed the kit against this OpenSSH allowed signers file")
	cmd.Flags().StringVar(&o.Signature, "signature", "", "the kit's signature file, if not SHA256SUMS.sig in the kit or <kit>.SHA256SUMS.sig beside it")
	_ = cmd.MarkFlagDirname("templates")
	return cmd
}

func runVerify(streams IOStreams, kitPath string, o verifyOptions) error {
	templates := o.Templates
	var allowed *out.AllowedSigners
	if o.AllowedSigners != "" {
		var err error
		if allowed, err = out.ReadAllowedSigners(o.AllowedSigners); err != nil {
			return failed(fmt.Errorf("--allowed-signers %w", err))
		}
	}
	opened, err := out.OpenKit(kitPath)
	if err != nil {
		return failed(err)
	}
	defer opened.Close()
	dir := opened.Dir
	w := streams.Out
	var bad []string
	if opened.Kind == "run" {
		fmt.Fprintf(w, "payload: ok (sha256 %s, as the .run's header records)\n", opened.PayloadSHA256)
	}

	bad = append(bad, reportSignature(w, opened, o.Signature, allowed)...)

	states := recoverStateDirs(dir)
	for _, d := range states {
		fmt.Fprintf(w, "skipped recover.sh state directory %s/ (not part of the kit; recover.sh resumes from the progress recorded there)\n", d)
	}
	sums, mismatches, err := out.VerifySums(dir)
	mismatches = outside(states, mismatches)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(w, "checksums: failed: %s: no %s\n", kitPath, out.SumsFile)
		bad = append(bad, out.SumsFile)
	case err != nil:
		fmt.Fprintf(w, "checksums: failed: %v\n", err)
		bad = append(bad, out.SumsFile)
	case len(mismatches) > 0:
		fmt.Fprintf(w, "checksums: %s not as %s lists them:\n", countOf(len(mismatches), "file"), out.SumsFile)
		for _, m := range mismatches {
			fmt.Fprintf(w, "  %s\n", m)
			bad = append(bad, m.Path)
		}
	default:
		fmt.Fprintf(w, "checksums: ok (%s match %s)\n", countOf(len(sums), "file"), out.SumsFile)
	}

	kit, err := rerender(dir, kitPath, templates)
	if err != nil {
		fmt.Fprintf(w, "re-render: failed: %v\n", err)
		bad = append(bad, "inventory.yaml")
	} else {
		diffs, err := out.Compare(kit, dir, sums)
		if err != nil {
			return failed(err)
		}
		diffs = outside(states, diffs)
		if len(diffs) > 0 {
			fmt.Fprintf(w, "re-render: %s not what inventory.yaml renders with restorekit %s%s:\n", countOf(len(diffs), "file"), toolVersion(), fromTemplates(templates))
			for _, m := range diffs {
				fmt.Fprintf(w, "  %s\n", m)
				bad = append(bad, m.Path)
			}
		} else {
			fmt.Fprintf(w, "re-render: ok (%s are what inventory.yaml renders with restorekit %s%s)\n", countOf(len(kit.Files), "file"), toolVersion(), fromTemplates(templates))
		}
	}
	if len(bad) > 0 {
		return failed(fmt.Errorf("%s: does not verify: %s", kitPath, strings.Join(unique(bad), ", ")))
	}
	fmt.Fprintf(w, "%s: verified\n", kitPath)
	return nil
}

// reportSignature prints what the kit's signature shows and returns what failed. An
// unsigned kit fails only when the signer was asked for.
func reportSignature(w io.Writer, opened *out.Opened, sigPath string, allowed *out.AllowedSigners) []string {
	by, shown, err := opened.CheckSignature(sigPath, allowed, time.Now())
	var se *out.SignatureError
	switch {
	case errors.As(err, &se) && se.Kind == out.SigUnsigned && allowed == nil && sigPath == "":
		fmt.Fprintf(w, "signature: none: the kit is not signed (%s)\n", se.Detail)
		return nil
	case errors.As(err, &se):
		fmt.Fprintf(w, "signature: failed: %v\n", err)
		return []string{out.SigFile + " (" + se.Kind + ")"}
	case err != nil:
		fmt.Fprintf(w, "signature: failed: %v\n", err)
		return []string{out.SigFile}
	case allowed == nil:
		fmt.Fprintf(w, "signature: valid %q signature of %s by %s (%s); who holds that key is not checked: give --allowed-signers FILE\n", out.SigNamespace, out.SumsFile, by.Key, shown)
	default:
		fmt.Fprintf(w, "signature: ok (signed by %s with %s; %s)\n", strings.Join(by.Principals, ","), by.Key, shown)
	}
	return nil
}

// rerender renders the kit's own normalized inventory again, offline (the backup is
// judged by the digests the inventory records, not read from backup.localDir).
func rerender(dir, kitPath, templates string) (*render.Kit, error) {
	data, err := os.ReadFile(filepath.Join(dir, "inventory.yaml"))
	if err != nil {
		return nil, err
	}
	name := filepath.Join(kitPath, "inventory.yaml")
	inv, _, err := inventory.Parse(name, data, inventory.LoadOptions{Offline: true})
	if err != nil {
		return nil, err
	}
	return renderKit(inv, templates)
}

// unique drops repeated names, keeping the first of each.
func unique(names []string) []string {
	seen := map[string]bool{}
	var u []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			u = append(u, n)
		}
	}
	return u
}

// fromTemplates names the templates directory a re-render used, if not the built-in one.
func fromTemplates(dir string) string {
	if dir == "" {
		return ""
	}
	return " and the templates in " + dir
}

// stateKitName is what recover.sh's init_state writes into the "kit" file of its
// state directory: the kit's name.
var stateKitName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?-recovery-kit\n$`)

// recoverStateDirs returns the top-level directories of a kit directory that are
// recover.sh's state (kits used to keep it inside, as .recover-state/): recognised by
// the "kit" file naming a kit and the done/ directory that init_state creates.
func recoverStateDirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == out.BackupDir {
			continue
		}
		p := filepath.Join(dir, e.Name())
		marker, err := os.Lstat(filepath.Join(p, "kit"))
		if err != nil || !marker.Mode().IsRegular() || marker.Size() > 128 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(p, "kit"))
		if err != nil || !stateKitName.Match(data) {
			continue
		}
		if done, err := os.Lstat(filepath.Join(p, "done")); err != nil || !done.IsDir() {
			continue
		}
		found = append(found, e.Name())
	}
	return found
}

// outside drops the unlisted and extra files found inside the state directories;
// anything else, there or elsewhere, is still reported.
func outside(states []string, ms []out.Mismatch) []out.Mismatch {
	if len(states) == 0 {
		return ms
	}
	var kept []out.Mismatch
	for _, m := range ms {
		inState := false
		for _, d := range states {
			inState = inState || strings.HasPrefix(m.Path, d+"/")
		}
		if inState && (m.Kind == out.Unlisted || m.Kind == out.Extra) {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}
