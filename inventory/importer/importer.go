// Package importer writes an inventory from what a live cluster says about itself:
// the output of `oc get nodes`, `oc get clusterversion`, `oc get proxy` and
// `oc get infrastructure`, captured as files or gathered by running oc.
package importer

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/restorekit/restorekit/inventory"
)

// Sources are the oc outputs an inventory is imported from. Infrastructure is
// optional: it names the cluster when Options.ClusterName does not, and gives the
// VIPs keepalived holds. Network is optional: it gives the network type. Without
// them the inventory leaves cluster.apiVIPs and cluster.networkType out, which a
// 4.16 kit needs.
type Sources struct {
	Nodes          Source
	ClusterVersion Source
	Proxy          Source
	Infrastructure *Source
	Network        *Source
}

// Options are what the oc outputs cannot say: the backup, how to reach the masters,
// and the choices a person makes.
type Options struct {
	// Output is the file the inventory will be written to ("-" for standard output);
	// BackupDir is written relative to its directory.
	Output string
	// BackupDir holds the backup pair, relative to the working directory or absolute.
	BackupDir          string
	AllowPossiblyDirty bool
	// ClusterName overrides the name taken from the infrastructure's API server URL.
	ClusterName string
	// RecoveryHost is the master to restore on; empty picks the first Ready one.
	RecoveryHost string
	// SSH holds the inventory-wide ssh settings; zero fields keep the defaults.
	SSH inventory.SSH
}

// Result is the imported inventory: the file's text, the inventory as validate
// loads it, and every warning.
type Result struct {
	YAML      []byte
	Inventory *inventory.Inventory
	Warnings  []inventory.Problem
}

// Error is every problem that keeps the import from writing an inventory: in the oc
// outputs, with file, line and JSON path, or in the options.
type Error struct {
	Problems []inventory.Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ProblemString(p))
	}
	return b.String()
}

// ProblemString formats a problem as inventory.Problem does, and one with an option
// (no line) as "--flag: message".
func ProblemString(p inventory.Problem) string {
	if p.Line == 0 {
		return p.File + ": " + p.Message
	}
	return p.String()
}

// flagProblem is a problem with an option, printed as "--flag: message".
func flagProblem(flag, format string, args ...any) inventory.Problem {
	return inventory.Problem{File: flag, Message: fmt.Sprintf(format, args...)}
}

// Import reads the oc outputs and writes the inventory they describe. The result
// has been loaded back through the inventory package, so it is valid as written;
// the warnings say what a person should look at.
func Import(src Sources, opts Options) (*Result, error) {
	r := &report{}
	var flags []inventory.Problem
	if opts.BackupDir == "" {
		flags = append(flags, flagProblem("--backup-dir", "required: the directory on this machine holding the backup pair (snapshot_<ts>.db and static_kuberesources_<ts>.tar.gz, as cluster-backup.sh wrote them)"))
	}

	d := data{Output: opts.Output, AllowPossiblyDirty: opts.AllowPossiblyDirty, SSH: opts.SSH}
	d.Sources = append(d.Sources, sourceLine{"nodes", src.Nodes.Name}, sourceLine{"clusterversion", src.ClusterVersion.Name}, sourceLine{"proxy", src.Proxy.Name})

	var infra infrastructure
	infraOK := false
	if src.Infrastructure != nil {
		d.Sources = append(d.Sources, sourceLine{"infrastructure", src.Infrastructure.Name})
		if s := r.parse(*src.Infrastructure); s != nil {
			infra, infraOK = readInfrastructure(s)
			d.Platform, d.Topology = infra.platform, infra.topology
			if infraOK {
				d.VIPsKnown, d.APIVIPs, d.IngressVIPs, d.VIPsWhy = true, infra.apiVIPs, infra.ingressVIPs, infra.vipsWhy
			}
		}
	}
	if src.Network != nil {
		d.Sources = append(d.Sources, sourceLine{"network", src.Network.Name})
		if s := r.parse(*src.Network); s != nil {
			d.NetworkType, _ = readNetwork(s)
		}
	}

	var masters []*node
	if s := r.parse(src.Nodes); s != nil {
		masters = d.readMasters(s, infra)
	}
	if s := r.parse(src.ClusterVersion); s != nil {
		if rel, ok := readRelease(s); ok {
			d.Version, d.Update = rel.version, rel.update
		}
	}
	if s := r.parse(src.Proxy); s != nil {
		d.Proxy, d.ProxyNotes, _ = readProxy(s)
	}

	switch {
	case opts.ClusterName != "":
		d.ClusterName, d.ClusterNameWhy = opts.ClusterName, "Given with --cluster-name."
		if !inventory.IsClusterName(opts.ClusterName) {
			flags = append(flags, flagProblem("--cluster-name", "%q is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)", opts.ClusterName))
		}
	case infraOK && infra.clusterName != "":
		d.ClusterName = infra.clusterName
		d.ClusterNameWhy = "Taken from the API server URL\n  # (api.<name>.<base domain>) in the infrastructure's status."
	case src.Infrastructure == nil:
		flags = append(flags, flagProblem("--cluster-name", "required without --infrastructure (a DNS-1123 label such as ocp4; it names the kit)"))
	}

	d.pickRecoveryHost(masters, opts.RecoveryHost, &flags)
	if len(r.problems) > 0 || len(flags) > 0 {
		return &Result{Warnings: r.warnings}, &Error{Problems: append(sortedProblems(r.problems), flags...)}
	}

	res, err := d.writeAndLoad(opts)
	if res != nil {
		res.Warnings = append(sortedProblems(r.warnings), res.Warnings...)
	}
	return res, err
}

// sortedProblems orders problems by source, in the order the sources were read, then
// by line.
func sortedProblems(ps []inventory.Problem) []inventory.Problem {
	order := map[string]int{}
	for _, p := range ps {
		if _, ok := order[p.File]; !ok {
			order[p.File] = len(order)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return order[a.File] < order[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ps
}

// readMasters finds the control-plane nodes and chooses their addresses.
func (d *data) readMasters(s *source, infra infrastructure) []*node {
	nodes := readNodes(s)
	var masters, workers []*node
	labels := map[string]bool{}
	for _, n := range nodes {
		if n.controlPlane {
			masters = append(masters, n)
			if n.worker {
				d.Compact = true
			}
			for _, l := range []string{labelMaster, labelControlPlane} {
				if n.v.get("metadata").get("labels").has(l) {
					labels[l] = true
				}
			}
		} else {
			workers = append(workers, n)
		}
	}
	switch items := s.top().get("items"); {
	case len(nodes) == 0 && len(s.r.problems) == 0:
		items.errorf("no nodes (capture every node with %s)", captureNodes)
		return nil
	case len(masters) == 0 && len(nodes) > 0:
		items.errorf("no control-plane node among %d nodes (none has the label %s or %s): capture every node with %s, not a filtered list", len(nodes), labelMaster, labelControlPlane, captureNodes)
		return nil
	case len(masters) == 1:
		why := ""
		if infra.topology == "SingleReplica" {
			why = ", and the infrastructure's controlPlaneTopology is SingleReplica"
		}
		masters[0].v.get("metadata").get("labels").errorf("%s is the only control-plane node%s: a single-node cluster is restored with another procedure, which restorekit does not cover (an inventory needs at least 2 masters)", masters[0].name, why)
		return nil
	}
	for _, l := range []string{labelMaster, labelControlPlane} {
		if labels[l] {
			d.MasterLabels = append(d.MasterLabels, l)
		}
	}
	pickAddresses(nodes, append(append([]*node{}, masters...), workers...))
	d.Workers = []masterData{}
	for _, w := range workers {
		if w.ready != "True" {
			w.v.get("metadata").get("name").warnf("worker node %s is not Ready (Ready condition %s%s): a 4.16 kit reaches every node over ssh, and it may not be reachable", w.name, w.ready, reasonSuffix(w.readyWhy))
		}
		md := masterData{Name: w.name, Address: w.address.ip, Hostname: w.hostname, Notes: []string{w.readyNote(), w.addressNote()}}
		if w.hostname != "" {
			md.Notes = append(md.Notes, "hostname: its Hostname address")
		}
		d.Workers = append(d.Workers, md)
	}
	for _, m := range masters {
		if m.ready != "True" {
			m.v.get("metadata").get("name").warnf("control-plane node %s is not Ready (Ready condition %s%s): it may not be reachable, and it is not chosen as the recovery host", m.name, m.ready, reasonSuffix(m.readyWhy))
		}
		md := masterData{Name: m.name, Address: m.address.ip, Hostname: m.hostname}
		ready := m.readyNote()
		if m.worker {
			ready += "; also a worker"
		}
		md.Notes = []string{ready, m.addressNote()}
		if m.hostname != "" {
			md.Notes = append(md.Notes, "hostname: its Hostname address")
		}
		d.Masters = append(d.Masters, md)
	}
	return masters
}

func reasonSuffix(why string) string {
	if why == "" {
		return ""
	}
	return ", " + why
}

func (n *node) readyNote() string {
	if n.ready == "True" {
		return "Ready when captured"
	}
	return fmt.Sprintf("NOT Ready when captured (Ready condition %s%s)", n.ready, reasonSuffix(n.readyWhy))
}

// pickRecoveryHost takes the one named, else the first Ready master in name order:
// a master that answers is the one to restore on, and name order makes the choice
// the same on every import.
func (d *data) pickRecoveryHost(masters []*node, want string, flags *[]inventory.Problem) {
	if want != "" {
		for _, m := range masters {
			if m.name == want {
				d.RecoveryHost = want
				d.RecoveryWhy = "Given with --recovery-host."
				if m.ready != "True" {
					d.RecoveryWhy = "Given with --recovery-host, though it was " + m.readyNote() + "."
				}
				return
			}
		}
		if len(masters) > 0 {
			var names []string
			for _, m := range masters {
				names = append(names, m.name)
			}
			*flags = append(*flags, flagProblem("--recovery-host", "%q is not a control-plane node (one of %s)", want, strings.Join(names, ", ")))
		}
		return
	}
	for _, m := range masters {
		if m.ready == "True" {
			d.RecoveryHost = m.name
			d.RecoveryWhy = "Chosen by the import: the first Ready control-plane node in name order."
			return
		}
	}
	if len(masters) > 0 {
		d.RecoveryHost = masters[0].name
		d.RecoveryWhy = "Chosen by the import: the first control-plane node in name order, as none was Ready."
		masters[0].v.get("metadata").get("name").warnf("no control-plane node is Ready: recoveryHost is %s, the first in name order (choose with --recovery-host)", masters[0].name)
	}
}

// data is what the inventory template writes.
type data struct {
	Output             string
	Sources            []sourceLine
	Platform, Topology string
	ClusterName        string
	ClusterNameWhy     string
	Version, Update    string
	BackupDir          string
	Snapshot           string
	StaticResources    string
	Files              []inventory.BackupFile
	AllowPossiblyDirty bool
	RecoveryHost       string
	RecoveryWhy        string
	MasterLabels       []string
	Masters            []masterData
	Compact            bool
	Workers            []masterData
	NetworkType        string
	VIPsKnown          bool
	APIVIPs            []string
	IngressVIPs        []string
	VIPsWhy            string
	SSH                inventory.SSH
	SSHUser            string
	Proxy              *inventory.Proxy
	ProxyNotes         []string
}

type sourceLine struct{ What, Name string }

type masterData struct {
	Name, Address, Hostname string
	Notes                   []string // comment lines
}

//go:embed inventory.yaml.tmpl
var inventoryTemplate string

var tmpl = template.Must(template.New("inventory.yaml.tmpl").Option("missingkey=error").Funcs(template.FuncMap{
	"y":    yamlScalar,
	"join": strings.Join,
	// opt writes a setting that was given, or the commented-out default.
	"opt": func(key string, v, def any) string {
		s := fmt.Sprint(v)
		if d, ok := v.(inventory.Duration); ok {
			s = d.String()
		}
		if s == "" || s == "0" || s == "0s" {
			return "  # " + key + ": " + fmt.Sprint(def)
		}
		return "  " + key + ": " + yamlScalar(s)
	},
}).Parse(inventoryTemplate))

// yamlScalar writes a value as YAML would, quoting only what needs it (a node name
// such as "true" or "0" stays text).
func yamlScalar(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return strings.TrimSuffix(string(b), "\n")
}

// render writes the inventory text.
func (d *data) render() []byte {
	if d.SSHUser = d.SSH.User; d.SSHUser == "" {
		d.SSHUser = inventory.DefaultSSHUser
	}
	if d.Output == "" || d.Output == "-" {
		d.Output = "inventory.yaml"
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		panic(err) // the template and its data are both this package's
	}
	return b.Bytes()
}

// writeAndLoad renders the inventory and loads it back as validate does: first with
// backup.localDir alone, which finds and digests the pair once, then with the pair
// recorded, read offline.
func (d *data) writeAndLoad(opts Options) (*Result, error) {
	name := opts.Output
	if name == "" {
		name = "-"
	}
	dir, err := backupDirFor(opts.Output, opts.BackupDir)
	if err != nil {
		return nil, &Error{Problems: []inventory.Problem{flagProblem("--backup-dir", "%s", err)}}
	}
	d.BackupDir = dir
	inv, _, err := inventory.Parse(name, d.render(), inventory.LoadOptions{})
	if err != nil {
		return nil, d.explain(err, opts)
	}
	d.Snapshot, d.StaticResources, d.Files = inv.Backup.Snapshot, inv.Backup.StaticResources, inv.Backup.Files
	scanned := inv.Backup.LocalDir
	text := d.render()
	inv, warnings, err := inventory.Parse(name, text, inventory.LoadOptions{Offline: true})
	if err != nil {
		return nil, d.explain(err, opts)
	}
	// Offline leaves localDir as written; the first load resolved it when it read it.
	inv.Backup.LocalDir = scanned
	return &Result{YAML: text, Inventory: inv, Warnings: warnings}, nil
}

// flagFields maps the inventory fields that options set to the options' names, so a
// problem with a value given on the command line names the flag.
var flagFields = map[string]string{
	"ssh.user": "--ssh-user", "ssh.port": "--ssh-port", "ssh.identityFile": "--identity-file",
	"ssh.jumpHost": "--jump-host", "ssh.knownHostsFile": "--known-hosts-file",
	"ssh.strictHostKeyChecking": "--strict-host-key-checking", "ssh.connectTimeout": "--connect-timeout",
	"cluster.name": "--cluster-name", "recoveryHost": "--recovery-host",
}

// explain turns the problems validate finds in the written inventory into problems
// with what they came from: a flag, or (for anything else) the inventory text.
func (d *data) explain(err error, opts Options) error {
	var ie *inventory.Error
	if !errors.As(err, &ie) {
		return err
	}
	var out []inventory.Problem
	for _, p := range ie.Problems {
		switch flag := flagFields[p.Field]; {
		case strings.HasPrefix(p.Field, "backup."):
			out = append(out, flagProblem("--backup-dir "+opts.BackupDir, "%s", p.Message))
		case flag != "":
			out = append(out, flagProblem(flag, "%s", p.Message))
		default:
			p.Message += " (in the inventory the import would write)"
			out = append(out, p)
		}
	}
	return &Error{Problems: out}
}

// backupDirFor writes the backup directory relative to the inventory file, as
// backup.localDir is read, when the two share a directory below the root; otherwise,
// and when it was given absolute, absolute.
func backupDirFor(output, backupDir string) (string, error) {
	if filepath.IsAbs(backupDir) || strings.HasPrefix(backupDir, "~") {
		return filepath.Clean(backupDir), nil
	}
	base := "."
	if output != "" && output != "-" {
		base = filepath.Dir(output)
	}
	absBase, err := filepath.Abs(base)
	if err != nil {
		return "", err
	}
	abs := filepathAbs(backupDir)
	rel, err := filepath.Rel(absBase, abs)
	if err != nil || topDir(absBase) != topDir(abs) {
		return abs, nil
	}
	return rel, nil
}

// topDir is the first directory of an absolute path: /work for /work/site/backup.
func topDir(p string) string {
	rest := strings.TrimPrefix(p, string(filepath.Separator))
	first, _, _ := strings.Cut(rest, string(filepath.Separator))
	return first
}

func filepathAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
