package e2e

import (
	"os"
	"testing"
)

// TestMain lets the test binary act as the simulated oc (see Cluster.writeOC).
func TestMain(m *testing.M) {
	if sim := os.Getenv("RESTOREKIT_SIM_OC"); sim != "" {
		os.Exit(ocMain(sim, os.Args[1:]))
	}
	os.Exit(m.Run())
}
