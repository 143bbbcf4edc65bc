// Package render turns a validated inventory into a recovery kit in memory. It owns the
// procedure profiles (each release's procedure as ordered, typed steps), the Plan that
// resolves a profile against an inventory, and every kit file rendered from the Plan:
// per-host scripts and their shared library, the coordinator, the runbook, the
// normalized inventory and kit.json.
package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/procedures"
	"github.com/restorekit/restorekit/templates"
)

// File is one file of a kit, named by its slash-separated path inside the kit directory.
type File struct {
	Name string
	Mode fs.FileMode
	Data []byte
	// Template is the template the file was rendered from ("" for generated data files).
	Template string
	// Runs says where a script runs (RunsOnHost, RunsOnWorkstation; "" for other files).
	Runs string
	// Library is true for a script that other scripts source rather than run;
	// Sources are the kit paths of the libraries a script sources.
	Library bool
	Sources []string
}

// Where a kit script runs.
const (
	RunsOnHost        = "host"
	RunsOnWorkstation = "workstation"
)

// IsScript reports whether the file is a shell script of the kit.
func (f File) IsScript() bool { return strings.HasSuffix(f.Name, ".sh") }

// Kit is a rendered recovery kit: its files sorted by name.
type Kit struct {
	// Name is the kit directory name, "<cluster>-recovery-kit".
	Name      string
	Files     []File
	Inventory *inventory.Inventory
	Profile   *Profile
	Plan      *Plan
}

// File returns the kit file with the given name, or nil.
func (k *Kit) File(name string) *File {
	for i := range k.Files {
		if k.Files[i].Name == name {
			return &k.Files[i]
		}
	}
	return nil
}

// Options tune rendering.
type Options struct {
	// Templates replaces the embedded templates (restorekit render --templates DIR).
	Templates fs.FS
	// ToolVersion is recorded in kit.json and the script headers.
	ToolVersion string
}

// KitName is the directory name of the kit for a cluster.
func KitName(cluster string) string { return cluster + "-recovery-kit" }

// Data is what every template sees.
type Data struct {
	Inv         *inventory.Inventory
	Profile     *Profile
	Plan        *Plan
	Paths       HostPaths
	KitName     string
	ToolVersion string
	// Host is the host a per-host script is rendered for (nil for kit-wide files).
	Host *Host
	// Step is the plan step a per-host script implements (nil for kit-wide files).
	Step *PlanStep
	// BackupFiles is the backup pair, snapshot first, with size and sha256 when known
	// (from backup.files) or only the names (from backup.snapshot/staticResources).
	BackupFiles []inventory.BackupFile
	// HostLib is the kit's shared host library (lib/host.sh): its path in the kit and
	// the sha256 every host script checks before sourcing it.
	HostLib HostLib
}

// HostLib is the kit's shared host library as the host scripts refer to it.
type HostLib struct {
	Path   string
	SHA256 string
}

// HostLibPath is where the shared host library is in a kit, and (under
// restorekit/<kit>/) on each host.
const HostLibPath = "lib/host.sh"

// SSHConfigPath is the kit's ssh_config: one Host block per master, named by its node
// name, used by recover.sh and in the RUNBOOK as ssh -F ssh_config <node>.
const SSHConfigPath = "ssh_config"

// Host is a host of the kit as a template sees it.
type Host struct {
	inventory.Master
	// Index is the host's place in the inventory (the coordinator's host tables).
	Index      int
	IsRecovery bool
	// IsWorker is true for a worker node (a host only of the steps on every node).
	IsWorker bool
	// Steps are the plan's host steps this host runs, in running order: one script each.
	Steps []PlanStep
	SSH   inventory.SSH
	// AcceptedHostnames are what `hostname` may print on this host: the expected
	// hostname and, when that is a fully qualified name whose first label no other
	// master shares (in any case), that first label.
	AcceptedHostnames []string
}

// RunOrder are the host's scripts of a normal run, in running order (not those of
// troubleshooting steps, which run only when asked for).
func (h *Host) RunOrder() []string {
	var names []string
	for _, s := range h.Steps {
		if !s.Manual {
			names = append(names, s.ScriptName())
		}
	}
	return names
}

// Troubleshooting are the host's scripts of troubleshooting steps.
func (h *Host) Troubleshooting() []string {
	var names []string
	for _, s := range h.Steps {
		if s.Manual {
			names = append(names, s.ScriptName())
		}
	}
	return names
}

// ScriptNames are the host's scripts, in running order.
func (h *Host) ScriptNames() []string {
	var names []string
	for _, s := range h.Steps {
		names = append(names, s.ScriptName())
	}
	return names
}

// HostPaths are the absolute paths the procedure touches on a master.
type HostPaths struct {
	Manifests          string // /etc/kubernetes/manifests
	StaticPodResources string // /etc/kubernetes/static-pod-resources
	EtcdData           string // /var/lib/etcd
	EtcdBackup         string // /var/lib/etcd-backup (cluster-restore.sh's copy of the old data)
	ClusterRestore     string // /usr/local/bin/cluster-restore.sh
	// StoppedManifests is where cluster-restore.sh moves the static pod manifests it
	// stops; it overwrites what an earlier run left there.
	StoppedManifests string // /home/core/assets/manifests-stopped
	// Bin is where the etcd operator installs its scripts on a 4.18+ host
	// (disable-etcd.sh, cluster-restore.sh).
	Bin string // /usr/local/bin
	// OC is the host's own oc, which the 4.16 procedure runs on the recovery host.
	OC string // /usr/bin/oc
}

// hostPaths are the real paths; tests in this package render with copies that point
// into a fake root.
var hostPaths = HostPaths{
	Manifests:          "/etc/kubernetes/manifests",
	StaticPodResources: "/etc/kubernetes/static-pod-resources",
	EtcdData:           "/var/lib/etcd",
	EtcdBackup:         "/var/lib/etcd-backup",
	ClusterRestore:     "/usr/local/bin/cluster-restore.sh",
	StoppedManifests:   "/home/core/assets/manifests-stopped",
	Bin:                "/usr/local/bin",
	OC:                 "/usr/bin/oc",
}

// RealHostPaths are the paths on a control-plane host that the kit's scripts touch, for
// the stages that judge the scripts (lint).
func RealHostPaths() HostPaths { return hostPaths }

// Render renders the kit for a validated inventory.
func Render(inv *inventory.Inventory, opts Options) (*Kit, error) {
	return render(inv, opts, hostPaths)
}

// render is Render with the host paths the scripts touch; tests point them into a fake root.
func render(inv *inventory.Inventory, opts Options, paths HostPaths) (*Kit, error) {
	if problems := Check(inv); len(problems) > 0 {
		return nil, &inventory.Error{Problems: problems}
	}
	profile, err := ProfileFor(inv.Cluster.Version)
	if err != nil {
		return nil, err
	}
	plan, err := NewPlan(profile, inv)
	if err != nil {
		return nil, err
	}
	backupFiles, err := backupPair(inv.Backup)
	if err != nil {
		return nil, err
	}
	tmpl, err := loadTemplates(opts.Templates)
	if err != nil {
		return nil, err
	}
	kit := &Kit{Name: KitName(inv.Cluster.Name), Inventory: inv, Profile: profile, Plan: plan}
	base := Data{Inv: inv, Profile: profile, Plan: plan, Paths: paths, KitName: kit.Name, ToolVersion: opts.ToolVersion, BackupFiles: backupFiles}

	lib, err := execute(tmpl, HostLibPath+".tmpl", HostLibPath, base)
	if err != nil {
		return nil, err
	}
	lib.Runs, lib.Library, lib.Mode = RunsOnHost, true, 0o644
	kit.Files = append(kit.Files, lib)
	base.HostLib = HostLib{Path: HostLibPath, SHA256: sha256Hex(lib.Data)}

	for _, name := range []string{"RUNBOOK.md", "recover.sh", "redeploy.sh", SSHConfigPath} {
		if name == "redeploy.sh" && len(plan.Tail()) == 0 {
			continue // a plan without oc-only steps after the restore (4.16) has no tail to run alone
		}
		f, err := execute(tmpl, name+".tmpl", name, base)
		if err != nil {
			return nil, err
		}
		if f.IsScript() {
			f.Runs = RunsOnWorkstation
		}
		kit.Files = append(kit.Files, f)
	}
	for _, host := range plan.Hosts {
		for i := range host.Steps {
			d := base
			d.Host, d.Step = host, &host.Steps[i]
			f, err := execute(tmpl, d.Step.Template(), path.Join("hosts", host.Name, d.Step.ScriptName()), d)
			if err != nil {
				return nil, err
			}
			f.Runs, f.Sources = RunsOnHost, []string{HostLibPath}
			kit.Files = append(kit.Files, f)
		}
	}

	norm, err := normalizedInventory(inv)
	if err != nil {
		return nil, err
	}
	kit.Files = append(kit.Files, File{Name: "inventory.yaml", Mode: 0o644, Data: norm})
	page, err := fs.ReadFile(procedures.FS, profile.Page)
	if err != nil {
		return nil, fmt.Errorf("profile %s: its procedure page: %w", profile.Name, err)
	}
	kit.Files = append(kit.Files, File{Name: profile.KitPage(), Mode: 0o644, Data: page})
	sortFiles(kit.Files)

	manifest, err := kitManifest(kit, norm, opts.ToolVersion)
	if err != nil {
		return nil, err
	}
	kit.Files = append(kit.Files, File{Name: "kit.json", Mode: 0o644, Data: manifest})
	sortFiles(kit.Files)
	return kit, nil
}

// normalizedInventory is the kit's inventory.yaml: every default spelled out and the
// backup recorded by name, size and digest. backup.localDir is left out: it is a path
// on the machine that built the kit, and the kit must be the same wherever it is built.
func normalizedInventory(inv *inventory.Inventory) ([]byte, error) {
	norm := *inv
	norm.Backup.LocalDir = ""
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&norm); err != nil {
		return nil, fmt.Errorf("normalized inventory: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("normalized inventory: %w", err)
	}
	return buf.Bytes(), nil
}

func sortFiles(files []File) {
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
}

// embedded are the embedded templates, parsed once: a parsed template set is safe to
// execute concurrently and never changes.
var embedded struct {
	once sync.Once
	tmpl *template.Template
	err  error
}

// loadTemplates parses tfs, or the embedded templates when tfs is nil.
func loadTemplates(tfs fs.FS) (*template.Template, error) {
	if tfs != nil {
		return parseTemplates(tfs)
	}
	embedded.once.Do(func() { embedded.tmpl, embedded.err = parseTemplates(templates.FS) })
	return embedded.tmpl, embedded.err
}

// parseTemplates loads every *.tmpl of the FS, each named by its path.
func parseTemplates(tfs fs.FS) (*template.Template, error) {
	root := template.New("").Option("missingkey=error")
	fm := FuncMap()
	// include executes a template chosen at render time (the implementation of a step's
	// kind), which the template action cannot name.
	fm["include"] = func(name string, data any) (string, error) {
		if root.Lookup(name) == nil {
			return "", fmt.Errorf("include: no template %s", name)
		}
		var b bytes.Buffer
		err := root.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	root.Funcs(fm)
	err := fs.WalkDir(tfs, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return nil
		}
		src, err := fs.ReadFile(tfs, p)
		if err != nil {
			return err
		}
		_, err = root.New(p).Parse(string(src))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return root, nil
}

// execute renders one template into a kit file; scripts are put in canonical form.
func execute(t *template.Template, tmplName, fileName string, d Data) (File, error) {
	if t.Lookup(tmplName) == nil {
		return File{}, fmt.Errorf("templates: %s: not found (every kit needs it)", tmplName)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmplName, d); err != nil {
		return File{}, err // text/template errors already name the template file and line
	}
	f := File{Name: fileName, Mode: 0o644, Data: buf.Bytes(), Template: tmplName}
	if f.IsScript() {
		formatted, err := Format(tmplName, f.Data)
		if err != nil {
			return File{}, fmt.Errorf("%w (rendered from %s for %s: a template bug)", err, tmplName, fileName)
		}
		f.Data, f.Mode = formatted, 0o755
	}
	return f, nil
}

// Facts are what the kit knows of the cluster without asking it: recover.sh
// --api-unavailable takes them instead of the live cluster's, and kit.json records
// them, with where and when they were read.
type Facts struct {
	Release string `json:"release"`
	// ReleaseFrom says where the release was read: the backup snapshot (when the kit
	// was built with it at hand) or only the inventory.
	ReleaseFrom string `json:"releaseFrom"`
	// ReadAt is when the snapshot the release was read from was taken (its newest
	// object), "" when only the inventory said it.
	ReadAt            string   `json:"readAt,omitempty"`
	HTTPProxy         string   `json:"httpProxy"`
	HTTPSProxy        string   `json:"httpsProxy"`
	NoProxy           string   `json:"noProxy"`
	ControlPlaneNodes []string `json:"controlPlaneNodes"`
	ProxyAndNodesFrom string   `json:"proxyAndNodesFrom"`
}

// Facts are the kit's facts of the cluster (see Facts).
func (d Data) Facts() Facts { return kitFacts(d.Inv) }

func kitFacts(inv *inventory.Inventory) Facts {
	f := Facts{Release: inv.Cluster.Version, ReleaseFrom: "inventory cluster.version", ProxyAndNodesFrom: "inventory proxy and masters[].name",
		ControlPlaneNodes: []string{}}
	if r := inv.Backup.SnapshotRelease; r != nil && r.Version == inv.Cluster.Version {
		f.ReleaseFrom = "backup snapshot " + inv.Backup.Snapshot + " (ClusterVersion history: " + r.State + ")"
		f.ReadAt = r.NewestObjectTime
	}
	if p := inv.Proxy; p != nil {
		f.HTTPProxy, f.HTTPSProxy, f.NoProxy = p.HTTPProxy, p.HTTPSProxy, p.NoProxy
	}
	for _, m := range inv.Masters {
		f.ControlPlaneNodes = append(f.ControlPlaneNodes, m.Name)
	}
	return f
}

// Source says in words where the facts come from, for recover.sh's messages.
func (f Facts) Source() string {
	s := "release from the " + f.ReleaseFrom
	if f.ReadAt != "" {
		s += ", taken at " + f.ReadAt
	}
	return s + "; proxy and nodes from the " + f.ProxyAndNodesFrom
}

// stepEntry is one step of the plan in kit.json.
type stepEntry struct {
	ID        string   `json:"id"`
	Procedure string   `json:"procedure"`
	Title     string   `json:"title"`
	Where     string   `json:"where"`
	How       string   `json:"how,omitempty"`
	Hosts     []string `json:"hosts,omitempty"`
	When      string   `json:"when,omitempty"`
	Changes   bool     `json:"changes"`
	Timeout   string   `json:"timeout,omitempty"`
	Usually   string   `json:"usually,omitempty"`
	OnlyAlone bool     `json:"onlyAlone,omitempty"`
}

func (p *Plan) manifestSteps() []stepEntry {
	out := []stepEntry{}
	for _, s := range p.Steps {
		e := stepEntry{ID: s.ID, Procedure: s.Number, Title: s.Title, Where: s.Where.String(), Hosts: s.HostNames(p),
			When: s.When.Probe, Changes: s.Changes, OnlyAlone: s.Manual, Usually: s.UsuallyText()}
		if len(s.HostIndexes) > 1 {
			e.How = s.How.String()
		}
		if s.Timeout != "" {
			e.Timeout = fmt.Sprintf("timeouts.%s=%s", s.Timeout, s.TimeoutValue)
		}
		out = append(out, e)
	}
	return out
}

// kitManifest is kit.json: what a reviewer needs to know about where the kit came from.
func kitManifest(kit *Kit, normalizedInventory []byte, toolVersion string) ([]byte, error) {
	type fileEntry struct {
		Name   string `json:"name"`
		Mode   string `json:"mode"`
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
	}
	type backupEntry struct {
		Name   string `json:"name"`
		Size   int64  `json:"size,omitempty"`
		SHA256 string `json:"sha256,omitempty"`
	}
	// snapshotRelease is the release read inside the snapshot (inventory backup.snapshotRelease):
	// facts of the snapshot, never of the machine that built the kit.
	type snapshotRelease struct {
		Version          string `json:"version"`
		State            string `json:"state"`
		CompletionTime   string `json:"completionTime,omitempty"`
		ReadFrom         string `json:"readFrom"`
		Revision         int64  `json:"revision"`
		NewestObjectTime string `json:"newestObjectTime,omitempty"`
	}
	inv := kit.Inventory
	m := struct {
		Kit             string        `json:"kit"`
		ToolVersion     string        `json:"toolVersion"`
		Profile         string        `json:"profile"`
		Cluster         string        `json:"cluster"`
		Version         string        `json:"version"`
		RecoveryHost    string        `json:"recoveryHost"`
		InventorySHA256 string        `json:"inventorySha256"`
		Backup          []backupEntry `json:"backup"`
		// SnapshotRelease is absent when the snapshot was not read (no backup.localDir).
		SnapshotRelease *snapshotRelease `json:"snapshotRelease,omitempty"`
		RemoteDir       string           `json:"remoteDir"`
		Procedure       string           `json:"procedure"`
		Facts           Facts            `json:"facts"`
		Steps           []stepEntry      `json:"steps"`
		Files           []fileEntry      `json:"files"`
	}{
		Kit: kit.Name, ToolVersion: toolVersion, Profile: kit.Profile.Name, Procedure: kit.Profile.KitPage(),
		Steps: kit.Plan.manifestSteps(), Facts: kitFacts(inv),
		Cluster: inv.Cluster.Name, Version: inv.Cluster.Version, RecoveryHost: inv.RecoveryHost,
		InventorySHA256: sha256Hex(normalizedInventory), RemoteDir: inv.Backup.RemoteDir,
		Backup: []backupEntry{}, Files: []fileEntry{},
	}
	if len(inv.Backup.Files) > 0 {
		for _, b := range inv.Backup.Files {
			m.Backup = append(m.Backup, backupEntry{Name: b.Name, Size: b.Size, SHA256: b.SHA256})
		}
	} else {
		m.Backup = append(m.Backup, backupEntry{Name: inv.Backup.Snapshot}, backupEntry{Name: inv.Backup.StaticResources})
	}
	if r := inv.Backup.SnapshotRelease; r != nil {
		m.SnapshotRelease = &snapshotRelease{Version: r.Version, State: r.State, CompletionTime: r.CompletionTime,
			ReadFrom: inv.Backup.Snapshot, Revision: r.Revision, NewestObjectTime: r.NewestObjectTime}
	}
	for _, f := range kit.Files {
		m.Files = append(m.Files, fileEntry{Name: f.Name, Mode: fmt.Sprintf("%04o", f.Mode.Perm()), Size: len(f.Data), SHA256: sha256Hex(f.Data)})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// backupPair lists the backup pair, snapshot first, from backup.files when recorded,
// else from the file names the inventory gives.
func backupPair(b inventory.Backup) ([]inventory.BackupFile, error) {
	var snap, static inventory.BackupFile
	if len(b.Files) > 0 {
		for _, f := range b.Files {
			switch {
			case strings.HasPrefix(f.Name, "snapshot_"):
				snap = f
			case strings.HasPrefix(f.Name, "static_kuberesources_"):
				static = f
			}
		}
	} else {
		snap.Name, static.Name = b.Snapshot, b.StaticResources
	}
	if snap.Name == "" || static.Name == "" {
		return nil, fmt.Errorf("backup: the backup pair is unknown (set backup.localDir, or backup.snapshot and backup.staticResources)")
	}
	snap.Path, static.Path = "", ""
	return []inventory.BackupFile{snap, static}, nil
}

// acceptedHostnames are the outputs of `hostname` that identify master m: its expected
// hostname, and the first label of it when that is a fully qualified name and no
// other master's expected hostname has the same first label in any case (so a host configured
// with a short hostname is still recognised, but never mistaken for another master).
func acceptedHostnames(inv *inventory.Inventory, m inventory.Master) []string {
	want := m.ExpectedHostname()
	out := []string{want}
	short, _, fqdn := strings.Cut(want, ".")
	if !fqdn || short == "" {
		return out
	}
	for _, o := range append(append([]inventory.Master{}, inv.Masters...), inv.Workers...) {
		if o.Name == m.Name {
			continue
		}
		if s, _, _ := strings.Cut(o.ExpectedHostname(), "."); strings.EqualFold(s, short) {
			return out
		}
	}
	return append(out, short)
}
