package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var updateFixtures = flag.Bool("update", false, "make the backup pairs under examples/ and cmd/restorekit/testdata/ again with a real etcd")

// fixture is a backup pair the repository ships for its examples and CLI tests: made
// by a real etcd and etcdctl snapshot save (go test ./backup -run Fixtures -update),
// and read back by every test run.
type fixture struct {
	dir, ts  string
	release  string
	previous string // the release the cluster was updated from
	masters  []string
}

var fixtures = []fixture{
	{"../examples/backup-3", "2020-08-04_184021", "4.5.2", "4.5.1",
		[]string{"ip-10-0-143-125.ec2.internal", "ip-10-0-154-194.ec2.internal", "ip-10-0-173-171.ec2.internal"}},
	{"../examples/backup-5", "2020-11-02_031500", "4.5.7", "4.5.6",
		[]string{"master-0.prod-east.example.com", "master-1.prod-east.example.com", "master-2.prod-east.example.com", "master-3.prod-east.example.com", "master-4.prod-east.example.com"}},
	{"../examples/backup-418", "2025-03-01_101500", "4.18.7", "4.18.6",
		[]string{"master-0.ocp418.example.com", "master-1.ocp418.example.com", "master-2.ocp418.example.com"}},
	{"../examples/backup-416", "2025-09-15_031500", "4.16.21", "4.16.20",
		[]string{"master-0.ocp416.example.com", "master-1.ocp416.example.com", "master-2.ocp416.example.com"}},
	{"../examples/backup-sno", "2025-06-10_020000", "4.20.3", "4.20.2",
		[]string{"sno-0.edge.example.com"}},
	{"../cmd/restorekit/testdata/backup-demo", "2020-08-04_184021", "4.5.2", "4.5.1",
		[]string{"m1.demo.example", "m2.demo.example", "m3.demo.example"}},
}

func (f fixture) snapshotPath() string { return filepath.Join(f.dir, "snapshot_"+f.ts+".db") }
func (f fixture) staticPath() string {
	return filepath.Join(f.dir, "static_kuberesources_"+f.ts+".tar.gz")
}

func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(filepath.Base(f.dir), func(t *testing.T) {
			if *updateFixtures {
				f.make(t)
			}
			s := ReadSnapshot(f.snapshotPath())
			wantProblems(t, s.Problems)
			if s.Integrity != IntegrityOK || s.ClusterVersion.Release() != f.release || s.ClusterVersion.History[0].State != "Completed" {
				t.Errorf("integrity %s, ClusterVersion %+v: want ok and %s Completed", s.Integrity, s.ClusterVersion, f.release)
			}
			var cp []string
			for _, n := range s.Nodes {
				if n.ControlPlane() {
					cp = append(cp, n.Name)
				}
			}
			if !reflect.DeepEqual(cp, f.masters) {
				t.Errorf("control plane %q, want %q", cp, f.masters)
			}
			wantProblems(t, ReadStaticResources(f.staticPath()).Problems)
		})
	}
}

// make writes the fixture's pair: a snapshot of a cluster updated from previous to
// release, and the static pod resources cluster-backup.sh archives with it.
func (f fixture) make(t *testing.T) {
	e := startEtcd(t)
	taken, err := time.Parse("2006-01-02_150405", f.ts)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return taken.Add(-d).UTC().Format(time.RFC3339) }
	e.put(ClusterVersionKey, clusterVersionObject(f.previous, history{f.previous, "Completed", at(40 * 24 * time.Hour), at(40*24*time.Hour - 40*time.Minute)}))
	for _, m := range f.masters {
		e.put(NodePrefix+m, nodeObject(m, at(time.Hour), "master"))
		e.put("/kubernetes.io/leases/kube-node-lease/"+m, []byte(`{"kind":"Lease"}`))
	}
	e.put("/kubernetes.io/configmaps/openshift-config/admin-kubeconfig-client-ca", []byte(`{"kind":"ConfigMap"}`))
	e.put(ClusterVersionKey, clusterVersionObject(f.release,
		history{f.release, "Completed", at(2 * time.Hour), at(time.Hour + 10*time.Minute)},
		history{f.previous, "Completed", at(40 * 24 * time.Hour), at(40*24*time.Hour - 40*time.Minute)}))
	for _, m := range f.masters {
		e.put(NodePrefix+m, nodeObject(m, at(time.Minute), "master"))
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{f.snapshotPath(), f.staticPath()} {
		os.Remove(old)
	}
	e.snapshot(f.dir, filepath.Base(f.snapshotPath()))
	if err := os.Chmod(f.snapshotPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.staticPath(), staticPodResources(t, taken), 0o644); err != nil {
		t.Fatal(err)
	}
}

// staticPodResources is the archive cluster-backup.sh writes (tar -cpzf FILE -C
// /etc/kubernetes static-pod-resources/<pod>-pod-N ...), member times at the backup's.
func staticPodResources(t *testing.T, mtime time.Time) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	add := func(name, body string) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatGNU}
		if strings.HasSuffix(name, "/") {
			hdr.Mode, hdr.Typeflag = 0o755, tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		pod      string
		revision int
	}{{"etcd", 2}, {"kube-apiserver", 7}, {"kube-controller-manager", 5}, {"kube-scheduler", 6}} {
		dir := fmt.Sprintf("static-pod-resources/%s-pod-%d/", p.pod, p.revision)
		add(dir, "")
		add(dir+p.pod+"-pod.yaml", fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: openshift-%s\n", p.pod, p.pod))
		if p.pod == "etcd" {
			add(dir+"configmaps/", "")
			add(dir+"configmaps/restore-etcd-pod/", "")
			add(dir+"configmaps/restore-etcd-pod/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n  namespace: openshift-etcd\n")
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
