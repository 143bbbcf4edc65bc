package out

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultEpoch is the modification time of every archive entry when SOURCE_DATE_EPOCH
// is not set: 2000-01-01T00:00:00Z. A fixed time (rather than the build time) is what
// makes two builds of one inventory byte-identical.
var DefaultEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// CompressionLevel is the fixed gzip level of every archive.
const CompressionLevel = 6

// SourceDateEpoch returns the time given by a SOURCE_DATE_EPOCH value (decimal seconds
// since 1970, as reproducible-builds.org defines it), or DefaultEpoch when it is empty.
func SourceDateEpoch(value string) (time.Time, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return DefaultEpoch, nil
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 0 || n > 1<<33-1 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds since 1970 that tar can hold", value)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Artifact is one file packaging produced.
type Artifact struct {
	Path   string
	Size   int64
	SHA256 string
}

// entry is one member of the archive.
type entry struct {
	name string // slash-separated, directories end in "/"
	src  string // file on disk ("" for directories)
	mode int64
	size int64
}

// archiveEntries lists the kit directory as archive members under kitName/, sorted by
// name so that parents precede their contents. Only directories and regular files are
// accepted; modes are normalized to 0755 (directories, executables) or 0644.
func archiveEntries(dir, kitName string) ([]entry, error) {
	entries := []entry{{name: kitName + "/", mode: int64(modeDir)}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(kitName, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			entries = append(entries, entry{name: name + "/", mode: int64(modeDir)})
		case info.Mode().IsRegular():
			mode := modeFile
			if info.Mode().Perm()&0o111 != 0 {
				mode = modeExec
			}
			entries = append(entries, entry{name: name, src: p, mode: int64(mode), size: info.Size()})
		default:
			return fmt.Errorf("%s: not a regular file or directory; a kit holds only those", p)
		}
		return nil
	})
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, err
}

// writeTarGz streams the kit directory as a reproducible gzip-compressed tar to w:
// sorted members, directories included, every mtime = modTime, uid/gid 0 without user
// or group names, PAX format, gzip header without name or time, fixed level.
func writeTarGz(w io.Writer, dir, kitName string, modTime time.Time) error {
	entries, err := archiveEntries(dir, kitName)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, CompressionLevel)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	buf := make([]byte, copyBuffer)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: modTime,
			Format:  tar.FormatPAX,
		}
		if e.src == "" {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if e.src == "" {
			continue
		}
		if err := copyFileTo(tw, e.src, e.size, buf); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// copyFileTo streams exactly size bytes of the file p into w.
func copyFileTo(w io.Writer, p string, size int64, buf []byte) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(w, onlyReader{io.LimitReader(f, size)}, buf)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if n != size {
		return fmt.Errorf("%s: changed size while being archived", p)
	}
	return nil
}

// createTemp creates a temporary file beside target for writing it.
func createTemp(target string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-")
}

// hashingFile writes to a temporary file through a buffer, hashing and counting.
type hashingFile struct {
	f  *os.File
	bw *bufio.Writer
	h  hash.Hash
	n  int64
}

func newHashingFile(f *os.File) *hashingFile {
	h := sha256.New()
	return &hashingFile{f: f, h: h, bw: bufio.NewWriterSize(io.MultiWriter(f, h), 64<<10)}
}

func (h *hashingFile) Write(p []byte) (int, error) {
	n, err := h.bw.Write(p)
	h.n += int64(n)
	return n, err
}

// finish flushes, sets the mode, syncs and closes the file.
func (h *hashingFile) finish(mode fs.FileMode) (Artifact, error) {
	if err := h.bw.Flush(); err != nil {
		h.f.Close()
		return Artifact{}, err
	}
	if err := closeFile(h.f, mode); err != nil {
		return Artifact{}, err
	}
	return Artifact{Path: h.f.Name(), Size: h.n, SHA256: hex.EncodeToString(h.h.Sum(nil))}, nil
}
