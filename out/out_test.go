package out

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/render"
)

func TestWriteKitLayoutAndModes(t *testing.T) {
	for _, mask := range []int{0o022, 0o077, 0o000} {
		parent := t.TempDir()
		var dir string
		var err error
		withUmask(mask, func() { dir, err = WriteKit(demoKit(), parent, WriteOptions{}) })
		if err != nil {
			t.Fatalf("umask %03o: %v", mask, err)
		}
		if want := filepath.Join(parent, "demo-recovery-kit"); dir != want {
			t.Errorf("dir = %s, want %s", dir, want)
		}
		want := strings.Join([]string{
			". drwxr-xr-x",
			"RUNBOOK.md -rw-r--r--",
			"SHA256SUMS -rw-r--r--",
			"hosts drwxr-xr-x",
			"hosts/m1.demo.example drwxr-xr-x",
			"hosts/m1.demo.example/restart-kubelet.sh -rwxr-xr-x",
			"hosts/m1.demo.example/restore.sh -rwxr-xr-x",
			"hosts/m2.demo.example drwxr-xr-x",
			"hosts/m2.demo.example/restart-kubelet.sh -rwxr-xr-x",
			"hosts/m2.demo.example/stop-static-pods.sh -rwxr-xr-x",
			"inventory.yaml -rw-r--r--",
			"kit.json -rw-r--r--",
			"recover.sh -rwxr-xr-x",
			"redeploy.sh -rwxr-xr-x",
		}, "\n")
		if got := tree(t, dir); got != want {
			t.Errorf("umask %03o: tree:\n%s\nwant:\n%s", mask, got, want)
		}
		if got := entries(t, parent); len(got) != 1 {
			t.Errorf("umask %03o: parent holds %v, want only the kit", mask, got)
		}
		for _, f := range demoKit().Files {
			data, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil || string(data) != string(f.Data) {
				t.Errorf("%s: content %q, %v; want %q", f.Name, data, err, f.Data)
			}
		}
	}
}

func TestSHA256SUMSIsSha256sumCompatible(t *testing.T) {
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_2020-08-04_184021.db": "snap", "static_kuberesources_2020-08-04_184021.tar.gz": "static"})
	dir, err := WriteKit(kit, t.TempDir(), WriteOptions{IncludeBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var paths []string
	for _, l := range lines {
		digest, p, ok := strings.Cut(l, "  ")
		if !ok || len(digest) != 64 {
			t.Fatalf("line %q is not \"<hex>  <path>\"", l)
		}
		if got := fileSHA256(t, filepath.Join(dir, p)); got != digest {
			t.Errorf("%s: listed %s, file has %s", p, digest, got)
		}
		paths = append(paths, p)
	}
	want := "RUNBOOK.md backup/snapshot_2020-08-04_184021.db backup/static_kuberesources_2020-08-04_184021.tar.gz " +
		"hosts/m1.demo.example/restart-kubelet.sh hosts/m1.demo.example/restore.sh hosts/m2.demo.example/restart-kubelet.sh " +
		"hosts/m2.demo.example/stop-static-pods.sh inventory.yaml kit.json recover.sh redeploy.sh"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("SHA256SUMS paths (sorted, SHA256SUMS itself excluded):\n%s\nwant:\n%s", got, want)
	}
	if out, code := runCmd(t, dir, nil, "sha256sum", "-c", "--strict", SumsFile); code != 0 {
		t.Errorf("sha256sum -c: exit %d\n%s", code, out)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "backup", "snapshot_2020-08-04_184021.db")); err != nil || string(got) != "snap" {
		t.Errorf("backup copy: %q, %v", got, err)
	}
}

func TestWriteKitRefusesExistingWithoutForce(t *testing.T) {
	for _, existing := range []string{"dir", "file"} {
		t.Run(existing, func(t *testing.T) {
			parent := t.TempDir()
			target := filepath.Join(parent, "demo-recovery-kit")
			if existing == "dir" {
				if err := os.Mkdir(target, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(target, "mine.txt"), []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := WriteKit(demoKit(), parent, WriteOptions{})
			var ee *ExistsError
			if !errors.As(err, &ee) || ee.Path != target {
				t.Fatalf("err = %v, want ExistsError for %s", err, target)
			}
			if !strings.Contains(err.Error(), "--force") {
				t.Errorf("message %q does not say how to replace it", err)
			}
			if got := entries(t, parent); len(got) != 1 {
				t.Errorf("parent holds %v after refusing", got)
			}
			// With Force the old one is replaced by the complete new kit.
			dir, err := WriteKit(demoKit(), parent, WriteOptions{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "mine.txt")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("old content survived --force: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "recover.sh")); err != nil {
				t.Errorf("new kit not in place: %v", err)
			}
			if got := entries(t, parent); len(got) != 1 {
				t.Errorf("parent holds %v after --force, want only the kit", got)
			}
		})
	}
}

func TestWriteKitRemovesPartialOutputOnError(t *testing.T) {
	cases := []struct {
		name   string
		modify func(t *testing.T, k *render.Kit)
		force  bool
		want   string
	}{
		{"backup digest differs", func(t *testing.T, k *render.Kit) {
			withBackup(t, k, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
			k.Inventory.Backup.Files[1].SHA256 = strings.Repeat("0", 64)
		}, false, "the inventory records 0000"},
		{"backup size differs", func(t *testing.T, k *render.Kit) {
			withBackup(t, k, map[string]string{"snapshot_x.db": "snap"})
			k.Inventory.Backup.Files[0].Size = 99
		}, false, "4 bytes, the inventory records 99"},
		{"backup file gone", func(t *testing.T, k *render.Kit) {
			withBackup(t, k, map[string]string{"snapshot_x.db": "snap"})
			os.Remove(k.Inventory.Backup.Files[0].Path)
		}, false, "no such file"},
		{"backup not scanned", func(t *testing.T, k *render.Kit) {
			withBackup(t, k, map[string]string{"snapshot_x.db": "snap"})
			k.Inventory.Backup.Files[0].Path = ""
		}, false, "was not found on this machine"},
		{"no backup recorded", func(*testing.T, *render.Kit) {}, false, "records no backup files"},
		{"force keeps the old kit", func(t *testing.T, k *render.Kit) {
			withBackup(t, k, map[string]string{"snapshot_x.db": "snap"})
			k.Inventory.Backup.Files[0].SHA256 = strings.Repeat("1", 64)
		}, true, "the inventory records 1111"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			if tc.force {
				if _, err := WriteKit(demoKit(), parent, WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			before := tree(t, parent)
			kit := demoKit()
			tc.modify(t, kit)
			_, err := WriteKit(kit, parent, WriteOptions{IncludeBackup: true, Force: tc.force})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if after := tree(t, parent); after != before {
				t.Errorf("output left behind:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

func TestWriteKitRejectsBadNames(t *testing.T) {
	for _, name := range []string{"../escape.sh", "/abs.sh", "a//b", "SHA256SUMS", "backup/x", "new\nline", "back\\slash", ""} {
		kit := demoKit()
		kit.Files = append(kit.Files, render.File{Name: name, Data: []byte("x")})
		parent := t.TempDir()
		if _, err := WriteKit(kit, parent, WriteOptions{}); err == nil {
			t.Errorf("%q: accepted", name)
		}
		if got := entries(t, parent); len(got) != 0 {
			t.Errorf("%q: left %v", name, got)
		}
	}
	kit := demoKit()
	kit.Name = "../x"
	if _, err := WriteKit(kit, t.TempDir(), WriteOptions{}); err == nil {
		t.Error("kit name ../x accepted")
	}
}
