package backup

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// staticTree are the files of /etc/kubernetes/static-pod-resources that
// cluster-backup.sh archives: the current revision of each control-plane pod.
var staticTree = map[string]string{
	"static-pod-resources/kube-apiserver-pod-7/kube-apiserver-pod.yaml":                   "kind: Pod\n",
	"static-pod-resources/kube-apiserver-pod-7/configmaps/config/config.yaml":             "{}\n",
	"static-pod-resources/kube-controller-manager-pod-5/kube-controller-manager-pod.yaml": "kind: Pod\n",
	"static-pod-resources/kube-scheduler-pod-6/kube-scheduler-pod.yaml":                   "kind: Pod\n",
	"static-pod-resources/etcd-pod-2/etcd-pod.yaml":                                       "kind: Pod\n",
	"static-pod-resources/etcd-pod-2/configmaps/restore-etcd-pod/pod.yaml":                "kind: Pod\n",
}

// staticArchive archives the tree without the files named in leave out, as
// cluster-backup.sh does: tar -cpzf FILE -C /etc/kubernetes static-pod-resources/<pod>-N...
func staticArchive(t *testing.T, tree map[string]string, leaveOut ...string) string {
	t.Helper()
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("tar is not installed")
	}
	root := t.TempDir()
	dirs := map[string]bool{}
	for name, body := range tree {
		skip := false
		for _, l := range leaveOut {
			skip = skip || strings.HasSuffix(name, l)
		}
		if skip {
			continue
		}
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		dirs[strings.Join(strings.SplitN(name, "/", 3)[:2], "/")] = true
	}
	path := filepath.Join(t.TempDir(), "static_kuberesources_2020-08-04_184021.tar.gz")
	args := []string{"-cpzf", path, "-C", root}
	args = append(args, sortedKeys(dirs)...)
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	return path
}

func TestReadStaticResources(t *testing.T) {
	path := staticArchive(t, staticTree)
	r := ReadStaticResources(path)
	wantProblems(t, r.Problems)
	if r.EtcdPod != "etcd-pod-2" {
		t.Errorf("etcd pod %q, want etcd-pod-2", r.EtcdPod)
	}
	want := map[string]string{
		"restore-etcd-pod/pod.yaml":        "static-pod-resources/etcd-pod-2/configmaps/restore-etcd-pod/pod.yaml",
		"kube-apiserver-pod.yaml":          "static-pod-resources/kube-apiserver-pod-7/kube-apiserver-pod.yaml",
		"kube-controller-manager-pod.yaml": "static-pod-resources/kube-controller-manager-pod-5/kube-controller-manager-pod.yaml",
		"kube-scheduler-pod.yaml":          "static-pod-resources/kube-scheduler-pod-6/kube-scheduler-pod.yaml",
	}
	for k, v := range want {
		if r.Extracted[k] != v {
			t.Errorf("%s: found %q, want %q", k, r.Extracted[k], v)
		}
	}
	if r.SHA256 != sha256File(t, path) {
		t.Errorf("sha256 %s differs from the file's", r.SHA256)
	}
	if fi, _ := os.Stat(path); r.Size != fi.Size() {
		t.Errorf("size %d, want %d", r.Size, fi.Size())
	}
}

func TestReadStaticResourcesMissingEach(t *testing.T) {
	const name = "static_kuberesources_2020-08-04_184021.tar.gz"
	for _, tc := range []struct{ leaveOut, want string }{
		{"kube-apiserver-pod.yaml", "kube-apiserver-pod.yaml does not exist in " + name + " (cluster-restore.sh of 4.5 to 4.17 fails so; cluster-backup.sh saves it as static-pod-resources/kube-apiserver-pod-<N>/kube-apiserver-pod.yaml)"},
		{"kube-controller-manager-pod.yaml", "kube-controller-manager-pod.yaml does not exist in " + name + " (cluster-restore.sh of 4.5 to 4.17 fails so; cluster-backup.sh saves it as static-pod-resources/kube-controller-manager-pod-<N>/kube-controller-manager-pod.yaml)"},
		{"kube-scheduler-pod.yaml", "kube-scheduler-pod.yaml does not exist in " + name + " (cluster-restore.sh of 4.5 to 4.17 fails so; cluster-backup.sh saves it as static-pod-resources/kube-scheduler-pod-<N>/kube-scheduler-pod.yaml)"},
		{"restore-etcd-pod/pod.yaml", "restore-etcd-pod/pod.yaml does not exist in " + name + " (the restore pod manifest, static-pod-resources/etcd-pod-<N>/configmaps/restore-etcd-pod/pod.yaml)"},
	} {
		t.Run(tc.leaveOut, func(t *testing.T) {
			wantProblems(t, ReadStaticResources(staticArchive(t, staticTree, tc.leaveOut)).Problems, tc.want)
		})
	}
	t.Run("etcd-pod", func(t *testing.T) {
		wantProblems(t, ReadStaticResources(staticArchive(t, staticTree, "etcd-pod.yaml", "restore-etcd-pod/pod.yaml")).Problems,
			"holds no static-pod-resources/etcd-pod-<N>/ (the etcd static pod revision cluster-backup.sh saves)",
			"restore-etcd-pod/pod.yaml does not exist in "+name+" (the restore pod manifest, static-pod-resources/etcd-pod-<N>/configmaps/restore-etcd-pod/pod.yaml)")
	})
}

func TestReadStaticResourcesTwoRevisions(t *testing.T) {
	tree := map[string]string{"static-pod-resources/etcd-pod-3/configmaps/restore-etcd-pod/pod.yaml": "kind: Pod\n"}
	for k, v := range staticTree {
		tree[k] = v
	}
	wantProblems(t, ReadStaticResources(staticArchive(t, tree)).Problems,
		"holds 2 etcd static pod revisions (etcd-pod-2, etcd-pod-3; cluster-backup.sh saves only the current one)",
		"2 members match restore-etcd-pod/pod.yaml: static-pod-resources/etcd-pod-2/configmaps/restore-etcd-pod/pod.yaml, static-pod-resources/etcd-pod-3/configmaps/restore-etcd-pod/pod.yaml (cluster-restore.sh's tar pattern must find exactly one)")
}

func TestReadStaticResourcesRefusesDamage(t *testing.T) {
	good := staticArchive(t, staticTree)
	t.Run("not gzip", func(t *testing.T) {
		p := damaged(t, good, func([]byte) []byte { return []byte("static pod resources\n") })
		wantProblems(t, ReadStaticResources(p).Problems, "not a gzip file (gzip: invalid header); cluster-backup.sh writes it with tar -czf")
	})
	t.Run("truncated", func(t *testing.T) {
		p := damaged(t, good, func(b []byte) []byte { return b[:len(b)/2] })
		got := ReadStaticResources(p).Problems
		if len(got) != 1 || !strings.Contains(got[0], "the file ends early") {
			t.Errorf("problems %q, want one saying the file ends early", got)
		}
	})
	t.Run("gzip of something else", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "static_kuberesources_2020-08-04_184021.tar.gz")
		if out, err := exec.Command("sh", "-c", "echo hello | gzip > "+p).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := ReadStaticResources(p).Problems
		if len(got) != 1 || !strings.HasPrefix(got[0], "not a whole tar archive inside the gzip: after 0 members") {
			t.Errorf("problems %q, want the tar refused", got)
		}
	})
}
