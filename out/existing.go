package out

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Existing returns which of the outputs <parentDir>/<kitName><suffix> are already
// there, for each suffix ("" the kit directory, ".tar.gz", ".run"), so that a caller
// can refuse them all at once before doing any work. WriteKit and Package check again
// when they write.
func Existing(parentDir, kitName string, suffixes ...string) ([]string, error) {
	if parentDir == "" {
		parentDir = "."
	}
	var found []string
	for _, s := range suffixes {
		p := filepath.Join(parentDir, kitName) + s
		_, err := os.Lstat(p)
		switch {
		case err == nil:
			found = append(found, p)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	return found, nil
}
