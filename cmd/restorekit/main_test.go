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
// repository's examples/ directory; a $HOME holding the ssh files the examples name (a
// workstation prepared for them), so that they validate without warnings; and
// $TESTBACKUP, a backup pair made by a real etcd (testdata/backup-demo: OpenShift
// 4.5.2, masters m1 to m3.demo.example); $CAPTURES, the oc captures the importer is
// tested with (inventory/importer/testdata).
func TestScript(t *testing.T) {
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	testBackup, err := filepath.Abs(filepath.Join("testdata", "backup-demo"))
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
			home := filepath.Join(env.WorkDir, "home")
			if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
				return err
			}
			for _, f := range []string{"ocp4-core", "prod-east", "known_hosts.prod-east"} {
				if err := os.WriteFile(filepath.Join(home, ".ssh", f), []byte("stands in for "+f+"\n"), 0o600); err != nil {
					return err
				}
			}
			env.Setenv("HOME", home)
			env.Setenv("TESTBACKUP", testBackup)
			env.Setenv("CAPTURES", captures)
			return nil
		},
	})
}
