package main

import (
	"runtime/debug"
	"testing"
)

// TestVersionFrom checks how a build's version is read from the build info Go embeds
// (a test binary has none of it, so the cases are built here).
func TestVersionFrom(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "e8e371b1cd183e09bbbcd350f4a4774d191870dd"
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "devel"},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"pseudo-version from the VCS", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201092059-e8e371b1cd18+dirty"}, Settings: vcs(rev, "true")},
			"v0.0.0-20261201092059-e8e371b1cd18+dirty"},
		{"clean checkout, no module version", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "devel+e8e371b1cd18"},
		{"uncommitted changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "devel+e8e371b1cd18-dirty"},
		{"no VCS information", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionFrom(tc.bi); got != tc.want {
				t.Errorf("versionFrom = %q, want %q", got, tc.want)
			}
		})
	}
}
