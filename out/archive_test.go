package out

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestSourceDateEpoch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", DefaultEpoch, false},
		{"  ", DefaultEpoch, false},
		{"0", time.Unix(0, 0).UTC(), false},
		{"1596560421", time.Date(2020, 8, 4, 17, 0, 21, 0, time.UTC), false},
		{"-1", time.Time{}, true},
		{"1.5", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"99999999999", time.Time{}, true},
	} {
		got, err := SourceDateEpoch(tc.in)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("SourceDateEpoch(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestBuildsAreReproducible builds the same kit twice, in different directories, under
// different umasks, a second apart, and expects byte-identical archives.
func TestBuildsAreReproducible(t *testing.T) {
	build := func(mask int) *Result {
		kit := demoKit()
		withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
		var res *Result
		var err error
		withUmask(mask, func() { res, err = Package(kit, t.TempDir(), PackageOptions{IncludeBackup: true}) })
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := build(0o022)
	time.Sleep(1100 * time.Millisecond) // a different wall-clock second for every file time
	b := build(0o077)
	if a.Dir == b.Dir {
		t.Fatal("both builds went to the same directory")
	}
	for _, pair := range [][2]Artifact{{a.TarGz, b.TarGz}, {a.Run, b.Run}} {
		x, _ := os.ReadFile(pair[0].Path)
		y, _ := os.ReadFile(pair[1].Path)
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s and %s differ (%d and %d bytes)", pair[0].Path, pair[1].Path, len(x), len(y))
		}
		if pair[0].SHA256 != pair[1].SHA256 || pair[0].SHA256 != fileSHA256(t, pair[0].Path) {
			t.Errorf("reported sha256 %s / %s, file has %s", pair[0].SHA256, pair[1].SHA256, fileSHA256(t, pair[0].Path))
		}
		if fi, err := os.Stat(pair[0].Path); err != nil || fi.Size() != pair[0].Size {
			t.Errorf("%s: reported size %d, stat %v %v", pair[0].Path, pair[0].Size, fi, err)
		}
	}
	if fi, err := os.Stat(b.Run.Path); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf(".run mode: %v %v, want 0755", fi, err)
	}
	if fi, err := os.Stat(b.TarGz.Path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf(".tar.gz mode: %v %v, want 0644", fi, err)
	}
}

// TestGoldenArchive pins the archive of the hand-made kit with a fixed SOURCE_DATE_EPOCH:
// its sha256 and a listing of its members. Regenerate with `go test ./out -update` when
// the archive format changes on purpose (a new Go release may change gzip's output).
func TestGoldenArchive(t *testing.T) {
	mtime, err := SourceDateEpoch("1596560421")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Package(demoKit(), t.TempDir(), PackageOptions{ModTime: mtime})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.TarGz.Path)
	if err != nil {
		t.Fatal(err)
	}
	listing := describeArchive(t, data)
	got := fmt.Sprintf("%s  demo-recovery-kit.tar.gz\n", res.TarGz.SHA256)
	golden(t, "demo-recovery-kit.tar.gz.sha256", got)
	golden(t, "demo-recovery-kit.tar.gz.list", listing)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

// describeArchive checks the gzip header and lists every tar member with the fields
// that must be fixed.
func describeArchive(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || len(zr.Extra) != 0 {
		t.Errorf("gzip header carries name %q comment %q time %v extra %q", zr.Name, zr.Comment, zr.ModTime, zr.Extra)
	}
	if data[4] != 0 || data[5] != 0 || data[6] != 0 || data[7] != 0 {
		t.Errorf("gzip MTIME bytes %x, want zero", data[4:8])
	}
	tr := tar.NewReader(zr)
	var b strings.Builder
	prev := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d/%d %q/%q, want 0/0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if h.Name <= prev {
			t.Errorf("%s after %s: members not sorted", h.Name, prev)
		}
		prev = h.Name
		if len(h.PAXRecords) != 0 || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: extra records %v atime %v ctime %v", h.Name, h.PAXRecords, h.AccessTime, h.ChangeTime)
		}
		fmt.Fprintf(&b, "%c %04o %s %7d %s\n", h.Typeflag, h.Mode, h.ModTime.UTC().Format(time.RFC3339), h.Size, h.Name)
	}
	return b.String()
}

// TestArchiveExtractsWithGNUTar unpacks the .tar.gz with the system's tar and checks it
// with sha256sum -c.
func TestArchiveExtractsWithGNUTar(t *testing.T) {
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
	res, err := Package(kit, t.TempDir(), PackageOptions{IncludeBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := runCmd(t, ".", nil, "tar", "--version"); !strings.Contains(out, "GNU tar") {
		t.Skip("tar is not GNU tar")
	}
	dest := t.TempDir()
	if out, code := runCmd(t, dest, nil, "tar", "-xzf", res.TarGz.Path); code != 0 {
		t.Fatalf("tar -xzf: exit %d\n%s", code, out)
	}
	kitDir := filepath.Join(dest, "demo-recovery-kit")
	if out, code := runCmd(t, kitDir, nil, "sha256sum", "-c", SumsFile); code != 0 {
		t.Fatalf("sha256sum -c: exit %d\n%s", code, out)
	} else if strings.Count(out, ": OK") != 11 {
		t.Errorf("sha256sum -c checked %d files, want 11:\n%s", strings.Count(out, ": OK"), out)
	}
	if got, want := tree(t, kitDir), tree(t, res.Dir); got != want {
		t.Errorf("extracted tree:\n%s\nwritten tree:\n%s", got, want)
	}
	out, code := runCmd(t, ".", append(os.Environ(), "TZ=UTC"), "tar", "-tvzf", res.TarGz.Path)
	if code != 0 || !strings.Contains(out, "2000-01-01 00:00") {
		t.Errorf("tar -tv: exit %d, want members dated 2000-01-01 (the default epoch):\n%s", code, out)
	}
}

func TestPackageRefusesExistingArchives(t *testing.T) {
	for _, suffix := range []string{"", ".tar.gz", ".run"} {
		parent := t.TempDir()
		p := filepath.Join(parent, "demo-recovery-kit"+suffix)
		if err := os.WriteFile(p, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Package(demoKit(), parent, PackageOptions{})
		if err == nil || !strings.Contains(err.Error(), p+": already exists") {
			t.Errorf("%s existing: err = %v", suffix, err)
		}
		if got := entries(t, parent); len(got) != 1 {
			t.Errorf("%s existing: parent holds %v", suffix, got)
		}
		res, err := Package(demoKit(), parent, PackageOptions{Force: true})
		if err != nil {
			t.Fatalf("%s existing, force: %v", suffix, err)
		}
		if got := entries(t, parent); strings.Join(got, " ") != "demo-recovery-kit demo-recovery-kit.run demo-recovery-kit.tar.gz" {
			t.Errorf("after --force parent holds %v", got)
		}
		if res.Files != 10 || res.DirSize == 0 {
			t.Errorf("result %+v", res)
		}
	}
}

func TestPackageRemovesEverythingOnError(t *testing.T) {
	parent := t.TempDir()
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_x.db": "snap"})
	kit.Inventory.Backup.Files[0].SHA256 = strings.Repeat("2", 64)
	if _, err := Package(kit, parent, PackageOptions{IncludeBackup: true}); err == nil {
		t.Fatal("a backup file with the wrong digest was packaged")
	}
	if got := entries(t, parent); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	// An output directory that Package created is removed again.
	newParent := filepath.Join(parent, "kits")
	if _, err := Package(kit, newParent, PackageOptions{IncludeBackup: true}); err == nil {
		t.Fatal("a backup file with the wrong digest was packaged")
	}
	if got := entries(t, parent); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	if _, err := WriteKit(kit, newParent, WriteOptions{IncludeBackup: true}); err == nil {
		t.Fatal("a backup file with the wrong digest was written")
	}
	if got := entries(t, parent); len(got) != 0 {
		t.Errorf("WriteKit left behind: %v", got)
	}
}

// TestLongNames packages a host whose node name is long enough that its paths need
// PAX records; GNU tar, sha256sum -c, the .run and OpenKit all handle them.
func TestLongNames(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + ".example"
	kit := demoKit()
	kit.Files = append(kit.Files, renderFile("hosts/"+long+"/restart-kubelet.sh", "#!/usr/bin/env bash\necho long\n"))
	res, err := Package(kit, t.TempDir(), PackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if out, code := runCmd(t, dest, nil, "tar", "-xzf", res.TarGz.Path); code != 0 {
		t.Fatalf("tar -xzf: exit %d\n%s", code, out)
	}
	if out, code := runCmd(t, filepath.Join(dest, "demo-recovery-kit"), nil, "sha256sum", "-c", "--quiet", SumsFile); code != 0 {
		t.Fatalf("sha256sum -c: exit %d\n%s", code, out)
	}
	if out, code := runCmd(t, dest, nil, "bash", res.Run.Path, "--extract", filepath.Join(dest, "via-run")); code != 0 {
		t.Fatalf(".run --extract: exit %d\n%s", code, out)
	}
	o, err := OpenKit(res.Run.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := os.Stat(filepath.Join(o.Dir, "hosts", long, "restart-kubelet.sh")); err != nil {
		t.Error(err)
	}
}
