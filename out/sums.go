package out

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sum is one line of SHA256SUMS: a file's digest and its slash-separated kit path.
type Sum struct {
	Path   string
	SHA256 string
}

func sortSums(s []Sum) { sort.Slice(s, func(i, j int) bool { return s[i].Path < s[j].Path }) }

// FormatSums prints sums as `sha256sum -c` reads them: "<hex>  <path>\n", sorted by path.
func FormatSums(sums []Sum) []byte {
	s := append([]Sum(nil), sums...)
	sortSums(s)
	var b bytes.Buffer
	for _, x := range s {
		fmt.Fprintf(&b, "%s  %s\n", x.SHA256, x.Path)
	}
	return b.Bytes()
}

// ParseSums reads a SHA256SUMS file written by FormatSums (text or binary mode markers
// are both accepted, as sha256sum does).
func ParseSums(data []byte) ([]Sum, error) {
	var sums []Sum
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" && len(data) == 0 {
			break
		}
		if len(line) < 66 || (line[64:66] != "  " && line[64:66] != " *") {
			return nil, fmt.Errorf("%s:%d: not a \"<sha256>  <path>\" line", SumsFile, i+1)
		}
		digest, name := line[:64], line[66:]
		if _, err := hex.DecodeString(digest); err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a sha256 digest", SumsFile, i+1, digest)
		}
		if err := checkName(name); err != nil || name == SumsFile || name == SigFile {
			return nil, fmt.Errorf("%s:%d: %q is not a file of the kit", SumsFile, i+1, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", SumsFile, i+1, name)
		}
		seen[name] = true
		sums = append(sums, Sum{Path: name, SHA256: strings.ToLower(digest)})
	}
	return sums, nil
}

// Problem kinds reported by VerifySums and Compare.
const (
	Changed  = "changed"  // content differs from what it should be
	Missing  = "missing"  // expected but not in the kit
	Extra    = "extra"    // in the kit but not expected
	Unlisted = "unlisted" // in the kit but not in SHA256SUMS
)

// Mismatch is one file of a kit that is not what it should be.
type Mismatch struct {
	Path   string // slash-separated path inside the kit
	Kind   string // Changed, Missing, Extra or Unlisted
	Detail string
}

func (m Mismatch) String() string {
	if m.Detail == "" {
		return m.Path + ": " + m.Kind
	}
	return m.Path + ": " + m.Kind + ": " + m.Detail
}

// VerifySums checks every file listed in dir's SHA256SUMS and that no file of dir is
// unlisted (but SHA256SUMS and its signature). It returns the digests it computed for the listed files it found (which
// Compare takes) and the mismatches, sorted by path.
func VerifySums(dir string) ([]Sum, []Mismatch, error) {
	data, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		return nil, nil, err
	}
	sums, err := ParseSums(data)
	if err != nil {
		return nil, nil, err
	}
	present, err := listFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	var bad []Mismatch
	var found []Sum
	buf := make([]byte, copyBuffer)
	listed := map[string]bool{SumsFile: true, SigFile: true}
	for _, s := range sums {
		listed[s.Path] = true
		got, err := hashFile(filepath.Join(dir, filepath.FromSlash(s.Path)), buf)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad = append(bad, Mismatch{Path: s.Path, Kind: Missing, Detail: "listed in " + SumsFile})
		case errors.Is(err, errNotRegular):
			bad = append(bad, Mismatch{Path: s.Path, Kind: Changed, Detail: "not a regular file"})
		case err != nil:
			return nil, nil, err
		case got != s.SHA256:
			bad = append(bad, Mismatch{Path: s.Path, Kind: Changed, Detail: fmt.Sprintf("sha256 %s, %s says %s", got, SumsFile, s.SHA256)})
		}
		if err == nil {
			found = append(found, Sum{Path: s.Path, SHA256: got})
		}
	}
	for _, p := range present {
		if !listed[p] {
			bad = append(bad, Mismatch{Path: p, Kind: Unlisted, Detail: "not in " + SumsFile})
		}
	}
	sortMismatches(bad)
	return found, bad, nil
}

func sortMismatches(m []Mismatch) {
	sort.SliceStable(m, func(i, j int) bool { return m[i].Path < m[j].Path })
}

// listFiles returns the slash-separated paths of every non-directory under dir, sorted.
// Anything that is not a regular file is reported as a path too (and then fails the
// checksum as not readable as a regular file).
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(files)
	return files, err
}

// errNotRegular is returned for a kit path that is a directory, link or device.
var errNotRegular = errors.New("not a regular file")

// hashFile streams a regular file through sha256 with the given buffer.
func hashFile(p string, buf []byte) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errNotRegular
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, onlyReader{f}, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
