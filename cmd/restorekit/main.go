// Command restorekit builds recovery kits for restoring an OpenShift 4 control plane
// from an etcd backup.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
