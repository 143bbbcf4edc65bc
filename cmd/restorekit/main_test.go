package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update", false, "rewrite the cmp expectations inside testdata/script/*.txtar")

// TestMain lets scripts run "restorekit" as a command: the test binary re-executes
// itself as the CLI.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"restorekit": func() {
			os.Exit(run(os.Args[1:], IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
		},
	})
}

// TestScript runs every testdata/script/*.txtar. Scripts see $EXAMPLES, the
// repository's examples/ directory, and $CAPTURES, the oc captures the importer is
// tested with (inventory/importer/testdata).
func TestScript(t *testing.T) {
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	captures, err := filepath.Abs(filepath.Join("..", "..", "inventory", "importer", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *updateScripts,
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			env.Setenv("CAPTURES", captures)
			return nil
		},
	})
}
