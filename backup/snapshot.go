// Package backup reads an etcd backup pair as cluster-backup.sh writes it, without
// changing either file: the snapshot's integrity and the facts recorded inside it,
// and the static pod resources cluster-restore.sh extracts.
package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// Keys under which the API server stores the objects the inspection reads.
const (
	ClusterVersionKey = "/kubernetes.io/config.openshift.io/clusterversions/version"
	NodePrefix        = "/kubernetes.io/minions/"
)

// Integrity is what the sha256 that `etcdctl snapshot save` appends says about a file.
type Integrity string

const (
	// IntegrityOK: the appended sha256 is the digest of everything before it.
	IntegrityOK Integrity = "ok"
	// IntegrityMismatch: a sha256 is appended but the contents do not have it.
	IntegrityMismatch Integrity = "mismatch"
	// IntegrityAbsent: the file is a bare database (whole 512-byte blocks, no digest).
	IntegrityAbsent Integrity = "absent"
	// IntegritySize: the size is neither a bare database nor one with a digest.
	IntegritySize Integrity = "bad-size"
)

// hashSize is the digest `etcdctl snapshot save` appends; etcd's restore tells a
// file with it from one without by the size modulo 512, and so does ReadSnapshot.
const hashSize = sha256.Size

// Snapshot is what ReadSnapshot found in snapshot_<ts>.db.
type Snapshot struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // of the whole file, as sha256sum prints it
	// Integrity is the check `etcdutl snapshot restore` makes before it restores.
	Integrity Integrity `json:"integrity"`
	// TakenAt is the time in the file name (cluster-backup.sh's `date`, the host's
	// local time: UTC on RHCOS), RFC 3339; empty when the name carries none.
	TakenAt string `json:"takenAt,omitempty"`
	// Revision is the etcd revision of the newest record (what `etcdutl snapshot
	// status` calls the revision); Records counts the revisions stored.
	Revision int64 `json:"revision,omitempty"`
	Records  int64 `json:"records,omitempty"`
	// ClusterVersion is the ClusterVersion object at the newest revision.
	ClusterVersion *ClusterVersion `json:"clusterVersion,omitempty"`
	// Nodes are the Node objects that exist at the newest revision, by name.
	Nodes []Node `json:"nodes,omitempty"`
	// NewestObjectTime is the newest time stamp in the objects read (the
	// ClusterVersion and the Nodes stored as JSON), RFC 3339.
	NewestObjectTime string `json:"newestObjectTime,omitempty"`
	// Problems are why the snapshot must not be restored; empty when it can be.
	Problems []string `json:"problems"`
	// Notes are facts a reader should know that do not refuse the snapshot.
	Notes []string `json:"notes"`
}

// ClusterVersion is the part of config.openshift.io/v1 ClusterVersion "version" that
// says which release the cluster ran.
type ClusterVersion struct {
	// Desired is status.desired.version: the release the cluster was told to run.
	Desired string `json:"desired"`
	// History holds the newest entries of status.history, newest first.
	History []HistoryEntry `json:"history"`
	// ModRevision is the etcd revision at which the object was last written.
	ModRevision int64 `json:"modRevision"`
}

// HistoryEntry is one entry of ClusterVersion status.history.
type HistoryEntry struct {
	Version        string `json:"version"`
	State          string `json:"state"` // Completed or Partial
	StartedTime    string `json:"startedTime,omitempty"`
	CompletionTime string `json:"completionTime,omitempty"`
}

// HistoryShown is how many history entries a Snapshot keeps.
const HistoryShown = 3

// Release is the release the cluster last moved to (the newest history entry's
// version), or "" when the history is empty.
func (cv *ClusterVersion) Release() string {
	if cv == nil || len(cv.History) == 0 {
		return ""
	}
	return cv.History[0].Version
}

// Node is one Node object of the snapshot.
type Node struct {
	Name string `json:"name"`
	// RolesKnown is false when the object is stored as protobuf (as the API server
	// stores core objects): only its name, from the key, is known.
	RolesKnown bool `json:"rolesKnown"`
	// Roles are the node-role.kubernetes.io/<role> labels, sorted.
	Roles []string `json:"roles,omitempty"`
}

// ControlPlane reports whether the node carries the master or control-plane role.
func (n Node) ControlPlane() bool {
	for _, r := range n.Roles {
		if r == "master" || r == "control-plane" {
			return true
		}
	}
	return false
}

// Refused reports whether the snapshot has a problem.
func (s *Snapshot) Refused() bool { return len(s.Problems) > 0 }

// snapshotName is cluster-backup.sh's snapshot_<date "+%F_%H%M%S">[__POSSIBLY_DIRTY__].db.
var snapshotName = regexp.MustCompile(`^snapshot_([0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{6})(?:__POSSIBLY_DIRTY__)?\.db$`)

// kubeProtobuf prefixes every object the API server stores as protobuf.
var kubeProtobuf = []byte("k8s\x00")

// ReadSnapshot checks the snapshot at path and reads the facts inside it. It reads
// the file once for its digests and opens it as a read-only bbolt database, walking
// the records with a cursor: memory stays flat whatever the snapshot's size.
func ReadSnapshot(path string) *Snapshot {
	s := &Snapshot{Name: filepath.Base(path), Problems: []string{}, Notes: []string{}}
	if m := snapshotName.FindStringSubmatch(s.Name); m != nil {
		if t, err := time.Parse("2006-01-02_150405", m[1]); err == nil {
			s.TakenAt = t.Format(time.RFC3339)
		}
	}
	if err := s.digest(path); err != nil {
		s.Problems = append(s.Problems, err.Error())
		return s
	}
	switch s.Integrity {
	case IntegrityMismatch:
		s.problemf("the sha256 that etcdctl snapshot save appended does not match the contents: the file is damaged (copy it again from the host that took it, or take a new backup)")
		return s
	case IntegritySize:
		s.problemf("%d bytes is neither an etcd database nor one with the 32-byte sha256 etcdctl snapshot save appends: the file is truncated or is not a snapshot", s.Size)
		return s
	case IntegrityAbsent:
		s.problemf("has no sha256 appended, so it was not written by etcdctl snapshot save (a copy of a member's db?); the restore's etcdctl snapshot restore refuses it without --skip-hash-check")
	}
	if err := s.readDB(path); err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	return s
}

func (s *Snapshot) problemf(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// digest streams the file once through two hashes: the whole file's, and that of all
// but the trailing 32 bytes when the size says a sha256 is appended.
func (s *Snapshot) digest(path string) error {
	f, err := openRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return errors.New(osMessage(err))
	}
	s.Size = fi.Size()
	whole := sha256.New()
	switch s.Size % 512 {
	case hashSize:
		body := sha256.New()
		if _, err := io.CopyN(io.MultiWriter(whole, body), f, s.Size-hashSize); err != nil {
			return errors.New(osMessage(err))
		}
		tail := make([]byte, hashSize)
		if _, err := io.ReadFull(f, tail); err != nil {
			return errors.New(osMessage(err))
		}
		whole.Write(tail)
		s.Integrity = IntegrityMismatch
		if bytes.Equal(body.Sum(nil), tail) {
			s.Integrity = IntegrityOK
		}
	case 0:
		s.Integrity = IntegrityAbsent
		if _, err := io.Copy(whole, f); err != nil {
			return errors.New(osMessage(err))
		}
	default:
		s.Integrity = IntegritySize
		if _, err := io.Copy(whole, f); err != nil {
			return errors.New(osMessage(err))
		}
	}
	s.SHA256 = hex.EncodeToString(whole.Sum(nil))
	return nil
}

// openRegular opens a regular file for reading, saying plainly what else it is.
func openRegular(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.New(osMessage(err))
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, errors.New(osMessage(err))
	case fi.IsDir():
		f.Close()
		return nil, errors.New("a directory, not a file")
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, fmt.Errorf("not a regular file (mode %s)", fi.Mode())
	}
	return f, nil
}

// osMessage is an error's cause without the path it wraps ("permission denied").
func osMessage(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// readDB opens the file as a read-only bbolt database and reads the facts.
func (s *Snapshot) readDB(path string) (err error) {
	dbSize := s.Size
	if s.Integrity == IntegrityOK {
		dbSize -= hashSize
	}
	if dbSize < 2*4096 {
		// bbolt would initialise an empty file; a real database has two meta pages.
		return fmt.Errorf("%d bytes is too small for an etcd database (it has at least two 4096-byte pages)", dbSize)
	}
	// A damaged page can make bbolt panic, and a page past the end of a truncated
	// file faults when read through the mapping: both become a refusal, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the etcd database is damaged: reading it failed (%v)", r)
		}
	}()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return errors.New("cannot open the etcd database: another process holds it open for writing (an etcd running on it?)")
		}
		return fmt.Errorf("not an etcd database: bbolt cannot open it (%s)", osMessage(err))
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > dbSize {
			return fmt.Errorf("the etcd database is truncated: its pages need %d bytes, the file holds %d", tx.Size(), dbSize)
		}
		var buckets []string
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			buckets = append(buckets, string(name))
			return nil
		})
		for _, want := range []string{"key", "meta"} {
			if tx.Bucket([]byte(want)) == nil {
				return fmt.Errorf("not an etcd database: it has no %q bucket (buckets: %s)", want, listOrNone(buckets))
			}
		}
		return s.readRecords(tx.Bucket([]byte("key")))
	})
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// readRecords walks the key bucket in revision order: each record is an mvccpb.KeyValue
// under its revision (8-byte main, '_', 8-byte sub, and 't' for a deletion). The last
// record of a key is its state at the newest revision.
func (s *Snapshot) readRecords(b *bolt.Bucket) error {
	var (
		kv      mvccpb.KeyValue
		cvValue []byte
		cvRev   int64
		nodes   = map[string]Node{}
		newest  time.Time
	)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 17 && !(len(k) == 18 && k[17] == 't') || k[8] != '_' {
			return fmt.Errorf("not an etcd database: the key bucket holds %q, which is not a revision", k)
		}
		rev := int64(binary.BigEndian.Uint64(k[:8]))
		deleted := len(k) == 18
		if err := proto.Unmarshal(v, &kv); err != nil {
			return fmt.Errorf("the etcd database is damaged: the record at revision %d does not decode (%v)", rev, err)
		}
		s.Records++
		s.Revision = rev
		key := string(kv.Key)
		switch {
		case key == ClusterVersionKey && deleted:
			cvValue, cvRev = nil, 0
		case key == ClusterVersionKey:
			cvValue, cvRev = append(cvValue[:0], kv.Value...), kv.ModRevision
		case strings.HasPrefix(key, NodePrefix) && deleted:
			delete(nodes, strings.TrimPrefix(key, NodePrefix))
		case strings.HasPrefix(key, NodePrefix):
			n := Node{Name: strings.TrimPrefix(key, NodePrefix)}
			if !bytes.HasPrefix(kv.Value, kubeProtobuf) {
				var obj nodeJSON
				if json.Unmarshal(kv.Value, &obj) == nil {
					n.RolesKnown = true
					n.Roles = obj.roles()
					if t := obj.newest(); t.After(newest) {
						newest = t
					}
				}
			}
			nodes[n.Name] = n
		}
	}
	if s.Records == 0 {
		return errors.New("the etcd database holds no records (an empty etcd, not a cluster's)")
	}
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, n)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	for _, n := range s.Nodes {
		if !n.RolesKnown {
			s.Notes = append(s.Notes, "Node objects are stored as protobuf: their names are read from their keys, their roles could not be read")
			break
		}
	}
	if cvValue == nil {
		s.problemf("holds no ClusterVersion (no key %s at revision %d): not the etcd of an OpenShift 4 cluster", ClusterVersionKey, s.Revision)
		return nil
	}
	var obj clusterVersionJSON
	if err := json.Unmarshal(cvValue, &obj); err != nil {
		s.problemf("the ClusterVersion at revision %d is not JSON (%v)", cvRev, err)
		return nil
	}
	s.ClusterVersion = obj.summary(cvRev)
	if t := obj.newest(); t.After(newest) {
		newest = t
	}
	if !newest.IsZero() {
		s.NewestObjectTime = newest.UTC().Format(time.RFC3339)
	}
	if s.ClusterVersion.Release() == "" {
		s.problemf("the ClusterVersion at revision %d has no status.history: the release the cluster ran is unknown", cvRev)
	}
	return nil
}

// nodeJSON is the part of a Node object the inspection reads.
type nodeJSON struct {
	Metadata objectMeta `json:"metadata"`
	Status   struct {
		Conditions []struct {
			LastHeartbeatTime  string `json:"lastHeartbeatTime"`
			LastTransitionTime string `json:"lastTransitionTime"`
		} `json:"conditions"`
	} `json:"status"`
}

type objectMeta struct {
	Labels            map[string]string `json:"labels"`
	CreationTimestamp string            `json:"creationTimestamp"`
	ManagedFields     []struct {
		Time string `json:"time"`
	} `json:"managedFields"`
}

func (m objectMeta) times() []string {
	ts := []string{m.CreationTimestamp}
	for _, f := range m.ManagedFields {
		ts = append(ts, f.Time)
	}
	return ts
}

func (n nodeJSON) roles() []string {
	var roles []string
	for l := range n.Metadata.Labels {
		if r, ok := strings.CutPrefix(l, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	return roles
}

func (n nodeJSON) newest() time.Time {
	ts := n.Metadata.times()
	for _, c := range n.Status.Conditions {
		ts = append(ts, c.LastHeartbeatTime, c.LastTransitionTime)
	}
	return newestOf(ts)
}

// clusterVersionJSON is the part of the ClusterVersion object the inspection reads.
type clusterVersionJSON struct {
	Metadata objectMeta `json:"metadata"`
	Status   struct {
		Desired struct {
			Version string `json:"version"`
		} `json:"desired"`
		History    []HistoryEntry `json:"history"`
		Conditions []struct {
			LastTransitionTime string `json:"lastTransitionTime"`
		} `json:"conditions"`
	} `json:"status"`
}

func (cv clusterVersionJSON) summary(rev int64) *ClusterVersion {
	h := cv.Status.History
	if len(h) > HistoryShown {
		h = h[:HistoryShown]
	}
	return &ClusterVersion{Desired: cv.Status.Desired.Version, History: append([]HistoryEntry{}, h...), ModRevision: rev}
}

func (cv clusterVersionJSON) newest() time.Time {
	ts := cv.Metadata.times()
	for _, h := range cv.Status.History {
		ts = append(ts, h.StartedTime, h.CompletionTime)
	}
	for _, c := range cv.Status.Conditions {
		ts = append(ts, c.LastTransitionTime)
	}
	return newestOf(ts)
}

// newestOf is the newest of RFC 3339 time stamps; ones that do not parse are skipped.
func newestOf(ts []string) time.Time {
	var newest time.Time
	for _, s := range ts {
		if t, err := time.Parse(time.RFC3339, s); err == nil && t.After(newest) {
			newest = t
		}
	}
	return newest
}
