package out

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/restorekit/restorekit/render"
)

// PackageOptions tune Package.
type PackageOptions struct {
	// Force replaces an existing kit directory and archives, once the new ones are complete.
	Force bool
	// IncludeBackup copies the backup pair into backup/ in the kit (and the archives).
	IncludeBackup bool
	// ModTime is the time of every archive member; zero means DefaultEpoch. Callers
	// pass SourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH")).
	ModTime time.Time
	// SignWith, when set, signs SHA256SUMS: SigFile in the kit directory and
	// <kit>.SHA256SUMS.sig beside the archives, neither in an archive.
	SignWith *SigningKey
}

// Result is what Package wrote.
type Result struct {
	Dir     string // the kit directory
	DirSize int64  // bytes of all its files
	Files   int    // number of files in it, SHA256SUMS included
	TarGz   Artifact
	Run     Artifact
	// Signature is <kit>.SHA256SUMS.sig beside the archives (the same bytes as
	// SigFile in the kit directory); nil when the kit is not signed.
	Signature *Artifact
}

// Package writes the kit directory <parentDir>/<kit.Name>, <kit.Name>.tar.gz and
// <kit.Name>.run, and with SignWith <kit.Name>.SHA256SUMS.sig. All are assembled under temporary names beside their targets
// and renamed into place only when all are complete; on error none is left behind.
func Package(kit *render.Kit, parentDir string, opts PackageOptions) (res *Result, err error) {
	// The signature's name is checked signed or not: an unsigned kit beside an old
	// signature would look signed.
	target, err := checkTargets(kit, parentDir, opts.Force, "", ".tar.gz", ".run", "."+SigFile)
	if err != nil {
		return nil, err
	}
	modTime := opts.ModTime
	if modTime.IsZero() {
		modTime = DefaultEpoch
	}
	created, err := makeParent(parentDir)
	if err != nil {
		return nil, err
	}
	var staged string
	var temps []string
	defer func() {
		if err != nil {
			if staged != "" {
				os.RemoveAll(staged)
			}
			for _, t := range temps {
				os.Remove(t)
			}
			if created {
				os.Remove(parentDir) // only if still empty
			}
		}
	}()
	staged, sums, err := stageKit(kit, parentDir, opts.IncludeBackup)
	if err != nil {
		return nil, err
	}

	// The .tar.gz.
	f, err := createTemp(target + ".tar.gz")
	if err != nil {
		return nil, err
	}
	temps = append(temps, f.Name())
	hf := newHashingFile(f)
	if err := writeTarGz(hf, staged, kit.Name, modTime); err != nil {
		f.Close()
		return nil, err
	}
	tgz, err := hf.finish(modeFile)
	if err != nil {
		return nil, err
	}

	// The .run: header, then the .tar.gz bytes.
	run, err := writeRun(target+".run", kit.Name, tgz)
	if err != nil {
		return nil, err
	}
	temps = append(temps, run.Path)
	arts := []struct {
		art  *Artifact
		dest string
	}{{&tgz, target + ".tar.gz"}, {&run, target + ".run"}}

	// The signature, only now: the archives must not hold it.
	var sig *Artifact
	if opts.SignWith != nil {
		if sig, err = signStaged(staged, target+"."+SigFile, opts.SignWith); err != nil {
			return nil, err
		}
		temps = append(temps, sig.Path)
		arts = append(arts, struct {
			art  *Artifact
			dest string
		}{sig, target + "." + SigFile})
	}

	size, err := dirSize(staged)
	if err != nil {
		return nil, err
	}
	// Everything is complete: move it into place, archives last so that an archive
	// never exists without its directory having been written.
	if err := install(staged, target, opts.Force); err != nil {
		return nil, err
	}
	for _, a := range arts {
		if !opts.Force {
			if _, err := os.Lstat(a.dest); err == nil {
				return nil, &ExistsError{Path: a.dest}
			}
		}
		if err := os.Rename(a.art.Path, a.dest); err != nil {
			return nil, err
		}
		a.art.Path = a.dest
	}
	files := len(sums) + 1
	if sig != nil {
		files++
	} else if err := os.Remove(target + "." + SigFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// With --force, the signature of the kit just replaced is no longer this kit's.
		return nil, err
	}
	return &Result{Dir: target, DirSize: size, Files: files, TarGz: tgz, Run: run, Signature: sig}, nil
}

// signStaged signs the staged kit's SHA256SUMS, writes the signature into the kit and
// to a temporary file beside target, and returns that file.
func signStaged(staged, target string, key *SigningKey) (*Artifact, error) {
	sums, err := os.ReadFile(filepath.Join(staged, SumsFile))
	if err != nil {
		return nil, err
	}
	sig, err := SignSums(sums, key)
	if err != nil {
		return nil, err
	}
	if err := writeFile(staged, SigFile, sig, modeFile); err != nil {
		return nil, err
	}
	f, err := createTemp(target)
	if err != nil {
		return nil, err
	}
	hf := newHashingFile(f)
	if _, err := hf.Write(sig); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	art, err := hf.finish(modeFile)
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &art, nil
}

// writeRun writes the self-extracting file for an archive to a temporary file beside
// target and returns it (with the temporary path).
func writeRun(target, kitName string, tgz Artifact) (Artifact, error) {
	header, err := RunHeader(kitName, tgz.Size, tgz.SHA256)
	if err != nil {
		return Artifact{}, err
	}
	f, err := createTemp(target)
	if err != nil {
		return Artifact{}, err
	}
	hf := newHashingFile(f)
	if _, err := hf.Write(header); err != nil {
		f.Close()
		os.Remove(f.Name())
		return Artifact{}, err
	}
	if err := copyFileTo(hf, tgz.Path, tgz.Size, make([]byte, copyBuffer)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return Artifact{}, err
	}
	art, err := hf.finish(modeExec)
	if err != nil {
		os.Remove(f.Name())
	}
	return art, err
}

// dirSize adds up the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	return total, err
}

// Opened is a kit opened for reading by OpenKit.
type Opened struct {
	// Path is the path OpenKit was given.
	Path string
	// Dir is the kit directory: the path given, or where an archive was unpacked.
	Dir string
	// Kind is "directory", "tar.gz" or "run".
	Kind string
	// PayloadSHA256 is, for a .run, the payload digest its header records and that
	// OpenKit checked.
	PayloadSHA256 string
	tmp           string
}

// Close removes what OpenKit unpacked (never a kit directory it was given).
func (o *Opened) Close() error {
	if o.tmp == "" {
		return nil
	}
	return os.RemoveAll(o.tmp)
}

// OpenKit opens the kit at path: a kit directory as it is; a .tar.gz, or a .run whose
// payload's sha256 is checked first, unpacked into a new temporary directory that
// Close removes.
func OpenKit(path string) (*Opened, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return &Opened{Path: path, Dir: path, Kind: "directory"}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o := &Opened{Path: path, Kind: "tar.gz"}
	var payload io.Reader = f
	if info, rerr := readRunHeader(f); rerr == nil {
		// A .run: check the payload's digest in a first pass, then read it again.
		if _, err := f.Seek(info.offset, io.SeekStart); err != nil {
			return nil, err
		}
		got, err := hashReader(io.LimitReader(f, info.size))
		if err != nil {
			return nil, err
		}
		if got != info.sha256 {
			return nil, fmt.Errorf("%s: payload sha256 %s, the header records %s: the file is damaged", path, got, info.sha256)
		}
		if _, err := f.Seek(info.offset, io.SeekStart); err != nil {
			return nil, err
		}
		payload = io.LimitReader(f, info.size)
		o.Kind, o.PayloadSHA256 = "run", info.sha256
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	} else if !isGzip(f) {
		return nil, fmt.Errorf("%s: not a kit directory, .tar.gz or .run (%v)", path, rerr)
	}
	if o.tmp, err = os.MkdirTemp("", "restorekit-verify-"); err != nil {
		return nil, err
	}
	name, err := extractTarGz(payload, o.tmp)
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	o.Dir = filepath.Join(o.tmp, name)
	return o, nil
}

// isGzip peeks at the gzip magic and rewinds.
func isGzip(f *os.File) bool {
	var magic [2]byte
	_, err := io.ReadFull(f, magic[:])
	_, serr := f.Seek(0, io.SeekStart)
	return err == nil && serr == nil && magic == [2]byte{0x1f, 0x8b}
}
