package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

var masters = []string{"ip-10-0-143-125.ec2.internal", "ip-10-0-154-194.ec2.internal", "ip-10-0-173-171.ec2.internal"}

// openshiftCluster fills etcd the way a cluster that was installed on 4.5.1 and
// updated to 4.5.2 stores it: the ClusterVersion as JSON under its key, rewritten on
// each update, three masters and workers as Nodes (one worker since deleted), and
// other objects around them. It returns the revision of the last write.
func openshiftCluster(e *etcdServer) int64 {
	e.put(ClusterVersionKey, clusterVersionObject("4.5.1", history{"4.5.1", "Completed", "2020-07-01T09:00:00Z", "2020-07-01T09:40:00Z"}))
	for _, m := range masters {
		e.put(NodePrefix+m, nodeObject(m, "2020-08-04T18:00:00Z", "master"))
	}
	e.put(NodePrefix+"worker-a", nodeObject("worker-a", "2020-08-04T18:00:00Z", "worker"))
	e.put(NodePrefix+"worker-gone", nodeObject("worker-gone", "2020-07-02T00:00:00Z", "worker"))
	for i := 0; i < 50; i++ {
		e.put("/kubernetes.io/configmaps/openshift-config/cm-"+strings.Repeat("x", i), []byte(strings.Repeat("data ", 200)))
	}
	e.put(ClusterVersionKey, clusterVersionObject("4.5.2",
		history{"4.5.2", "Completed", "2020-08-04T17:00:00Z", "2020-08-04T17:50:00Z"},
		history{"4.5.1", "Completed", "2020-07-01T09:00:00Z", "2020-07-01T09:40:00Z"}))
	e.del(NodePrefix + "worker-gone")
	e.put(NodePrefix+masters[0], nodeObject(masters[0], "2020-08-04T18:39:00Z", "master"))
	return e.put("/kubernetes.io/leases/kube-node-lease/worker-a", []byte(`{"kind":"Lease"}`))
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// realSnapshot is a snapshot of openshiftCluster taken by etcdctl snapshot save.
func realSnapshot(t *testing.T) (path string, revision int64) {
	t.Helper()
	e := startEtcd(t)
	revision = openshiftCluster(e)
	return e.snapshot(t.TempDir(), "snapshot_2020-08-04_184021.db"), revision
}

func TestReadSnapshotOfOpenShiftCluster(t *testing.T) {
	path, revision := realSnapshot(t)
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256File(t, path)

	s := ReadSnapshot(path)
	if len(s.Problems) != 0 {
		t.Fatalf("a real snapshot was refused: %q", s.Problems)
	}
	if s.Integrity != IntegrityOK {
		t.Errorf("integrity %q, want ok (etcdctl snapshot save appends the sha256)", s.Integrity)
	}
	if s.SHA256 != sum || s.Size != before.Size() {
		t.Errorf("digest %s/%d, want sha256sum's %s/%d", s.SHA256, s.Size, sum, before.Size())
	}
	if s.Revision != revision {
		t.Errorf("revision %d, want %d (the last write's)", s.Revision, revision)
	}
	if s.TakenAt != "2020-08-04T18:40:21Z" {
		t.Errorf("takenAt %q, want the file name's time", s.TakenAt)
	}
	want := &ClusterVersion{Desired: "4.5.2", History: []HistoryEntry{
		{Version: "4.5.2", State: "Completed", StartedTime: "2020-08-04T17:00:00Z", CompletionTime: "2020-08-04T17:50:00Z"},
		{Version: "4.5.1", State: "Completed", StartedTime: "2020-07-01T09:00:00Z", CompletionTime: "2020-07-01T09:40:00Z"},
	}}
	got := s.ClusterVersion
	if got == nil {
		t.Fatal("no ClusterVersion")
	}
	if got.ModRevision == 0 {
		t.Error("ClusterVersion modRevision not recorded")
	}
	got.ModRevision = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterVersion at the newest revision:\n got %+v\nwant %+v", got, want)
	}
	if got.Release() != "4.5.2" {
		t.Errorf("release %q, want 4.5.2", got.Release())
	}
	var names, controlPlane []string
	for _, n := range s.Nodes {
		names = append(names, n.Name)
		if !n.RolesKnown {
			t.Errorf("%s: roles unknown for a JSON Node", n.Name)
		}
		if n.ControlPlane() {
			controlPlane = append(controlPlane, n.Name)
		}
	}
	if wantNames := append(append([]string{}, masters...), "worker-a"); !reflect.DeepEqual(names, wantNames) {
		t.Errorf("nodes %q, want %q (the deleted worker gone)", names, wantNames)
	}
	if !reflect.DeepEqual(controlPlane, masters) {
		t.Errorf("control plane %q, want %q", controlPlane, masters)
	}
	if s.NewestObjectTime != "2020-08-04T18:39:00Z" {
		t.Errorf("newest object time %q, want the last heartbeat 2020-08-04T18:39:00Z", s.NewestObjectTime)
	}

	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256File(t, path) != sum || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
		t.Error("reading the snapshot changed the file")
	}
}

func TestReadSnapshotProtobufNodes(t *testing.T) {
	e := startEtcd(t)
	e.put(ClusterVersionKey, clusterVersionObject("4.18.3", history{"4.18.3", "Completed", "2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z"}))
	for _, m := range masters {
		e.put(NodePrefix+m, protobufNode(m))
	}
	s := ReadSnapshot(e.snapshot(t.TempDir(), "snapshot_2025-03-02_120000.db"))
	if len(s.Problems) != 0 {
		t.Fatalf("refused: %q", s.Problems)
	}
	var names []string
	for _, n := range s.Nodes {
		names = append(names, n.Name)
		if n.RolesKnown || n.ControlPlane() {
			t.Errorf("%s: roles claimed for a protobuf Node: %+v", n.Name, n)
		}
	}
	if !reflect.DeepEqual(names, masters) {
		t.Errorf("nodes %q, want the names from the keys %q", names, masters)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "roles could not be read") {
		t.Errorf("notes %q, want one saying the roles could not be read", s.Notes)
	}
}

func TestReadSnapshotPartialUpdate(t *testing.T) {
	e := startEtcd(t)
	e.put(ClusterVersionKey, clusterVersionObject("4.5.3",
		history{"4.5.3", "Partial", "2020-08-04T18:00:00Z", ""},
		history{"4.5.2", "Completed", "2020-07-01T09:00:00Z", "2020-07-01T09:40:00Z"}))
	s := ReadSnapshot(e.snapshot(t.TempDir(), "snapshot_2020-08-04_184021__POSSIBLY_DIRTY__.db"))
	if len(s.Problems) != 0 {
		t.Fatalf("refused: %q", s.Problems)
	}
	if h := s.ClusterVersion.History[0]; h.Version != "4.5.3" || h.State != "Partial" || h.CompletionTime != "" {
		t.Errorf("newest history entry %+v, want 4.5.3 Partial, not completed", h)
	}
	if s.TakenAt != "2020-08-04T18:40:21Z" {
		t.Errorf("takenAt %q from a __POSSIBLY_DIRTY__ name", s.TakenAt)
	}
}

func TestReadSnapshotWithoutClusterVersion(t *testing.T) {
	e := startEtcd(t)
	e.put(NodePrefix+"n1", nodeObject("n1", "2020-08-04T18:00:00Z", "master"))
	s := ReadSnapshot(e.snapshot(t.TempDir(), "snapshot_2020-08-04_184021.db"))
	wantProblems(t, s.Problems, "holds no ClusterVersion (no key /kubernetes.io/config.openshift.io/clusterversions/version at revision 2): not the etcd of an OpenShift 4 cluster")
}

// damaged writes a changed copy of the file at src.
func damaged(t *testing.T, src string, change func([]byte) []byte) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(path, change(append([]byte{}, data...)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func withHash(b []byte) []byte {
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func wantProblems(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

func TestReadSnapshotRefusesDamage(t *testing.T) {
	path, _ := realSnapshot(t)
	cut := func(n int) func([]byte) []byte { return func(b []byte) []byte { return b[:n] } }
	bareDB := func(b []byte) []byte { return b[:len(b)-hashSize] }

	t.Run("no appended hash", func(t *testing.T) {
		s := ReadSnapshot(damaged(t, path, bareDB))
		if s.Integrity != IntegrityAbsent {
			t.Errorf("integrity %q, want absent", s.Integrity)
		}
		wantProblems(t, s.Problems, "has no sha256 appended, so it was not written by etcdctl snapshot save (a copy of a member's db?); the restore's etcdctl snapshot restore refuses it without --skip-hash-check")
		if s.ClusterVersion.Release() != "4.5.2" {
			t.Errorf("the facts of a bare database are still read: release %q", s.ClusterVersion.Release())
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s := ReadSnapshot(damaged(t, path, cut(10000)))
		if s.Integrity != IntegritySize {
			t.Errorf("integrity %q, want bad-size", s.Integrity)
		}
		wantProblems(t, s.Problems, "10000 bytes is neither an etcd database nor one with the 32-byte sha256 etcdctl snapshot save appends: the file is truncated or is not a snapshot")
	})
	t.Run("truncated to whole pages, hash recomputed", func(t *testing.T) {
		// What a copy that stopped early and was then "fixed up" looks like: the digest
		// holds, but the database's pages run past the end of the file.
		s := ReadSnapshot(damaged(t, path, func(b []byte) []byte { return withHash(b[:3*4096]) }))
		if s.Integrity != IntegrityOK {
			t.Errorf("integrity %q, want ok", s.Integrity)
		}
		if len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0], "the etcd database is truncated: its pages need ") {
			t.Errorf("problems %q, want the database truncated", s.Problems)
		}
	})
	t.Run("pages overwritten, hash recomputed", func(t *testing.T) {
		// The meta pages hold, every other page is garbage: bbolt panics or faults on
		// them, and that must be a refusal, not a crash.
		s := ReadSnapshot(damaged(t, path, func(b []byte) []byte {
			db := b[:len(b)-hashSize]
			for i := 2 * 4096; i < len(db); i++ {
				db[i] = 0xA5
			}
			return withHash(db)
		}))
		if len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0], "the etcd database is damaged: ") {
			t.Errorf("problems %q, want the database damaged", s.Problems)
		}
	})
	t.Run("one flipped byte", func(t *testing.T) {
		s := ReadSnapshot(damaged(t, path, func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }))
		if s.Integrity != IntegrityMismatch {
			t.Errorf("integrity %q, want mismatch", s.Integrity)
		}
		wantProblems(t, s.Problems, "the sha256 that etcdctl snapshot save appended does not match the contents: the file is damaged (copy it again from the host that took it, or take a new backup)")
	})
	t.Run("not bbolt", func(t *testing.T) {
		s := ReadSnapshot(damaged(t, path, func(b []byte) []byte {
			return withHash([]byte(strings.Repeat("not a database\n", 4096*4/15+1)[:4096*4]))
		}))
		if len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0], "not an etcd database: bbolt cannot open it (") {
			t.Errorf("problems %q, want bbolt's refusal", s.Problems)
		}
	})
	t.Run("empty", func(t *testing.T) {
		s := ReadSnapshot(damaged(t, path, cut(0)))
		wantProblems(t, s.Problems, "has no sha256 appended, so it was not written by etcdctl snapshot save (a copy of a member's db?); the restore's etcdctl snapshot restore refuses it without --skip-hash-check",
			"0 bytes is too small for an etcd database (it has at least two 4096-byte pages)")
	})
	t.Run("missing", func(t *testing.T) {
		s := ReadSnapshot(filepath.Join(t.TempDir(), "snapshot_2020-08-04_184021.db"))
		wantProblems(t, s.Problems, "no such file or directory")
	})
}

func TestReadSnapshotBboltWithoutEtcdBuckets(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "other.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := ReadSnapshot(damaged(t, filepath.Join(dir, "other.db"), withHash))
	wantProblems(t, s.Problems, `not an etcd database: it has no "key" bucket (buckets: widgets)`)
}
