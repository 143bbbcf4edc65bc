package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/restorekit/restorekit/backup"
	"github.com/restorekit/restorekit/inventory"
)

func init() { subcommands = append(subcommands, newBackupCmd) }

func newBackupCmd(streams IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Look inside an etcd backup pair before the outage",
		Args:  argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newBackupInspectCmd(streams))
	return cmd
}

type backupInspectFlags struct {
	JSON bool
}

func newBackupInspectCmd(streams IOStreams) *cobra.Command {
	var fl backupInspectFlags
	cmd := &cobra.Command{
		Use:   "inspect DIR [--json]",
		Short: "Check the backup pair in DIR and print the release and nodes its snapshot holds",
		Long: `inspect finds the one backup pair in DIR (snapshot_<ts>.db and
static_kuberesources_<ts>.tar.gz, as cluster-backup.sh writes them) and checks it
without changing either file:

  - the snapshot: the sha256 that etcdctl snapshot save appends (the check the
    restore's etcdctl snapshot restore makes), and that it opens read-only as an etcd
    database; then the etcd revision, the ClusterVersion at that revision (desired
    release, newest history entries) and the Node objects, control plane first;
  - the archive: gzip and tar to the end, an etcd-pod-N revision with its
    restore-etcd-pod/pod.yaml, and the kube-apiserver, kube-controller-manager and
    kube-scheduler pod manifests cluster-restore.sh extracts.

validate and build make the same checks whenever backup.localDir is set, and refuse a
backup whose release is not cluster.version. --json prints the whole report as one
JSON object.

Exit status: 0 when the backup can be restored, 1 when it is refused or DIR holds no
single pair, 2 for a usage error.`,
		Example: `  restorekit backup inspect /srv/backups/ocp4
  restorekit backup inspect --json backup-3 | jq -r .snapshot.clusterVersion.history[0].version`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error { return runBackupInspect(streams, fl, args[0]) },
	}
	cmd.Flags().BoolVar(&fl.JSON, "json", false, "print the report as JSON")
	return cmd
}

// backupReport is what `backup inspect --json` prints.
type backupReport struct {
	Dir             string                  `json:"dir"`
	OK              bool                    `json:"ok"`
	Snapshot        *backup.Snapshot        `json:"snapshot"`
	StaticResources *backup.StaticResources `json:"staticResources"`
}

func runBackupInspect(streams IOStreams, fl backupInspectFlags, dir string) error {
	snap, static, err := inventory.FindBackupPair(dir)
	if err != nil {
		return failed(err)
	}
	r := backupReport{
		Dir:             dir,
		Snapshot:        backup.ReadSnapshot(filepath.Join(dir, snap)),
		StaticResources: backup.ReadStaticResources(filepath.Join(dir, static)),
	}
	if cv := r.Snapshot.ClusterVersion; cv != nil && len(cv.History) > 0 && cv.History[0].State != inventory.Completed {
		h := cv.History[0]
		r.Snapshot.Problems = append(r.Snapshot.Problems, fmt.Sprintf("taken while the cluster was updating to %s (the newest ClusterVersion history entry is %s, not %s): build refuses it; use a backup taken after the update completed", h.Version, h.State, inventory.Completed))
	}
	r.OK = !r.Snapshot.Refused() && !r.StaticResources.Refused()
	if fl.JSON {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		writeBackupReport(streams.Out, r)
	}
	for _, p := range r.Snapshot.Problems {
		fmt.Fprintf(streams.ErrOut, "%s: %s\n", filepath.Join(dir, snap), p)
	}
	for _, p := range r.StaticResources.Problems {
		fmt.Fprintf(streams.ErrOut, "%s: %s\n", filepath.Join(dir, static), p)
	}
	if !r.OK {
		return failed(errors.New(dir + ": the backup is refused (the problems are listed above)"))
	}
	return nil
}

func verdict(refused bool) string {
	if refused {
		return "refused"
	}
	return "ok"
}

// writeBackupReport prints the report for a person: every fact found, then the verdict.
func writeBackupReport(w io.Writer, r backupReport) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-15s%s\n", label, fmt.Sprintf(format, args...))
	}
	s := r.Snapshot
	fmt.Fprintf(w, "%s: %s\n", s.Name, verdict(s.Refused()))
	if s.SHA256 != "" {
		row("size:", "%s, sha256 %s", formatSize(s.Size), s.SHA256)
	}
	switch s.Integrity {
	case backup.IntegrityOK:
		row("integrity:", "ok (the sha256 etcdctl snapshot save appended matches)")
	case backup.IntegrityAbsent:
		row("integrity:", "no sha256 appended")
	case backup.IntegrityMismatch:
		row("integrity:", "damaged (the appended sha256 does not match)")
	case backup.IntegritySize:
		row("integrity:", "damaged (the size fits no snapshot)")
	}
	if s.TakenAt != "" || s.NewestObjectTime != "" {
		var when []string
		if s.TakenAt != "" {
			when = append(when, s.TakenAt+" (file name)")
		}
		if s.NewestObjectTime != "" {
			when = append(when, s.NewestObjectTime+" (newest object time)")
		}
		row("taken:", "%s", strings.Join(when, ", "))
	}
	if s.Revision > 0 {
		row("etcd revision:", "%d (%s)", s.Revision, countOf(int(s.Records), "record"))
	}
	if cv := s.ClusterVersion; cv != nil {
		row("release:", "%s (desired %s)", orUnknown(cv.Release()), orUnknown(cv.Desired))
		for i, h := range cv.History {
			label := ""
			if i == 0 {
				label = "history:"
			}
			done := "not completed"
			if h.CompletionTime != "" {
				done = "completed " + h.CompletionTime
			}
			row(label, "%s %s, started %s, %s", h.Version, h.State, orUnknown(h.StartedTime), done)
		}
	}
	var cp, others, unknown []string
	for _, n := range s.Nodes {
		switch {
		case !n.RolesKnown:
			unknown = append(unknown, n.Name)
		case n.ControlPlane():
			cp = append(cp, n.Name)
		default:
			others = append(others, n.Name)
		}
	}
	if len(cp) > 0 {
		row("control plane:", "%s", strings.Join(cp, ", "))
	}
	if len(others) > 0 {
		row("other nodes:", "%s", strings.Join(others, ", "))
	}
	if len(unknown) > 0 {
		row("nodes:", "%s (roles not readable)", strings.Join(unknown, ", "))
	}
	for _, n := range s.Notes {
		row("note:", "%s", n)
	}

	t := r.StaticResources
	fmt.Fprintf(w, "%s: %s\n", t.Name, verdict(t.Refused()))
	if t.SHA256 != "" {
		row("size:", "%s, sha256 %s, %s", formatSize(t.Size), t.SHA256, countOf(t.Members, "member"))
	}
	if t.EtcdPod != "" {
		row("etcd pod:", "%s", t.EtcdPod)
	}
	names := make([]string, 0, len(t.Extracted))
	for k := range t.Extracted {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		label := ""
		if i == 0 {
			label = "extracted:"
		}
		row(label, "%s", t.Extracted[k])
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
