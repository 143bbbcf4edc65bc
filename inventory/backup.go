package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/restorekit/restorekit/backup"
)

// PossiblyDirty is what cluster-backup.sh appends to the timestamp of both files when
// it finds the control plane mid-rollout.
const PossiblyDirty = "__POSSIBLY_DIRTY__"

// The names cluster-backup.sh gives the pair: <ts> is date "+%F_%H%M%S", optionally
// followed by __POSSIBLY_DIRTY__.
var (
	snapshotRe = regexp.MustCompile(`^snapshot_([0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{6}(?:` + PossiblyDirty + `)?)\.db$`)
	staticRe   = regexp.MustCompile(`^static_kuberesources_([0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{6}(?:` + PossiblyDirty + `)?)\.tar\.gz$`)
	sha256Re   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

const (
	snapshotHint = "snapshot_<ts>.db as cluster-backup.sh names it, e.g. snapshot_2020-08-04_184021.db"
	staticHint   = "static_kuberesources_<ts>.tar.gz as cluster-backup.sh names it, e.g. static_kuberesources_2020-08-04_184021.tar.gz"
	pairHint     = "one snapshot_<ts>.db and the static_kuberesources_<ts>.tar.gz taken with it"
)

// SnapshotTimestamp returns the <ts> of a snapshot file name (with __POSSIBLY_DIRTY__
// when present), or "" when the name is not one cluster-backup.sh writes.
func SnapshotTimestamp(name string) string {
	if m := snapshotRe.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// StaticResourcesTimestamp is SnapshotTimestamp for static_kuberesources_<ts>.tar.gz.
func StaticResourcesTimestamp(name string) string {
	if m := staticRe.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// PossiblyDirty reports whether the backup pair was taken mid-rollout.
func (b Backup) PossiblyDirty() bool {
	return strings.HasSuffix(SnapshotTimestamp(b.Snapshot), PossiblyDirty) ||
		strings.HasSuffix(StaticResourcesTimestamp(b.StaticResources), PossiblyDirty)
}

// openDir gives the backup scan its view of a directory; tests replace it to
// simulate what they cannot arrange on disk (a directory root can not read).
var openDir = func(dir string) fs.FS { return os.DirFS(dir) }

// checkBackup checks the backup pair: the names as written, the files recorded, and
// (unless offline) the pair found in localDir, which then becomes the record.
func (c *checker) checkBackup() {
	b := &c.inv.Backup
	nameOK := map[string]bool{}
	if c.ok("backup.snapshot") {
		if SnapshotTimestamp(b.Snapshot) == "" {
			c.errorf("backup.snapshot", "%q is not a snapshot name (%s)", b.Snapshot, snapshotHint)
		} else {
			nameOK["backup.snapshot"] = true
		}
	}
	if c.ok("backup.staticResources") {
		if StaticResourcesTimestamp(b.StaticResources) == "" {
			c.errorf("backup.staticResources", "%q is not a static resources archive name (%s)", b.StaticResources, staticHint)
		} else {
			nameOK["backup.staticResources"] = true
		}
	}
	recorded, filesOK := c.checkRecordedFiles()

	scan := c.ok("backup.localDir") && !c.opts.Offline
	source := "" // field the final names came from, for pair problems
	switch {
	case c.bad["backup.localDir"] || c.bad["backup.snapshot"] || c.bad["backup.staticResources"]:
		return
	case scan:
		found, ok := c.scanLocalDir()
		if !ok {
			return
		}
		c.compareFound(found, nameOK, filesOK)
		b.Snapshot, b.StaticResources, b.Files = found[0].Name, found[1].Name, found
		source = "backup.localDir"
		c.checkSnapshot()
	default:
		if !c.namesFromFiles(recorded) {
			return
		}
		if filesOK {
			b.Files = recorded
		}
		if SnapshotTimestamp(b.Snapshot) == "" || StaticResourcesTimestamp(b.StaticResources) == "" {
			return // reported above
		}
		if b.SnapshotRelease != nil && !c.bad["backup.snapshotRelease"] {
			c.checkRelease("backup.snapshotRelease.state", b.Snapshot)
		}
	}
	c.checkPair(source)
}

// checkRecordedFiles checks backup.files as written (a normalized inventory records
// them) and returns them as one well-formed pair, snapshot first, or ok false.
func (c *checker) checkRecordedFiles() (pair []BackupFile, ok bool) {
	if !c.has("backup.files") || c.bad["backup.files"] {
		return nil, false
	}
	files := c.inv.Backup.Files
	ok = true
	var snaps, statics int
	for i, f := range files {
		p := fmt.Sprintf("backup.files[%d]", i)
		if c.bad[p] {
			ok = false
			continue
		}
		switch {
		case c.missing(p + ".name"):
			c.errorf(p+".name", "missing (%s)", pairHint)
			ok = false
		case SnapshotTimestamp(f.Name) != "":
			snaps++
		case StaticResourcesTimestamp(f.Name) != "":
			statics++
		case c.ok(p + ".name"):
			c.errorf(p+".name", "%q is not a backup file name (snapshot_<ts>.db or static_kuberesources_<ts>.tar.gz)", f.Name)
			ok = false
		default:
			ok = false
		}
		switch {
		case c.missing(p + ".size"):
			c.errorf(p+".size", "missing (the file's size in bytes)")
			ok = false
		case c.ok(p+".size") && f.Size < 0:
			c.errorf(p+".size", "%d is negative (the file's size in bytes)", f.Size)
			ok = false
		case !c.ok(p + ".size"):
			ok = false
		}
		switch {
		case c.missing(p + ".sha256"):
			c.errorf(p+".sha256", "missing (the file's SHA-256 as 64 lowercase hex digits)")
			ok = false
		case c.ok(p+".sha256") && !sha256Re.MatchString(f.SHA256):
			c.errorf(p+".sha256", "%q is not a SHA-256 (64 lowercase hex digits, as sha256sum prints it)", f.SHA256)
			ok = false
		case !c.ok(p + ".sha256"):
			ok = false
		}
	}
	if ok && (len(files) != 2 || snaps != 1 || statics != 1) {
		c.errorf("backup.files", "%d files with %d snapshots and %d static resources archives (exactly %s)", len(files), snaps, statics, pairHint)
		ok = false
	}
	if !ok {
		return nil, false
	}
	pair = []BackupFile{files[0], files[1]}
	if SnapshotTimestamp(pair[0].Name) == "" {
		pair[0], pair[1] = pair[1], pair[0] // normalized order: snapshot first
	}
	return pair, true
}

// namesFromFiles completes or checks backup.snapshot/staticResources against the
// recorded files when localDir is not read; it reports whether the names are usable.
func (c *checker) namesFromFiles(recorded []BackupFile) bool {
	b := &c.inv.Backup
	why := "required when backup.localDir is not set"
	if c.opts.Offline && b.LocalDir != "" {
		why = "required offline, when backup.localDir is not read"
	}
	usable := true
	for _, n := range []struct {
		field string
		name  *string
		index int
		hint  string
	}{{"backup.snapshot", &b.Snapshot, 0, snapshotHint}, {"backup.staticResources", &b.StaticResources, 1, staticHint}} {
		switch {
		case *n.name == "" && recorded != nil:
			*n.name = recorded[n.index].Name
		case *n.name == "" && c.has("backup.files"):
			usable = false // backup.files is wrong: reported there
		case *n.name == "":
			c.errorf(n.field, "missing (%s; %s)", n.hint, why)
			usable = false
		case recorded != nil && c.ok(n.field) && *n.name != recorded[n.index].Name &&
			SnapshotTimestamp(*n.name)+StaticResourcesTimestamp(*n.name) != "":
			c.errorf(n.field, "%q is not the file recorded in backup.files (%s)", *n.name, recorded[n.index].Name)
			usable = false
		}
	}
	return usable
}

// checkPair checks that the two names belong to one clean backup.
func (c *checker) checkPair(source string) {
	b := &c.inv.Backup
	snapTS, staticTS := SnapshotTimestamp(b.Snapshot), StaticResourcesTimestamp(b.StaticResources)
	if snapTS != staticTS {
		if source != "" {
			c.errorf(source, "%s holds %s and %s, whose timestamps differ (%s)", c.dirShown, b.Snapshot, b.StaticResources, pairHint)
		} else {
			c.errorf("backup.staticResources", "timestamp %s differs from the snapshot's %s (%s)", staticTS, snapTS, pairHint)
		}
		return
	}
	if source == "" {
		source = "backup.snapshot"
	}
	if b.AllowPossiblyDirty && !b.PossiblyDirty() {
		c.warnf("backup.allowPossiblyDirty", "set, but this backup is clean (remove it, so that a later __POSSIBLY_DIRTY__ backup is not accepted unnoticed)")
	}
	if b.PossiblyDirty() {
		if b.AllowPossiblyDirty {
			c.warnf("backup.allowPossiblyDirty", "restoring %s, taken while the control plane was mid-rollout (%s): check every operator after the restore", b.Snapshot, PossiblyDirty)
		} else {
			c.errorf(source, "%s was taken while the control plane was mid-rollout (%s; take a clean backup, or set backup.allowPossiblyDirty: true to restore it anyway)", b.Snapshot, PossiblyDirty)
		}
	}
}

// localDirPath is backup.localDir resolved against the inventory file's directory
// (~/ is the home directory), as it is shown in messages (relative when the
// inventory's path is).
func (c *checker) localDirPath() string {
	dir := c.inv.Backup.LocalDir
	if rest, ok := strings.CutPrefix(dir, "~/"); ok || dir == "~" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return filepath.Join(filepath.Dir(c.file), dir)
}

// osMessage is an error's cause without the path it wraps ("permission denied").
func osMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// scanLocalDir finds the one backup pair in backup.localDir and digests it (with
// LoadOptions.ReadBackup, reads inside it in the same pass); found[0]
// is the snapshot, found[1] the static resources archive.
func (c *checker) scanLocalDir() (found []BackupFile, ok bool) {
	const field = "backup.localDir"
	dir := c.localDirPath()
	c.dirShown = dir
	snap, static, problems := findPair(dir)
	for _, p := range problems {
		c.errorf(field, "%s", p)
	}
	if len(problems) > 0 {
		return nil, false
	}
	fsys := openDir(dir)
	ok = true
	abs, err := filepath.Abs(dir)
	if err != nil {
		c.errorf(field, "cannot resolve %s: %s", dir, osMessage(err))
		return nil, false
	}
	for i, name := range []string{snap, static} {
		if c.opts.ReadBackup {
			size, sum, read := c.readInside(filepath.Join(dir, name), i == 0)
			ok = ok && read
			found = append(found, BackupFile{Name: name, Size: size, SHA256: sum, Path: filepath.Join(abs, name)})
			continue
		}
		size, sum, err := digest(fsys, name)
		if err != nil {
			c.errorf(field, "cannot read %s: %s", filepath.Join(dir, name), err)
			ok = false
			continue
		}
		found = append(found, BackupFile{Name: name, Size: size, SHA256: sum, Path: filepath.Join(abs, name)})
	}
	if !ok {
		return nil, false
	}
	c.inv.Backup.LocalDir = abs
	return found, true
}

// FindBackupPair finds the one backup pair in dir as backup.localDir is read: the
// names of its snapshot and static resources archive, or what is wrong with dir.
func FindBackupPair(dir string) (snapshot, static string, err error) {
	snapshot, static, problems := findPair(dir)
	if len(problems) > 0 {
		var errs []error
		for _, p := range problems {
			errs = append(errs, errors.New(p))
		}
		return "", "", errors.Join(errs...)
	}
	return snapshot, static, nil
}

// findPair finds the one backup pair in dir, or says what is wrong with it.
func findPair(dir string) (snapshot, static string, problems []string) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", []string{fmt.Sprintf("directory %s does not exist (a directory holding %s; relative to the inventory file)", dir, pairHint)}
	case err != nil:
		return "", "", []string{fmt.Sprintf("cannot read %s: %s", dir, osMessage(err))}
	case !fi.IsDir():
		return "", "", []string{fmt.Sprintf("%s is not a directory (a directory holding %s)", dir, pairHint)}
	}
	fsys := openDir(dir)
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", "", []string{fmt.Sprintf("cannot read %s: %s", dir, osMessage(err))}
	}
	if len(entries) == 0 {
		return "", "", []string{fmt.Sprintf("%s is empty (put %s there)", dir, pairHint)}
	}
	// Every file cluster-restore.sh would consider: it globs both kinds and takes the
	// newest of each, so a second candidate of either kind is refused here.
	var snaps, statics []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "snapshot_") && strings.HasSuffix(n, ".db"):
			snaps = append(snaps, n)
		case strings.HasPrefix(n, "static_kuberesources_") && strings.HasSuffix(n, ".tar.gz"):
			statics = append(statics, n)
		}
	}
	sort.Strings(snaps)
	sort.Strings(statics)
	switch {
	case len(snaps) == 0 && len(statics) == 0:
		return "", "", []string{fmt.Sprintf("%s holds no backup (%s, as cluster-backup.sh writes them)", dir, pairHint)}
	case len(snaps) > 1 || len(statics) > 1:
		return "", "", []string{fmt.Sprintf("%s holds more than one backup: %s (keep exactly one pair there: cluster-restore.sh would silently take the newest file of each kind)", dir, strings.Join(append(snaps, statics...), ", "))}
	case len(snaps) == 0:
		return "", "", []string{fmt.Sprintf("%s holds %s but no snapshot_<ts>.db (%s)", dir, statics[0], pairHint)}
	case len(statics) == 0:
		return "", "", []string{fmt.Sprintf("%s holds %s but no static_kuberesources_<ts>.tar.gz (%s)", dir, snaps[0], pairHint)}
	}
	if SnapshotTimestamp(snaps[0]) == "" {
		problems = append(problems, fmt.Sprintf("%s: %q is not a snapshot name (%s)", dir, snaps[0], snapshotHint))
	}
	if StaticResourcesTimestamp(statics[0]) == "" {
		problems = append(problems, fmt.Sprintf("%s: %q is not a static resources archive name (%s)", dir, statics[0], staticHint))
	}
	if len(problems) > 0 {
		return "", "", problems
	}
	return snaps[0], statics[0], nil
}

// readInside reads one file of the pair with package backup, which digests it in the
// same pass; what is wrong with it is reported at backup.localDir.
func (c *checker) readInside(path string, snapshot bool) (size int64, sum string, ok bool) {
	var problems []string
	if snapshot {
		s := backup.ReadSnapshot(path)
		size, sum, problems = s.Size, s.SHA256, s.Problems
		if !s.Refused() {
			c.snapshot = s
		}
	} else {
		r := backup.ReadStaticResources(path)
		size, sum, problems = r.Size, r.SHA256, r.Problems
	}
	for _, p := range problems {
		c.errorf("backup.localDir", "%s: %s", path, p)
	}
	return size, sum, len(problems) == 0
}

// checkSnapshot records the release read inside the snapshot, refuses it when it is
// not cluster.version's (or the update to it had not completed), and warns of each
// master the snapshot does not know as a control-plane node.
func (c *checker) checkSnapshot() {
	s := c.snapshot
	if s == nil {
		return
	}
	newest := s.ClusterVersion.History[0]
	c.inv.Backup.SnapshotRelease = &SnapshotRelease{Version: newest.Version, State: newest.State,
		CompletionTime: newest.CompletionTime, Revision: s.Revision, NewestObjectTime: s.NewestObjectTime}
	c.checkRelease("backup.localDir", s.Name)

	nodes := map[string]backup.Node{}
	var known []string
	for _, n := range s.Nodes {
		nodes[n.Name] = n
		if n.ControlPlane() || !n.RolesKnown {
			known = append(known, n.Name)
		}
	}
	if c.bad["masters"] {
		return
	}
	knows := "no control-plane node"
	if len(known) > 0 {
		knows = strings.Join(known, ", ")
	}
	for i, m := range c.inv.Masters {
		field := fmt.Sprintf("masters[%d].name", i)
		if !c.ok(field) {
			continue
		}
		n, found := nodes[m.Name]
		switch {
		case !found:
			c.warnf(field, "%s is not a node in the backup (%s knows %s): a host replaced since the backup? The restored cluster will not know it until it joins again", m.Name, s.Name, knows)
		case n.RolesKnown && !n.ControlPlane():
			c.warnf(field, "%s is a node in the backup but not a control-plane node there (%s knows %s)", m.Name, s.Name, knows)
		}
	}
}

// checkRelease refuses a backup whose snapshot was taken on another release than
// cluster.version, or while an update was still rolling out (P1: a backup restores
// only onto its own z-stream). field is where an unfinished update is reported.
func (c *checker) checkRelease(field, snapshot string) {
	r := c.inv.Backup.SnapshotRelease
	v := c.inv.Cluster.Version
	if c.ok("cluster.version") && versionRe.MatchString(v) && r.Version != v {
		c.errorf("cluster.version", "%s, but the backup was taken on %s (the release its snapshot %s records): a backup restores only onto its own release (set cluster.version: %s to restore it, or use a backup taken on %s)", v, r.Version, snapshot, r.Version, v)
	}
	if r.State != Completed {
		c.errorf(field, "%s was taken while the cluster was updating to %s (the newest ClusterVersion history entry is %s, not %s): use a backup taken after the update completed", snapshot, r.Version, r.State, Completed)
	}
}

// digest streams one file through SHA-256: snapshots are gigabytes.
func digest(fsys fs.FS, name string) (int64, string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return 0, "", errors.New(osMessage(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", errors.New(osMessage(err))
	}
	if fi.IsDir() {
		return 0, "", errors.New("a directory, not a file")
	}
	if !fi.Mode().IsRegular() {
		return 0, "", fmt.Errorf("not a regular file (mode %s)", fi.Mode())
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", errors.New(osMessage(err))
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// compareFound refuses a localDir whose pair differs from what the inventory records.
func (c *checker) compareFound(found []BackupFile, nameOK map[string]bool, filesOK bool) {
	b := &c.inv.Backup
	if nameOK["backup.snapshot"] && b.Snapshot != found[0].Name {
		c.errorf("backup.snapshot", "%q is not the snapshot in backup.localDir (%s)", b.Snapshot, found[0].Name)
	}
	if nameOK["backup.staticResources"] && b.StaticResources != found[1].Name {
		c.errorf("backup.staticResources", "%q is not the static resources archive in backup.localDir (%s)", b.StaticResources, found[1].Name)
	}
	if !filesOK {
		return
	}
	for i, rec := range b.Files {
		p := fmt.Sprintf("backup.files[%d]", i)
		var got *BackupFile
		for j := range found {
			if found[j].Name == rec.Name {
				got = &found[j]
			}
		}
		switch {
		case got == nil:
			c.errorf(p+".name", "%q is not in backup.localDir (it holds %s and %s)", rec.Name, found[0].Name, found[1].Name)
		case got.Size != rec.Size:
			c.errorf(p+".size", "%d recorded, but %s in backup.localDir has %d bytes (a different backup, or a damaged copy)", rec.Size, rec.Name, got.Size)
		case got.SHA256 != rec.SHA256:
			c.errorf(p+".sha256", "recorded digest differs from %s in backup.localDir (sha256 %s: a different backup, or a damaged copy)", rec.Name, got.SHA256)
		}
	}
}
