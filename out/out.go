// Package out writes a rendered kit to disk: the kit directory with its SHA256SUMS,
// a reproducible .tar.gz and a self-extracting .run, each written to a temporary path
// and renamed into place.
package out

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/render"
)

// SumsFile is the checksum list every written kit carries at its top level.
const SumsFile = "SHA256SUMS"

// BackupDir is the kit directory that holds the backup pair with --include-backup.
const BackupDir = "backup"

// Modes of everything written, set explicitly so the umask does not matter.
const (
	modeDir    fs.FileMode = 0o755
	modeExec   fs.FileMode = 0o755
	modeFile   fs.FileMode = 0o644
	copyBuffer             = 1 << 20 // the one buffer a streamed copy uses
)

// WriteOptions tune WriteKit.
type WriteOptions struct {
	// Force replaces an existing kit directory (only once the new one is complete).
	Force bool
	// IncludeBackup copies the inventory's backup pair into backup/ in the kit.
	IncludeBackup bool
}

// ExistsError reports an output path that is already there and Force was not given.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s: already exists (use --force to replace it)", e.Path)
}

// WriteKit writes the kit as the directory <parentDir>/<kit.Name> and returns its path.
// The directory is assembled beside its final place and renamed in; on error nothing of
// it is left behind.
func WriteKit(kit *render.Kit, parentDir string, opts WriteOptions) (dir string, err error) {
	target, err := checkTargets(kit, parentDir, opts.Force, "")
	if err != nil {
		return "", err
	}
	created, err := makeParent(parentDir)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil && created {
			os.Remove(parentDir) // only if still empty
		}
	}()
	tmp, _, err := stageKit(kit, parentDir, opts.IncludeBackup)
	if err != nil {
		return "", err
	}
	if err := install(tmp, target, opts.Force); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return target, nil
}

// makeParent creates the output directory (and its parents) if missing and reports
// whether it did, so that a failed write can remove it again.
func makeParent(dir string) (created bool, err error) {
	if dir == "" {
		return false, nil
	}
	if _, err := os.Lstat(dir); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(dir, modeDir); err != nil {
		return false, err
	}
	return true, nil
}

// checkTargets validates the kit name and makes sure the kit directory and the given
// archive suffixes (".tar.gz", ".run") are free unless force is set.
func checkTargets(kit *render.Kit, parentDir string, force bool, suffixes ...string) (string, error) {
	if kit == nil {
		return "", errors.New("no kit to write")
	}
	if kit.Name == "" || kit.Name == "." || kit.Name == ".." || strings.ContainsAny(kit.Name, "/\\\n\x00") {
		return "", fmt.Errorf("kit name %q: not a directory name", kit.Name)
	}
	if parentDir == "" {
		parentDir = "."
	}
	target := filepath.Join(parentDir, kit.Name)
	if !force {
		for _, s := range suffixes {
			p := target + s
			if _, err := os.Lstat(p); err == nil {
				return "", &ExistsError{Path: p}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
	}
	return target, nil
}

// stageKit writes the kit into a new temporary directory inside parentDir and returns
// it with the checksums it wrote into SHA256SUMS.
func stageKit(kit *render.Kit, parentDir string, includeBackup bool) (dir string, sums []Sum, err error) {
	files, err := kitFiles(kit)
	if err != nil {
		return "", nil, err
	}
	var backups []inventory.BackupFile
	if includeBackup {
		if backups, err = backupFiles(kit); err != nil {
			return "", nil, err
		}
	}
	if parentDir == "" {
		parentDir = "."
	}
	tmp, err := os.MkdirTemp(parentDir, "."+kit.Name+".tmp-")
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, modeDir); err != nil {
		return "", nil, err
	}
	for _, f := range files {
		if err := writeFile(tmp, f.Name, f.Data, fileMode(f)); err != nil {
			return "", nil, err
		}
		sums = append(sums, Sum{Path: f.Name, SHA256: hexSum(f.Data)})
	}
	buf := make([]byte, copyBuffer)
	for _, b := range backups {
		name := path.Join(BackupDir, b.Name)
		digest, err := copyBackup(tmp, name, b, buf)
		if err != nil {
			return "", nil, err
		}
		sums = append(sums, Sum{Path: name, SHA256: digest})
	}
	sortSums(sums)
	if err := writeFile(tmp, SumsFile, FormatSums(sums), modeFile); err != nil {
		return "", nil, err
	}
	return tmp, sums, nil
}

// kitFiles checks every kit file name is a clean relative path that packaging does not
// itself write.
func kitFiles(kit *render.Kit) ([]render.File, error) {
	seen := map[string]bool{}
	for _, f := range kit.Files {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		if f.Name == SumsFile || f.Name == SigFile || f.Name == BackupDir || strings.HasPrefix(f.Name, BackupDir+"/") {
			return nil, fmt.Errorf("kit file %s: name reserved for packaging", f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("kit file %s: listed twice", f.Name)
		}
		seen[f.Name] = true
	}
	return kit.Files, nil
}

// checkName accepts slash-separated relative paths without "." or ".." elements and
// without characters sha256sum would escape.
func checkName(name string) error {
	if name == "" || !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("kit file %q: not a relative path inside the kit", name)
	}
	if strings.ContainsAny(name, "\\\n\r\x00") {
		return fmt.Errorf("kit file %q: name has a character SHA256SUMS cannot hold", name)
	}
	return nil
}

// backupFiles are the backup pair to copy: every recorded file must have been found.
func backupFiles(kit *render.Kit) ([]inventory.BackupFile, error) {
	inv := kit.Inventory
	if inv == nil || len(inv.Backup.Files) == 0 {
		return nil, errors.New("--include-backup: the inventory records no backup files (set backup.localDir)")
	}
	for _, b := range inv.Backup.Files {
		if b.Path == "" {
			return nil, fmt.Errorf("--include-backup: backup file %s was not found on this machine (set backup.localDir)", b.Name)
		}
		if b.Name == "" || strings.ContainsAny(b.Name, "/\\\n\r\x00") || b.Name == "." || b.Name == ".." {
			return nil, fmt.Errorf("--include-backup: backup file name %q: not a file name", b.Name)
		}
	}
	return inv.Backup.Files, nil
}

// fileMode is 0755 for scripts and anything executable, 0644 for the rest.
func fileMode(f render.File) fs.FileMode {
	if f.IsScript() || f.Mode.Perm()&0o111 != 0 {
		return modeExec
	}
	return modeFile
}

// writeFile creates dir/name (and its directories) with exactly the given mode.
func writeFile(dir, name string, data []byte, mode fs.FileMode) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := mkdirs(dir, path.Dir(name)); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, modeFile)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return closeFile(f, mode)
}

// closeFile syncs, sets the mode explicitly and closes.
func closeFile(f *os.File, mode fs.FileMode) error {
	err := f.Chmod(mode)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirs creates each directory of rel under root with mode 0755 whatever the umask.
func mkdirs(root, rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	p := root
	for _, elem := range strings.Split(rel, "/") {
		p = filepath.Join(p, elem)
		err := os.Mkdir(p, modeDir)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Chmod(p, modeDir); err != nil {
			return err
		}
	}
	return nil
}

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the buffer it is given.
type onlyReader struct{ io.Reader }

// copyBackup streams one backup file into the kit, hashing as it copies, and refuses a
// file whose size or digest differs from what the inventory recorded.
func copyBackup(dir, name string, b inventory.BackupFile, buf []byte) (string, error) {
	in, err := os.Open(b.Path)
	if err != nil {
		return "", fmt.Errorf("backup file: %w", err)
	}
	defer in.Close()
	if err := mkdirs(dir, path.Dir(name)); err != nil {
		return "", err
	}
	dst, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, modeFile)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(dst, h), onlyReader{in}, buf)
	if err != nil {
		dst.Close()
		return "", fmt.Errorf("backup file %s: %w", b.Path, err)
	}
	if err := closeFile(dst, modeFile); err != nil {
		return "", err
	}
	digest := hex.EncodeToString(h.Sum(nil))
	if n != b.Size {
		return "", fmt.Errorf("backup file %s: %d bytes, the inventory records %d (it changed since the inventory was loaded)", b.Path, n, b.Size)
	}
	if b.SHA256 != "" && !strings.EqualFold(digest, b.SHA256) {
		return "", fmt.Errorf("backup file %s: sha256 %s, the inventory records %s (it changed since the inventory was loaded)", b.Path, digest, b.SHA256)
	}
	return digest, nil
}

// install renames the staged directory to target; with force an existing target is
// moved aside first and removed once the new one is in place.
func install(staged, target string, force bool) error {
	_, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.Rename(staged, target)
	case err != nil:
		return err
	case !force:
		return &ExistsError{Path: target}
	}
	aside, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".old-")
	if err != nil {
		return err
	}
	old := filepath.Join(aside, "old")
	if err := os.Rename(target, old); err != nil {
		os.Remove(aside)
		return err
	}
	if err := os.Rename(staged, target); err != nil {
		if rerr := os.Rename(old, target); rerr != nil {
			return fmt.Errorf("%w (the previous %s is kept at %s)", err, target, old)
		}
		os.Remove(aside)
		return err
	}
	return os.RemoveAll(aside)
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
