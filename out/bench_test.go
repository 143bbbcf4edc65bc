package out

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// BenchmarkBuildProcess times the whole `restorekit build` process for each example
// inventory (ShellCheck off: its cost is the lint benchmarks' subject) and reports the
// median wall time and the sizes of what it writes.
func BenchmarkBuildProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "restorekit")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/restorekit").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, ex := range []struct{ name, file string }{
		{"three-masters", "three-masters.yaml"},
		{"five-masters", "five-masters-proxy-jumphost.yaml"},
	} {
		b.Run(ex.name, func(b *testing.B) {
			inv, err := filepath.Abs(filepath.Join("..", "examples", ex.file))
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			var times []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				cmd := exec.Command(bin, "build", "-i", inv, "-o", dir, "--force", "--shellcheck", "never")
				out, err := cmd.CombinedOutput()
				times = append(times, time.Since(start))
				if err != nil {
					b.Fatalf("restorekit build: %v\n%s", err, out)
				}
			}
			b.StopTimer()
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
			kits, err := filepath.Glob(filepath.Join(dir, "*-recovery-kit"))
			if err != nil || len(kits) != 1 {
				b.Fatalf("kit directory: %v %v", kits, err)
			}
			size, err := dirSize(kits[0])
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(size), "kit-bytes")
			for _, a := range []struct{ suffix, unit string }{{".tar.gz", "targz-bytes"}, {".run", "run-bytes"}} {
				fi, err := os.Stat(kits[0] + a.suffix)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(fi.Size()), a.unit)
			}
		})
	}
}

// BenchmarkIncludeBackupSparse packages a kit with --include-backup and a sparse
// snapshot of 64 MiB, then of 512 MiB: the copy into backup/, both archives and the
// checksums all stream, so bytes allocated per op and the peak RSS must not grow with
// the file. It reports B/op, the process's peak RSS after the sub-benchmark and how much
// that peak grew during it (getrusage ru_maxrss: 0 means no new peak).
func BenchmarkIncludeBackupSparse(b *testing.B) {
	for _, mib := range []int64{64, 512} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			kit := demoKit()
			src := b.TempDir()
			snap := filepath.Join(src, "snapshot_2020-08-04_184021.db")
			static := filepath.Join(src, "static_kuberesources_2020-08-04_184021.tar.gz")
			if err := sparseFile(snap, mib<<20); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(static, []byte("static resources"), 0o644); err != nil {
				b.Fatal(err)
			}
			for _, p := range []string{snap, static} {
				bf, err := describeFile(p)
				if err != nil {
					b.Fatal(err)
				}
				kit.Inventory.Backup.Files = append(kit.Inventory.Backup.Files, bf)
			}
			parent := b.TempDir()
			before := maxRSSKiB(b)
			b.ReportAllocs()
			b.SetBytes(mib << 20)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := Package(kit, parent, PackageOptions{IncludeBackup: true, Force: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if res.DirSize < mib<<20 {
					b.Fatalf("kit holds %d bytes, want at least %d", res.DirSize, mib<<20)
				}
				// Keep the disk from filling: only one kit at a time.
				os.RemoveAll(res.Dir)
				b.StartTimer()
			}
			b.StopTimer()
			after := maxRSSKiB(b)
			b.ReportMetric(float64(after)/1024, "peak-rss-MiB")
			b.ReportMetric(float64(after-before), "maxrss-delta-KiB")
		})
	}
}

// sparseFile creates a file of the given size that takes (almost) no disk space.
func sparseFile(p string, size int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// describeFile is what the inventory records for a backup file found on disk.
func describeFile(p string) (inventory.BackupFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return inventory.BackupFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return inventory.BackupFile{}, err
	}
	return inventory.BackupFile{Name: filepath.Base(p), Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Path: p}, nil
}

// maxRSSKiB is the process's peak resident set size so far (Linux reports KiB).
func maxRSSKiB(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Maxrss
}
