package out

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/render"
)

func mismatchStrings(ms []Mismatch) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Path+" "+m.Kind)
	}
	return strings.Join(s, "\n")
}

func TestVerifySumsAndCompare(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, dir string, kit *render.Kit)
		sums    string // mismatches from VerifySums, "path kind" per line
		compare string // mismatches from Compare
	}{
		{"intact", func(*testing.T, string, *render.Kit) {}, "", ""},
		{"changed file", func(t *testing.T, dir string, _ *render.Kit) {
			appendTo(t, filepath.Join(dir, "recover.sh"), "rm -rf /\n")
		}, "recover.sh changed", "recover.sh changed"},
		{"missing file", func(t *testing.T, dir string, _ *render.Kit) {
			os.Remove(filepath.Join(dir, "hosts/m2.demo.example/stop-static-pods.sh"))
		}, "hosts/m2.demo.example/stop-static-pods.sh missing", "hosts/m2.demo.example/stop-static-pods.sh missing"},
		{"extra file", func(t *testing.T, dir string, _ *render.Kit) {
			os.WriteFile(filepath.Join(dir, "hosts/m1.demo.example/extra.sh"), []byte("echo\n"), 0o755)
		}, "hosts/m1.demo.example/extra.sh unlisted", "hosts/m1.demo.example/extra.sh extra"},
		{"script differs from what the inventory renders", func(t *testing.T, dir string, kit *render.Kit) {
			f := kit.File("hosts/m1.demo.example/restore.sh")
			f.Data = append(append([]byte(nil), f.Data...), "echo one more step\n"...)
		}, "", "hosts/m1.demo.example/restore.sh changed"},
		{"script lost its executable bit", func(t *testing.T, dir string, _ *render.Kit) {
			os.Chmod(filepath.Join(dir, "recover.sh"), 0o644)
		}, "", "recover.sh changed"},
		{"listed file replaced by a directory", func(t *testing.T, dir string, _ *render.Kit) {
			os.Remove(filepath.Join(dir, "RUNBOOK.md"))
			os.Mkdir(filepath.Join(dir, "RUNBOOK.md"), 0o755)
		}, "RUNBOOK.md changed", "RUNBOOK.md changed"},
		{"backup file changed", func(t *testing.T, dir string, _ *render.Kit) {
			appendTo(t, filepath.Join(dir, "backup/snapshot_x.db"), "more")
		}, "backup/snapshot_x.db changed", "backup/snapshot_x.db changed"},
		{"backup file the inventory does not record", func(t *testing.T, dir string, kit *render.Kit) {
			kit.Inventory.Backup.Files = kit.Inventory.Backup.Files[1:]
		}, "", "backup/snapshot_x.db extra"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kit := demoKit()
			withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
			dir, err := WriteKit(kit, t.TempDir(), WriteOptions{IncludeBackup: true})
			if err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, dir, kit)
			sums, bad, err := VerifySums(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := mismatchStrings(bad); got != tc.sums {
				t.Errorf("VerifySums: %q, want %q", got, tc.sums)
			}
			diff, err := Compare(kit, dir, sums)
			if err != nil {
				t.Fatal(err)
			}
			if got := mismatchStrings(diff); got != tc.compare {
				t.Errorf("Compare: %q, want %q (%v)", got, tc.compare, diff)
			}
		})
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

func TestParseSums(t *testing.T) {
	h := strings.Repeat("a", 64)
	for _, tc := range []struct {
		in  string
		err string
	}{
		{"", ""},
		{h + "  a.sh\n" + h + " *b/c.sh\n", ""},
		{h + " a.sh\n", "SHA256SUMS:1: not a"},
		{strings.Repeat("g", 64) + "  a.sh\n", "not a sha256"},
		{h + "  ../a.sh\n", "not a file of the kit"},
		{h + "  SHA256SUMS\n", "not a file of the kit"},
		{h + "  a.sh\n" + h + "  a.sh\n", "listed twice"},
	} {
		_, err := ParseSums([]byte(tc.in))
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseSums(%q) = %v, want error containing %q", tc.in, err, tc.err)
		}
	}
}

func TestOpenKit(t *testing.T) {
	kit := demoKit()
	withBackup(t, kit, map[string]string{"snapshot_x.db": "snap", "static_kuberesources_x.tar.gz": "static"})
	res, err := Package(kit, t.TempDir(), PackageOptions{IncludeBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, kind, payload string }{
		{res.Dir, "directory", ""}, {res.TarGz.Path, "tar.gz", ""}, {res.Run.Path, "run", res.TarGz.SHA256},
	} {
		p := tc.path
		o, err := OpenKit(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if o.Kind != tc.kind || o.PayloadSHA256 != tc.payload {
			t.Errorf("%s: kind %q payload %q, want %q %q", p, o.Kind, o.PayloadSHA256, tc.kind, tc.payload)
		}
		dir := o.Dir
		if got, want := tree(t, dir), tree(t, res.Dir); got != want {
			t.Errorf("%s opens as\n%s\nwant\n%s", p, got, want)
		}
		_, bad, err := VerifySums(dir)
		if err != nil || len(bad) != 0 {
			t.Errorf("%s: VerifySums: %v %v", p, bad, err)
		}
		o.Close()
		if p != res.Dir {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s: cleanup left %s", p, dir)
			}
		} else if _, err := os.Stat(dir); err != nil {
			t.Errorf("cleanup of a directory removed it: %v", err)
		}
	}

	// Damaged or foreign files are refused.
	runData, _ := os.ReadFile(res.Run.Path)
	tgzData, _ := os.ReadFile(res.TarGz.Path)
	damaged := append([]byte(nil), runData...)
	damaged[len(damaged)-30] ^= 1
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"damaged.run", damaged, "the file is damaged"},
		{"truncated.run", runData[:len(runData)-5], "truncated or changed"},
		{"truncated.tar.gz", tgzData[:len(tgzData)/2], "unexpected EOF"},
		{"inventory.yaml", []byte("cluster: {}\n"), "not a kit directory, .tar.gz or .run"},
		{"escape.tar.gz", tarGz(t, tar.Header{Name: "kit/", Typeflag: tar.TypeDir, Mode: 0o755}, tar.Header{Name: "kit/../../evil", Typeflag: tar.TypeReg, Mode: 0o644}), "not a clean relative path"},
		{"link.tar.gz", tarGz(t, tar.Header{Name: "kit/", Typeflag: tar.TypeDir, Mode: 0o755}, tar.Header{Name: "kit/l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), "not a regular file or directory"},
		{"two-tops.tar.gz", tarGz(t, tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, tar.Header{Name: "b/", Typeflag: tar.TypeDir, Mode: 0o755}), "outside the kit directory"},
	} {
		p := filepath.Join(t.TempDir(), tc.name)
		os.WriteFile(p, tc.data, 0o644)
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		_, err := OpenKit(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if got := entries(t, tmp); len(got) != 0 {
			t.Errorf("%s: left %v in TMPDIR", tc.name, got)
		}
	}
}

// tarGz makes a gzip-compressed tar of empty members.
func tarGz(t *testing.T, hdrs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}
