package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	snapName   = "snapshot_2020-08-04_184021.db"
	staticName = "static_kuberesources_2020-08-04_184021.tar.gz"
)

// withLocalDir is base with backup.localDir instead of the names.
func withLocalDir(dir string) string {
	return strings.Replace(base, "  snapshot: "+snapName+"\n  staticResources: "+staticName+"\n", "  localDir: "+dir+"\n", 1)
}

// writeInventory writes an inventory into dir and returns its path.
func writeInventory(t *testing.T, dir, src string) string {
	t.Helper()
	path := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestScanFindsPair(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "backup", snapName), "snapshot bytes")
	writeFile(t, filepath.Join(dir, "backup", staticName), "static resources bytes")
	writeFile(t, filepath.Join(dir, "backup", "etcd-backup.log"), "unrelated")
	path := writeInventory(t, dir, withLocalDir("backup"))

	inv, warnings, err := Load(path, LoadOptions{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("err %v, warnings %v", err, warnings)
	}
	b := inv.Backup
	if b.LocalDir != filepath.Join(dir, "backup") {
		t.Errorf("LocalDir = %q, want it absolute", b.LocalDir)
	}
	if b.Snapshot != snapName || b.StaticResources != staticName {
		t.Errorf("names = %q, %q", b.Snapshot, b.StaticResources)
	}
	want := []BackupFile{
		{Name: snapName, Size: int64(len("snapshot bytes")), SHA256: sum("snapshot bytes"), Path: filepath.Join(dir, "backup", snapName)},
		{Name: staticName, Size: int64(len("static resources bytes")), SHA256: sum("static resources bytes"), Path: filepath.Join(dir, "backup", staticName)},
	}
	if len(b.Files) != 2 || b.Files[0] != want[0] || b.Files[1] != want[1] {
		t.Errorf("Files = %+v\nwant %+v", b.Files, want)
	}
	// The digest is the one sha256sum prints for the same bytes.
	if got := b.Files[0].SHA256; got != "ee36ef8194c4dd1e734e6d64f62653008e6566dbd5e2cd7f289f0f4f3e4467a4" {
		t.Errorf("sha256 %s", got)
	}
}

func TestScanEmptySnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b", snapName), "")
	writeFile(t, filepath.Join(dir, "b", staticName), "x")
	inv, _, err := Load(writeInventory(t, dir, withLocalDir("b")), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The SHA-256 of no bytes at all, as sha256sum /dev/null prints it.
	if f := inv.Backup.Files[0]; f.Size != 0 || f.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty snapshot recorded as %+v", f)
	}
}

func TestScanProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, backup string)
		want  string // with BACKUP for the directory as shown
	}{
		{"empty directory", func(t *testing.T, backup string) {
			if err := os.Mkdir(backup, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "BACKUP is empty (put one snapshot_<ts>.db and the static_kuberesources_<ts>.tar.gz taken with it there)"},
		{"directory missing", func(*testing.T, string) {},
			"directory BACKUP does not exist (a directory holding one snapshot_<ts>.db and the static_kuberesources_<ts>.tar.gz taken with it; relative to the inventory file)"},
		{"snapshot is a directory", func(t *testing.T, backup string) {
			writeFile(t, filepath.Join(backup, snapName, "x"), "")
			writeFile(t, filepath.Join(backup, staticName), "s")
		}, "cannot read BACKUP/" + snapName + ": a directory, not a file"},
		{"two snapshots, one archive", func(t *testing.T, backup string) {
			writeFile(t, filepath.Join(backup, snapName), "a")
			writeFile(t, filepath.Join(backup, "snapshot_2020-08-05_000000.db"), "b")
			writeFile(t, filepath.Join(backup, staticName), "s")
		}, "BACKUP holds more than one backup: " + snapName + ", snapshot_2020-08-05_000000.db, " + staticName +
			" (keep exactly one pair there: cluster-restore.sh would silently take the newest file of each kind)"},
		{"archive only", func(t *testing.T, backup string) {
			writeFile(t, filepath.Join(backup, staticName), "s")
		}, "BACKUP holds " + staticName + " but no snapshot_<ts>.db (one snapshot_<ts>.db and the static_kuberesources_<ts>.tar.gz taken with it)"},
		{"name with another timestamp format", func(t *testing.T, backup string) {
			writeFile(t, filepath.Join(backup, "snapshot_20200804.db"), "a")
			writeFile(t, filepath.Join(backup, staticName), "s")
		}, `BACKUP: "snapshot_20200804.db" is not a snapshot name (snapshot_<ts>.db as cluster-backup.sh names it, e.g. snapshot_2020-08-04_184021.db)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, filepath.Join(dir, "backup"))
			path := writeInventory(t, dir, withLocalDir("backup"))
			_, _, err := Load(path, LoadOptions{})
			want := path + ":7:13: backup.localDir: " + strings.ReplaceAll(tc.want, "BACKUP", filepath.Join(dir, "backup"))
			if err == nil || err.Error() != want {
				t.Errorf("got:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

// failingFS refuses to list its directory or to open one file, as an unreadable
// directory or file does for a user who is not root.
type failingFS struct {
	fs.FS
	listErr error
	openErr map[string]error
}

func (f failingFS) Open(name string) (fs.File, error) {
	if name == "." && f.listErr != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: f.listErr}
	}
	if err := f.openErr[name]; err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f.FS.Open(name)
}

func TestScanUnreadable(t *testing.T) {
	files := fstest.MapFS{snapName: {Data: []byte("a")}, staticName: {Data: []byte("b")}}
	for _, tc := range []struct {
		name string
		fsys fs.FS
		want string
	}{
		{"directory", failingFS{FS: files, listErr: fs.ErrPermission}, "cannot read BACKUP: permission denied"},
		{"snapshot", failingFS{FS: files, openErr: map[string]error{snapName: fs.ErrPermission}}, "cannot read BACKUP/" + snapName + ": permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "backup"), 0o755); err != nil {
				t.Fatal(err)
			}
			orig := openDir
			t.Cleanup(func() { openDir = orig })
			openDir = func(string) fs.FS { return tc.fsys }

			path := writeInventory(t, dir, withLocalDir("backup"))
			_, _, err := Load(path, LoadOptions{})
			want := path + ":7:13: backup.localDir: " + strings.ReplaceAll(tc.want, "BACKUP", filepath.Join(dir, "backup"))
			if err == nil || err.Error() != want {
				t.Errorf("got:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

// TestScanUnreadableOnDisk is TestScanUnreadable with real permissions, which only
// bind a user who is not root.
func TestScanUnreadableOnDisk(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a directory whatever its mode; TestScanUnreadable covers this case through openDir")
	}
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup")
	writeFile(t, filepath.Join(backup, snapName), "a")
	writeFile(t, filepath.Join(backup, staticName), "b")
	if err := os.Chmod(backup, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(backup, 0o755) })
	path := writeInventory(t, dir, withLocalDir("backup"))
	_, _, err := Load(path, LoadOptions{})
	want := path + ":7:13: backup.localDir: cannot read " + backup + ": permission denied"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestScanFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "store", "snap"), "snapshot bytes")
	writeFile(t, filepath.Join(dir, "backup", staticName), "s")
	if err := os.Symlink(filepath.Join(dir, "store", "snap"), filepath.Join(dir, "backup", snapName)); err != nil {
		t.Fatal(err)
	}
	inv, _, err := Load(writeInventory(t, dir, withLocalDir("backup")), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := inv.Backup.Files[0]; f.SHA256 != sum("snapshot bytes") {
		t.Errorf("symlinked snapshot recorded as %+v", f)
	}
}

func TestOffline(t *testing.T) {
	recorded := "  files:\n" +
		"    - name: " + staticName + "\n      size: 1\n      sha256: " + sum("s") + "\n" +
		"    - name: " + snapName + "\n      size: 1\n      sha256: " + sum("a") + "\n"
	for _, tc := range []struct {
		name    string
		backup  string // the backup: section's body
		wantErr string
	}{
		{"names only, no directory", "  localDir: /nowhere\n  snapshot: " + snapName + "\n  staticResources: " + staticName + "\n", ""},
		{"files only", "  localDir: /nowhere\n" + recorded, ""},
		{"names and files", "  snapshot: " + snapName + "\n  staticResources: " + staticName + "\n" + recorded, ""},
		{"nothing", "  localDir: /nowhere\n",
			"inv.yaml:6:1: backup.snapshot: missing (snapshot_<ts>.db as cluster-backup.sh names it, e.g. snapshot_2020-08-04_184021.db; required offline, when backup.localDir is not read)\n" +
				"inv.yaml:6:1: backup.staticResources: missing (static_kuberesources_<ts>.tar.gz as cluster-backup.sh names it, e.g. static_kuberesources_2020-08-04_184021.tar.gz; required offline, when backup.localDir is not read)"},
		{"names disagree with files", "  snapshot: snapshot_2020-08-04_184022.db\n  staticResources: " + staticName + "\n" + recorded,
			`inv.yaml:7:13: backup.snapshot: "snapshot_2020-08-04_184022.db" is not the file recorded in backup.files (` + snapName + `)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, "  snapshot: "+snapName+"\n  staticResources: "+staticName+"\n", tc.backup, 1)
			inv, _, err := Parse("inv.yaml", []byte(src), LoadOptions{Offline: true})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("got:\n%v\nwant:\n%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if inv.Backup.Snapshot != snapName || inv.Backup.StaticResources != staticName {
				t.Errorf("names %q, %q", inv.Backup.Snapshot, inv.Backup.StaticResources)
			}
			if strings.Contains(tc.backup, "files:") {
				if len(inv.Backup.Files) != 2 || inv.Backup.Files[0].Name != snapName || inv.Backup.Files[0].SHA256 != sum("a") {
					t.Errorf("files %+v, want the recorded pair, snapshot first", inv.Backup.Files)
				}
			}
		})
	}
}

// BenchmarkDigest streams a 64 MiB file through SHA-256 (memory stays at the copy
// buffer: see -benchmem).
func BenchmarkDigest(b *testing.B) {
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, snapName))
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fsys := os.DirFS(dir)
	b.SetBytes(64 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := digest(fsys, snapName); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLocalDirTilde(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	writeFile(t, filepath.Join(home, "backups", "ocp4", snapName), "a")
	writeFile(t, filepath.Join(home, "backups", "ocp4", staticName), "b")
	inv, _, err := Parse(filepath.Join(t.TempDir(), "inv.yaml"), []byte(withLocalDir("~/backups/ocp4")), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, "backups", "ocp4"); inv.Backup.LocalDir != want {
		t.Errorf("LocalDir = %q, want %q", inv.Backup.LocalDir, want)
	}
}

func TestAllowPossiblyDirtyOnCleanBackup(t *testing.T) {
	src := strings.Replace(base, "  staticResources: "+staticName+"\n", "  staticResources: "+staticName+"\n  allowPossiblyDirty: true\n", 1)
	_, warnings, err := Parse("inv.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "inv.yaml:9:23: warning: backup.allowPossiblyDirty: set, but this backup is clean (remove it, so that a later __POSSIBLY_DIRTY__ backup is not accepted unnoticed)\n"
	if got := problemLines(warnings); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
