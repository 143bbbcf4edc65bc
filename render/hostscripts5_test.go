package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// TestRestoreRefusesMoreThanMemberInEtcdDir: the 4.5 restore pod starts only on an
// empty /var/lib/etcd once cluster-restore.sh has moved member/ away, so 05-restore.sh
// stops before any change when anything else is there (a restore-<uuid> left by an
// interrupted restore pod), naming each entry that must go.
func TestRestoreRefusesMoreThanMemberInEtcdDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		setup  func(h *fakeHost)
		listed []string
	}{
		{"restore-uuid beside member", func(h *fakeHost) {
			h.write("var/lib/etcd/restore-5f2a8c1e/member/snap/db", "an interrupted restore pod's\n")
		}, []string{"restore-5f2a8c1e"}},
		{"member gone, restore-uuid left", func(h *fakeHost) {
			must(t, os.RemoveAll(filepath.Join(h.root, "var/lib/etcd/member")))
			h.write("var/lib/etcd/restore-5f2a8c1e/member/snap/db", "an interrupted restore pod's\n")
		}, []string{"restore-5f2a8c1e"}},
		{"a hidden file", func(h *fakeHost) { h.write("var/lib/etcd/.lock", "x\n") }, []string{".lock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t, recoveryNode, nil)
			tc.setup(h)
			before := h.snapshot()
			for _, args := range [][]string{{"--yes"}, {"--dry-run"}} {
				r := h.run(recoveryNode, "05-restore.sh", nil, args...)
				wantCode(t, r, 1, "nothing was changed", filepath.Join(h.root, "var/lib/etcd")+" holds ", "the restore pod stops on anything but member there")
				for _, l := range tc.listed {
					if !strings.Contains(r.stderr, l) {
						t.Errorf("%v: the refusal does not list %s", args, l)
					}
				}
				h.assertUnchanged(before)
			}
			if strings.Contains(h.commands(), "cluster-restore.sh") {
				t.Errorf("cluster-restore.sh ran although /var/lib/etcd holds more than member/")
			}
		})
	}
	// member/ alone is what it should be.
	h := newFakeHost(t, recoveryNode, nil)
	wantCode(t, h.run(recoveryNode, "05-restore.sh", nil, "--yes"), 0, "holds nothing but member")
}

// TestRestartKubeletWantsTheSameEtcdContainer: step 9.1 passes only when the same etcd
// container runs over consecutive polls; a container that keeps being replaced (the
// restore pod crash-looping) is not "running", and the reason it exited is shown from
// crictl logs.
func TestRestartKubeletWantsTheSameEtcdContainer(t *testing.T) {
	t.Parallel()
	t.Run("crash loop", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, func(inv *inventory.Inventory) {
			inv.Timeouts.SingleMember = inventory.Duration(5 * time.Second)
		})
		r := h.run(recoveryNode, "08-restart-kubelet.sh", []string{"FAKEHOST_CRASHLOOP=etcd"}, "--yes")
		wantCode(t, r, 3, "step 9.1: timed out", "exited and was replaced", "please delete the contents of data directory")
		if !strings.Contains(h.commands(), "crictl logs --tail") {
			t.Errorf("no crictl logs of the exited container:\n%s", h.commands())
		}
	})
	t.Run("two restarts, then steady", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost(t, recoveryNode, func(inv *inventory.Inventory) {
			inv.Timeouts.SingleMember = inventory.Duration(20 * time.Second)
		})
		r := h.run(recoveryNode, "08-restart-kubelet.sh", []string{"FAKEHOST_CRASHLOOP=etcd", "FAKEHOST_CRASHES=2"}, "--yes")
		wantCode(t, r, 0, "exited and was replaced", "step 9.1: the same etcd container runs", "polls in a row: yes")
	})
}
