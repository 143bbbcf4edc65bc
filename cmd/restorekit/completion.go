package main

import (
	"github.com/spf13/cobra"
)

// inventoryExts are the file name extensions offered where an inventory is expected.
var inventoryExts = []string{"yaml", "yml"}

// inventoryFileArg completes a command's one inventory argument with *.yaml and
// *.yml files.
func inventoryFileArg(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return inventoryExts, cobra.ShellCompDirectiveFilterFileExt
}

// inventoryFilesArg completes any number of inventory arguments (validate FILE...).
func inventoryFilesArg(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return inventoryExts, cobra.ShellCompDirectiveFilterFileExt
}

// kitArg completes verify's KIT with directories, .tar.gz and .run files.
func kitArg(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"tar.gz", "run"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeInventoryFiles makes a flag complete *.yaml and *.yml files.
func completeInventoryFiles(cmd *cobra.Command, flag string) {
	_ = cmd.MarkFlagFilename(flag, inventoryExts...)
}

// completeChoices makes a flag complete to its fixed values, each with a description
// ("value\tdescription", which shells that support it show beside the value).
func completeChoices(cmd *cobra.Command, flag string, choices ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp))
}

// shellCheckChoices are the values of every --shellcheck flag.
var shellCheckChoices = []string{
	"auto\trun ShellCheck when it is on PATH",
	"always\trun ShellCheck; fail when it is not installed",
	"never\tskip ShellCheck",
}
