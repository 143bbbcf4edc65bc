package out

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/restorekit/restorekit/render"
)

// Compare reports every file in which the kit directory dir differs from the rendered
// kit: rendered files that are missing or differ (content or executable bit), and files
// that are neither rendered, SHA256SUMS, its signature, nor a backup file the inventory records (with
// the digest it records). sums are the digests VerifySums computed; backup files are
// judged by them instead of being read again (a file not among them is hashed here).
func Compare(kit *render.Kit, dir string, sums []Sum) ([]Mismatch, error) {
	var bad []Mismatch
	rendered := map[string]bool{}
	for _, f := range kit.Files {
		rendered[f.Name] = true
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			bad = append(bad, Mismatch{Path: f.Name, Kind: Missing, Detail: "the inventory renders it"})
			continue
		}
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			bad = append(bad, Mismatch{Path: f.Name, Kind: Changed, Detail: "not a regular file"})
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(data, f.Data) {
			bad = append(bad, Mismatch{Path: f.Name, Kind: Changed, Detail: "differs from what the inventory renders " + firstDiff(data, f.Data)})
			continue
		}
		if want, got := fileMode(f) == modeExec, fi.Mode().Perm()&0o100 != 0; want != got {
			bad = append(bad, Mismatch{Path: f.Name, Kind: Changed, Detail: fmt.Sprintf("mode %04o, want %04o", fi.Mode().Perm(), fileMode(f))})
		}
	}

	recorded := map[string]string{}
	if kit.Inventory != nil {
		for _, b := range kit.Inventory.Backup.Files {
			recorded[path.Join(BackupDir, b.Name)] = b.SHA256
		}
	}
	digest := map[string]string{}
	for _, s := range sums {
		digest[s.Path] = s.SHA256
	}
	present, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range present {
		switch want, isBackup := recorded[p]; {
		case rendered[p] || p == SumsFile || p == SigFile:
		case !isBackup:
			bad = append(bad, Mismatch{Path: p, Kind: Extra, Detail: "the inventory does not render it"})
		default:
			got, ok := digest[p]
			if !ok {
				got, err = hashFile(filepath.Join(dir, filepath.FromSlash(p)), make([]byte, copyBuffer))
				if errors.Is(err, errNotRegular) {
					bad = append(bad, Mismatch{Path: p, Kind: Changed, Detail: "not a regular file"})
					continue
				}
				if err != nil {
					return nil, err
				}
			}
			if want != "" && got != want {
				bad = append(bad, Mismatch{Path: p, Kind: Changed, Detail: fmt.Sprintf("sha256 %s, the inventory records %s", got, want)})
			}
		}
	}
	sortMismatches(bad)
	return bad, nil
}

// firstDiff names the first line at which got and want differ.
func firstDiff(got, want []byte) string {
	line := 1
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("(first difference at line %d)", line)
		}
		if got[i] == '\n' {
			line++
		}
	}
	if len(got) < len(want) {
		return fmt.Sprintf("(it is shorter: ends at line %d)", line)
	}
	return fmt.Sprintf("(it is longer: extra text from line %d)", line)
}
