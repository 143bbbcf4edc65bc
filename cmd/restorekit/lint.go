package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/lint"
)

func init() { subcommands = append(subcommands, newLintCmd) }

// lintFlags are the lint command's flags, bound as given.
type lintFlags struct {
	format      string
	failOn      string
	role        string
	shellcheck  string
	inventories []string
	listRules   bool
	noCache     bool
}

func newLintCmd(streams IOStreams) *cobra.Command {
	var fl lintFlags
	cmd := &cobra.Command{
		Use:   "lint PATH...",
		Short: "Check a kit's scripts: parse, canonical form, safety rules and ShellCheck",
		Long: `lint judges recovery kit scripts before anyone runs them at a site.

PATH is a kit directory (every *.sh below it; scripts under hosts/ are judged as host
scripts, recover.sh and redeploy.sh as the workstation's coordinator), a single script
(judged as a host script, the stricter role, unless --role workstation), or a templates
directory (one holding *.tmpl files: it is rendered with every example inventory of an
examples/ directory inside or beside it, or with each -i INVENTORY, and findings name
the rendered file and its template).

Every script is parsed as bash (a parse error stops the other rules for that file) and
judged by restorekit's rules (--list-rules describes them) and, when shellcheck is on
PATH, by ShellCheck (-f json1 -s bash -x; findings named SC1234). ShellCheck runs once
per distinct script content, several at a time; a script that sources another (source
"$dir/lib/host.sh" under "# shellcheck source=../../lib/host.sh") is checked knowing the
definitions of the sourced file, whose own findings are reported once, against it.
Findings are cached by script content, sourced files, ShellCheck version and options in
$XDG_CACHE_HOME/restorekit/shellcheck (~/.cache/restorekit/shellcheck); --no-cache runs
ShellCheck on every script without reading or writing the cache.

--fail-on defaults to warning: kits ship clean, so a warning fails the run too (info,
such as ShellCheck's style notes, does not). Exit status: 0 no finding at or above
--fail-on, 1 findings at or above it, 2 usage error, unreadable input, or ShellCheck
could not run.`,
		Example: `  restorekit lint ocp4-recovery-kit/
  restorekit lint --format sarif ocp4-recovery-kit/ >lint.sarif
  restorekit lint --role workstation recover.sh
  restorekit lint -i examples/three-masters.yaml templates/`,
		RunE: func(cmd *cobra.Command, args []string) error { return runLint(streams, fl, args) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", "text", "output format: text, json or sarif")
	f.StringVar(&fl.failOn, "fail-on", "warning", "exit 1 when a finding is at or above this severity: info, warning or error")
	f.StringVar(&fl.role, "role", "host", "role of scripts given alone: host or workstation (kit directories use the kit layout)")
	f.StringVar(&fl.shellcheck, "shellcheck", "auto", "run ShellCheck: auto (when on PATH), always or never")
	f.StringArrayVarP(&fl.inventories, "inventory", "i", nil, "render templates directories with this inventory (repeatable; default: the example inventories)")
	f.BoolVar(&fl.listRules, "list-rules", false, "describe every rule and exit")
	f.BoolVar(&fl.noCache, "no-cache", false, "run ShellCheck on every script, neither reading nor writing its cache of findings")
	completeChoices(cmd, "format", "text\tone finding per line", "json\ta JSON array of findings", "sarif\tSARIF 2.1.0, for code scanning")
	completeChoices(cmd, "fail-on", "info", "warning", "error")
	completeChoices(cmd, "role", "host\ta script run on a master", "workstation\ta coordinator run from a workstation")
	completeChoices(cmd, "shellcheck", shellCheckChoices...)
	completeInventoryFiles(cmd, "inventory")
	return cmd
}

func runLint(streams IOStreams, fl lintFlags, args []string) error {
	if fl.listRules {
		return listRules(streams, args)
	}
	if len(args) == 0 {
		return usageError(errors.New("lint: name at least one kit directory, script or templates directory"))
	}
	var opts lint.Options
	var err error
	if opts.ShellCheck, err = lint.ParseShellCheckMode(fl.shellcheck); err != nil {
		return usageError(fmt.Errorf("--shellcheck: %w", err))
	}
	if opts.Role, err = lint.ParseRole(fl.role); err != nil {
		return usageError(fmt.Errorf("--role: %w", err))
	}
	threshold, err := lint.ParseSeverity(fl.failOn)
	if err != nil {
		return usageError(fmt.Errorf("--fail-on: %w", err))
	}
	switch fl.format {
	case "text", "json", "sarif":
	default:
		return usageError(fmt.Errorf("--format: unknown format %q (text, json or sarif)", fl.format))
	}
	opts.Inventories = fl.inventories
	opts.ToolVersion = toolVersion()
	opts.CacheDir = shellCheckCache(fl.noCache)
	if opts.ShellCheck == lint.ShellCheckAuto && lint.ShellCheckPath() == "" {
		fmt.Fprintln(streams.ErrOut, "restorekit: shellcheck not found on PATH; only restorekit's own rules ran")
	}

	findings, err := lint.Paths(args, opts)
	if err != nil {
		return usageError(err) // unreadable input, or ShellCheck could not run: exit 2
	}
	switch fl.format {
	case "json":
		err = lint.WriteJSON(streams.Out, findings)
	case "sarif":
		wd, _ := os.Getwd()
		err = lint.WriteSARIF(streams.Out, findings, lint.SARIFOptions{ToolVersion: toolVersion(), BaseDir: wd})
	default:
		err = lint.WriteText(streams.Out, findings)
	}
	if err != nil {
		return err
	}
	failing := lint.AtOrAbove(findings, threshold)
	if fl.format == "text" && len(findings) > 0 {
		fmt.Fprintf(streams.ErrOut, "%s; %d at or above %s\n", countFindings(findings), failing, threshold)
	}
	if failing > 0 {
		return silentFailure
	}
	return nil
}

// shellCheckCache is where ShellCheck's findings are cached: under the user's cache
// directory, or nowhere with --no-cache or when there is none (no $HOME).
func shellCheckCache(noCache bool) string {
	if noCache {
		return ""
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "restorekit", "shellcheck")
}

// countFindings says "3 findings (1 error, 2 warnings)".
func countFindings(findings []lint.Finding) string {
	var parts []string
	for _, s := range []lint.Severity{lint.SeverityError, lint.SeverityWarning, lint.SeverityInfo} {
		n := 0
		for _, f := range findings {
			if f.Severity == s {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, plural(n, s.String()))
		}
	}
	return fmt.Sprintf("%s (%s)", plural(len(findings), "finding"), strings.Join(parts, ", "))
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// listRules prints each rule's name, severity and documentation.
func listRules(streams IOStreams, args []string) error {
	if len(args) > 0 {
		return usageError(errors.New("lint --list-rules takes no paths"))
	}
	for i, r := range lint.Rules {
		if i > 0 {
			fmt.Fprintln(streams.Out)
		}
		fmt.Fprintf(streams.Out, "%s (%s)\n", r.Name, r.Severity)
		for _, line := range strings.Split(r.Doc, "\n") {
			fmt.Fprintf(streams.Out, "    %s\n", line)
		}
	}
	return nil
}
