package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkRecover times recover.sh --yes against simulated clusters whose every delay
// is zero, so what remains is the coordinator's own cost: ssh, scp, the host scripts and
// oc calls. Reported per run: wall time (ns/op), polls (waits the cluster caused, each
// one poll interval), overhead-s (wall time minus those waits) and ssh-logins (sshd
// "Accepted publickey" lines on the masters: ControlMaster should keep it near one per
// master). Run with -benchtime=Nx: every run needs a fresh cluster.
func BenchmarkRecover(b *testing.B) {
	for _, n := range []int{3, 5} {
		b.Run(fmt.Sprintf("%d-masters", n), func(b *testing.B) {
			requireSim(b)
			var polls, logins int
			var overhead time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := NewCluster(b, ClusterConfig{Name: fmt.Sprintf("bench%d", n), Masters: n})
				k := c.BuildKit(KitOptions{})
				b.StartTimer()
				r := c.Run(k, "recover.sh", RunOptions{}, "--yes")
				b.StopTimer()
				if r.ExitCode != 0 {
					b.Fatalf("recover.sh --yes: %s", r)
				}
				p := countPolls(r.Output) + countHostPolls(k)
				polls += p
				overhead += r.Elapsed - time.Duration(p)*time.Second // pollInterval is 1s
				logins += c.AcceptedLogins()
				c.Close()
			}
			b.ReportMetric(float64(polls)/float64(b.N), "polls/op")
			b.ReportMetric(overhead.Seconds()/float64(b.N), "overhead-s/op")
			b.ReportMetric(float64(logins)/float64(b.N), "ssh-logins/op")
		})
	}
}

// countPolls counts the coordinator's "waiting (" progress lines: each is one poll
// interval spent waiting for the cluster.
func countPolls(out string) int { return strings.Count(out, "  waiting (") }

// countHostPolls counts the host scripts' "still waiting" lines in their own logs
// (fetched back by recover.sh): each is one poll interval on a host.
func countHostPolls(k *Kit) int {
	n := 0
	logs, _ := filepath.Glob(filepath.Join(k.Dir, ".recover-state", "remote-logs", "*"))
	for _, l := range logs {
		n += strings.Count(readFileOr(l), "still waiting, ")
	}
	return n
}
