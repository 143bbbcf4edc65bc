package backup

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchDir holds the snapshots the benchmark makes once per run (TestMain removes it).
var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

var benchSnapshots sync.Map // size in MiB -> *benchSnapshot

type benchSnapshot struct {
	once sync.Once
	path string
}

// bigSnapshot is a real snapshot of an OpenShift-shaped etcd holding about mib MiB:
// the ClusterVersion, masters, and bulk objects of 64 KiB (as secrets and config maps
// of a busy cluster are), each written twice so old revisions are in it too.
func bigSnapshot(b *testing.B, mib int) string {
	v, _ := benchSnapshots.LoadOrStore(mib, &benchSnapshot{})
	bs := v.(*benchSnapshot)
	bs.once.Do(func() {
		if benchDir == "" {
			dir, err := os.MkdirTemp("", "restorekit-backup-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchDir = dir
		}
		start := time.Now()
		e := startEtcd(b)
		openshiftClusterBench(e)
		value := []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB
		for i := 0; i < mib*16/2; i++ {
			for round := 0; round < 2; round++ {
				e.put(fmt.Sprintf("/kubernetes.io/secrets/bulk/s-%06d", i), value)
			}
		}
		bs.path = e.snapshot(benchDir, fmt.Sprintf("snapshot_2020-08-04_%06d.db", mib))
		fi, _ := os.Stat(bs.path)
		b.Logf("made a %d MiB snapshot with etcd in %s", fi.Size()>>20, time.Since(start).Round(time.Second))
	})
	if bs.path == "" {
		b.Fatal("no snapshot (see the first run's failure)")
	}
	return bs.path
}

func openshiftClusterBench(e *etcdServer) {
	e.put(ClusterVersionKey, clusterVersionObject("4.5.2", history{"4.5.2", "Completed", "2020-08-04T17:00:00Z", "2020-08-04T17:50:00Z"}))
	for _, m := range masters {
		e.put(NodePrefix+m, nodeObject(m, "2020-08-04T18:39:00Z", "master"))
	}
}

// BenchmarkReadSnapshot reads snapshots of two sizes ten times apart: the time grows
// with the size (every byte is hashed, every record decoded), the memory kept does
// not. peak-live-heap-MiB is the most a GC found live while reading; peak-heap-MiB
// adds the decoded records not yet collected (bounded by the GC's pacing, not by the
// snapshot); peak-rss-MiB also counts the file pages bbolt's read-only mapping
// touched, which belong to the kernel's page cache.
func BenchmarkReadSnapshot(b *testing.B) {
	for _, mib := range []int{32, 320} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			path := bigSnapshot(b, mib)
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(fi.Size())
			var peakHeap, peakLive uint64
			var peakRSS int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runtime.GC()
				resetPeakRSS()
				stop := sampleHeap(&peakHeap, &peakLive)
				s := ReadSnapshot(path)
				stop()
				if rss := peakRSSKiB(); rss > peakRSS {
					peakRSS = rss
				}
				if len(s.Problems) != 0 || s.ClusterVersion.Release() != "4.5.2" {
					b.Fatalf("problems %q, release %q", s.Problems, s.ClusterVersion.Release())
				}
			}
			b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-heap-MiB")
			if peakRSS > 0 {
				b.ReportMetric(float64(peakRSS)/1024, "peak-rss-MiB")
			}
		})
	}
}

// sampleHeap records, every millisecond until stopped, the most heap memory held by
// objects (live, or dead and not yet swept) and the largest heap the last GC found
// live; runtime/metrics reads both without stopping the world.
func sampleHeap(peak, peakLive *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > *peak {
				*peak = v
			}
			if v := sample[1].Value.Uint64(); v > *peakLive {
				*peakLive = v
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// resetPeakRSS resets the kernel's high-water mark of this process's resident set.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSKiB is VmHWM from /proc/self/status, or 0 where there is none.
func peakRSSKiB() int64 {
	f, err := os.Open(filepath.Join("/proc", "self", "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
