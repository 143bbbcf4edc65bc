package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// StaticPodsDir is the one member cluster-restore.sh extracts from the archive
// (tar -xzf FILE static-pod-resources).
const StaticPodsDir = "static-pod-resources/"

// RestorePod is the member cluster-restore.sh of 4.5 starts the restore from
// (tar pattern "*restore-etcd-pod/pod.yaml"), under the etcd-pod-N revision.
const RestorePod = "restore-etcd-pod/pod.yaml"

// PodManifests are the static pod manifests the restore scripts of 4.5 to 4.17
// extract by name (tar pattern "*<name>", then --strip-components=2 into the
// manifests directory), failing with "<name> does not exist in <archive>".
var PodManifests = []string{"kube-apiserver-pod.yaml", "kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml"}

// StaticResources is what ReadStaticResources found in static_kuberesources_<ts>.tar.gz.
type StaticResources struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Members counts the archive's members.
	Members int `json:"members"`
	// EtcdPod is the static-pod-resources/etcd-pod-N/ revision the archive holds.
	EtcdPod string `json:"etcdPod,omitempty"`
	// Extracted are the members the restore extracts by pattern, by the name it looks
	// for ("restore-etcd-pod/pod.yaml", "kube-apiserver-pod.yaml", ...).
	Extracted map[string]string `json:"extracted"`
	Problems  []string          `json:"problems"`
}

// Refused reports whether the archive has a problem.
func (r *StaticResources) Refused() bool { return len(r.Problems) > 0 }

var etcdPodDir = regexp.MustCompile(`^static-pod-resources/(etcd-pod-[0-9]+)/`)

// ReadStaticResources checks the archive at path, streaming it once: its digest, that
// it is gzip and tar to the end, and that it holds what cluster-restore.sh extracts.
func ReadStaticResources(path string) *StaticResources {
	r := &StaticResources{Name: filepath.Base(path), Extracted: map[string]string{}, Problems: []string{}}
	f, err := openRegular(path)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	defer f.Close()
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(f, h)}
	defer func() { r.Size, r.SHA256 = counted.n, hex.EncodeToString(h.Sum(nil)) }()

	matches := map[string][]string{}
	etcdPods := map[string]bool{}
	under := 0
	err = func() error {
		zr, err := gzip.NewReader(counted)
		if err != nil {
			return fmt.Errorf("not a gzip file (%v); cluster-backup.sh writes it with tar -czf", err)
		}
		zr.Multistream(false)
		tr := tar.NewReader(zr)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("not a whole tar archive inside the gzip: after %d members, %v (truncated or damaged)", r.Members, unexpected(err))
			}
			r.Members++
			name := hdr.Name
			if !strings.HasPrefix(name, StaticPodsDir) {
				continue
			}
			under++
			if m := etcdPodDir.FindStringSubmatch(name); m != nil {
				etcdPods[m[1]] = true
			}
			for _, want := range append([]string{RestorePod}, PodManifests...) {
				if strings.HasSuffix(name, "/"+want) && hdr.Typeflag == tar.TypeReg {
					matches[want] = append(matches[want], name)
				}
			}
		}
		// The rest of the gzip stream: its checksum is only checked at its end.
		if _, err := io.Copy(io.Discard, zr); err != nil {
			return fmt.Errorf("the gzip stream is damaged after the tar archive (%v)", unexpected(err))
		}
		return nil
	}()
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	if _, err := io.Copy(io.Discard, counted); err != nil {
		r.Problems = append(r.Problems, osMessage(err))
		return r
	}
	if err != nil {
		return r
	}
	if under == 0 {
		r.problemf("holds nothing under %s (cluster-restore.sh extracts exactly that: tar -xzf %s static-pod-resources)", StaticPodsDir, r.Name)
		return r
	}
	pods := sortedKeys(etcdPods)
	switch len(pods) {
	case 0:
		r.problemf("holds no %setcd-pod-<N>/ (the etcd static pod revision cluster-backup.sh saves)", StaticPodsDir)
	case 1:
		r.EtcdPod = pods[0]
	default:
		r.problemf("holds %d etcd static pod revisions (%s; cluster-backup.sh saves only the current one)", len(pods), strings.Join(pods, ", "))
	}
	for _, m := range matches {
		sort.Strings(m)
	}
	want := RestorePod
	switch m := matches[want]; {
	case len(m) == 0:
		r.problemf("%s does not exist in %s (the restore pod manifest, %setcd-pod-<N>/configmaps/%s)", want, r.Name, StaticPodsDir, want)
	case len(m) > 1:
		r.problemf("%d members match %s: %s (cluster-restore.sh's tar pattern must find exactly one)", len(m), want, strings.Join(m, ", "))
	case r.EtcdPod != "" && !strings.HasPrefix(m[0], StaticPodsDir+r.EtcdPod+"/"):
		r.problemf("%s is %s, outside %s%s/", want, m[0], StaticPodsDir, r.EtcdPod)
	default:
		r.Extracted[want] = m[0]
	}
	for _, want := range PodManifests {
		m := matches[want]
		switch {
		case len(m) == 0:
			r.problemf("%s does not exist in %s (cluster-restore.sh of 4.5 to 4.17 fails so; cluster-backup.sh saves it as %s%s-<N>/%s)", want, r.Name, StaticPodsDir, strings.TrimSuffix(want, ".yaml"), want)
		case len(m) > 1:
			r.problemf("%d members match %s: %s (cluster-restore.sh's tar pattern must find exactly one)", len(m), want, strings.Join(m, ", "))
		case strings.Count(m[0], "/") != 2:
			r.problemf("%s is %s, not %s<pod>-<N>/%s (cluster-restore.sh strips two directories when it extracts it)", want, m[0], StaticPodsDir, want)
		default:
			r.Extracted[want] = m[0]
		}
	}
	return r
}

func (r *StaticResources) problemf(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// unexpected words an early end of the stream as what it means for the file.
func unexpected(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the file ends early"
	}
	return err.Error()
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
