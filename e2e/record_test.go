package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Command is one command a fake (or the mv recording shim) received.
type Command struct {
	Time time.Time
	Host string // node name, or "workstation" for oc
	Tool string
	Args []string
}

func (c Command) String() string {
	return fmt.Sprintf("%s %s %s %s", c.Time.Format("15:04:05.000000"), c.Host, c.Tool, strings.Join(c.Args, " "))
}

// Line is the command line as one string (tool and arguments).
func (c Command) Line() string { return strings.TrimSpace(c.Tool + " " + strings.Join(c.Args, " ")) }

// Commands merges every host's and the workstation's command log in time order.
func (c *Cluster) Commands() []Command {
	var all []Command
	logs := []string{filepath.Join(c.OCState, "commands.log")}
	for _, h := range c.Hosts {
		logs = append(logs, filepath.Join(h.State, "commands.log"))
	}
	for _, l := range logs {
		all = append(all, parseCommandLog(c.t, readFileOr(l))...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all
}

var wordParser = syntax.NewParser()

func parseCommandLog(t testing.TB, data string) []Command {
	var out []Command
	for _, line := range strings.Split(data, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			t.Errorf("bad command log line %q", line)
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			t.Errorf("bad time in %q: %v", line, err)
			continue
		}
		cmd := Command{Time: ts, Host: f[1], Tool: f[2]}
		for _, q := range f[3:] {
			cmd.Args = append(cmd.Args, unquoteWord(q))
		}
		out = append(out, cmd)
	}
	return out
}

// unquoteWord turns a bash word written by printf %q or syntax.Quote back into its value.
func unquoteWord(q string) string {
	f, err := wordParser.Parse(strings.NewReader("x "+q), "")
	if err != nil || len(f.Stmts) != 1 {
		return q
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) != 2 {
		return q
	}
	fields, err := expand.Fields(nil, call.Args[1])
	if err != nil || len(fields) != 1 {
		return q
	}
	return fields[0]
}

// Event is what the fake oc's model did or showed (events.log).
type Event struct {
	Time time.Time
	Text string
}

func (c *Cluster) Events() []Event {
	var out []Event
	for _, line := range strings.Split(readFileOr(filepath.Join(c.OCState, "events.log")), "\n") {
		ts, text, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		out = append(out, Event{tm, text})
	}
	return out
}

// filter returns the commands for which keep is true.
func filter(cmds []Command, keep func(Command) bool) []Command {
	var out []Command
	for _, c := range cmds {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func isKubeletRestart(c Command) bool {
	return c.Tool == "systemctl" && len(c.Args) >= 2 && c.Args[0] == "restart" && strings.TrimSuffix(c.Args[1], ".service") == "kubelet"
}

// movesOf lists the mv commands on a host whose source is path (with or without a
// trailing slash).
func movesOf(cmds []Command, h *Host, path string) []Command {
	return filter(cmds, func(c Command) bool {
		if c.Host != h.Name || c.Tool != "mv" {
			return false
		}
		for _, a := range c.Args[:max(len(c.Args)-1, 0)] {
			if strings.TrimSuffix(a, "/") == strings.TrimSuffix(path, "/") {
				return true
			}
		}
		return false
	})
}

// HostFiles maps the sha256 of every file on a host (its bind-mounted directories, the
// simulation's own state left out) to the paths holding it.
func (h *Host) HostFiles(t testing.TB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range boundDirs {
		for rel, sum := range treeSums(t, filepath.Join(h.Root, d)) {
			p := filepath.Join(d, rel)
			if strings.HasPrefix(p, simStateDir+"/") {
				continue
			}
			out[sum] = append(out[sum], "/"+p)
		}
	}
	return out
}

// assertNothingLost checks that every file the procedure may move is still on its host,
// byte for byte, and returns where each is.
func assertNothingLost(t *testing.T, c *Cluster) map[*Host]map[string][]string {
	t.Helper()
	where := map[*Host]map[string][]string{}
	for _, h := range c.Hosts {
		files := h.HostFiles(t)
		where[h] = map[string][]string{}
		for sum, orig := range h.Originals {
			if len(files[sum]) == 0 {
				t.Errorf("%s: /%s (sha256 %s…) is lost: no file on the host has its content", h.Hostname, orig, sum[:12])
			}
			where[h]["/"+orig] = files[sum]
		}
	}
	return where
}

// assertUnchanged checks that nothing changed on any host since the snapshot.
func assertUnchanged(t *testing.T, c *Cluster, before map[*Host]map[string]string, ignore ...string) {
	t.Helper()
	after := snapshotHosts(t, c)
	ignored := func(p string) bool {
		for _, i := range ignore {
			if strings.HasPrefix(p, i) {
				return true
			}
		}
		return false
	}
	for _, h := range c.Hosts {
		for p, sum := range before[h] {
			if after[h][p] != sum && !ignored(p) {
				t.Errorf("%s: %s changed or went away", h.Hostname, p)
			}
		}
		for p := range after[h] {
			if _, ok := before[h][p]; !ok && !ignored(p) {
				t.Errorf("%s: %s appeared", h.Hostname, p)
			}
		}
	}
}

// snapshotHosts records path → sha256 of every file on every host.
func snapshotHosts(t *testing.T, c *Cluster) map[*Host]map[string]string {
	t.Helper()
	out := map[*Host]map[string]string{}
	for _, h := range c.Nodes() {
		out[h] = map[string]string{}
		for sum, paths := range h.HostFiles(t) {
			for _, p := range paths {
				out[h][p] = sum
			}
		}
	}
	return out
}
