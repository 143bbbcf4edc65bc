package out

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// extractTarGz unpacks a kit archive into dest and returns the name of its one
// top-level directory. It accepts only what Package writes: directories and regular
// files, all under one top-level directory, with clean relative names.
func extractTarGz(r io.Reader, dest string) (string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(zr)
	top := ""
	seen := map[string]bool{}
	buf := make([]byte, copyBuffer)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading the archive: %w", err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") {
			return "", fmt.Errorf("archive member %q: not a clean relative path", hdr.Name)
		}
		first, _, _ := strings.Cut(name, "/")
		if top == "" {
			top = first
		} else if first != top {
			return "", fmt.Errorf("archive member %q: outside the kit directory %s/", hdr.Name, top)
		}
		if seen[name] {
			return "", fmt.Errorf("archive member %q: appears twice", hdr.Name)
		}
		seen[name] = true
		p := filepath.Join(dest, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := mkdirs(dest, name); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := mkdirs(dest, pathDir(name)); err != nil {
				return "", err
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, modeFile)
			if err != nil {
				return "", err
			}
			if _, err := io.CopyBuffer(f, onlyReader{tr}, buf); err != nil {
				f.Close()
				return "", fmt.Errorf("archive member %q: %w", hdr.Name, err)
			}
			mode := modeFile
			if hdr.Mode&0o111 != 0 {
				mode = modeExec
			}
			if err := f.Chmod(mode); err != nil {
				f.Close()
				return "", err
			}
			if err := f.Close(); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("archive member %q: not a regular file or directory", hdr.Name)
		}
	}
	if top == "" {
		return "", fmt.Errorf("the archive is empty")
	}
	// Reading to the end makes gzip check its own CRC and length.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return "", fmt.Errorf("reading the archive: %w", err)
	}
	return top, nil
}

func pathDir(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return "."
}

// hashReader returns the sha256 of everything r yields.
func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, onlyReader{r}, make([]byte, copyBuffer)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
