package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRecover times recover.sh --yes against simulated clusters whose every delay
// is zero, so what remains is the coordinator's own cost: ssh, scp, the host scripts and
// oc calls. Reported per run: wall time (ns/op); waited-s, the seconds the coordinator and
// the host scripts slept waiting for the cluster (recorded by the sleep shims: the
// coordinator's plus, per host, that host's, the longest counted); overhead-s, wall time
// minus waited-s; and ssh-logins, sshd "Accepted publickey" lines on the masters
// (ControlMaster should keep it near one per master). Every run needs a fresh cluster:
// run with -benchtime=Nx.
func BenchmarkRecover(b *testing.B) {
	for _, n := range []int{3, 5} {
		b.Run(fmt.Sprintf("%d-masters", n), func(b *testing.B) {
			requireSim(b)
			var waited, overhead time.Duration
			var logins int
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
				w := sleptWaiting(c.Commands())
				waited += w
				overhead += r.Elapsed - w
				logins += c.AcceptedLogins()
				c.Close()
			}
			b.ReportMetric(waited.Seconds()/float64(b.N), "waited-s/op")
			b.ReportMetric(overhead.Seconds()/float64(b.N), "overhead-s/op")
			b.ReportMetric(float64(logins)/float64(b.N), "ssh-logins/op")
		})
	}
}

// sleptWaiting is how long a run slept waiting: the workstation's sleeps plus the most
// any one host slept (hosts wait in parallel, so their sleeps overlap).
func sleptWaiting(cmds []Command) time.Duration {
	per := map[string]time.Duration{}
	for _, c := range cmds {
		if c.Tool != "sleep" || len(c.Args) != 1 {
			continue
		}
		if s, err := strconv.ParseFloat(strings.TrimSuffix(c.Args[0], "s"), 64); err == nil {
			per[c.Host] += time.Duration(s * float64(time.Second))
		}
	}
	total := per["workstation"]
	var most time.Duration
	for h, d := range per {
		if h != "workstation" && d > most {
			most = d
		}
	}
	return total + most
}
