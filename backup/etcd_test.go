package backup

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// etcdServer is a real etcd on loopback, with its data in a temporary directory.
type etcdServer struct {
	t        testing.TB
	endpoint string // http://127.0.0.1:PORT
	client   *http.Client
}

// needEtcd skips the test when Debian's etcd-server and etcd-client are not installed.
func needEtcd(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"etcd", "etcdctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (apt-get install etcd-server etcd-client; .ci/run does): this test needs snapshots made by a real etcd", bin)
		}
	}
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtcd starts etcd on two free loopback ports and stops it when the test ends.
func startEtcd(t testing.TB) *etcdServer {
	t.Helper()
	needEtcd(t)
	dir := t.TempDir()
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("etcd", "--name", "default", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default="+peer, "--quota-backend-bytes", fmt.Sprint(int64(4)<<30))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
	})
	e := &etcdServer{t: t, endpoint: client, client: &http.Client{Timeout: 30 * time.Second}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := e.client.Get(client + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("etcd did not become healthy in 30s:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call posts to etcd's JSON gateway (/v3/kv/put, /v3/kv/deleterange): one kept-alive
// connection is much faster than an etcdctl process per key.
func (e *etcdServer) call(api string, req map[string]string) (revision int64) {
	e.t.Helper()
	body, _ := json.Marshal(req)
	resp, err := e.client.Post(e.endpoint+api, "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		e.t.Fatalf("etcd %s: %s: %s", api, resp.Status, msg.String())
	}
	var r struct {
		Header struct {
			Revision int64 `json:"revision,string"`
		} `json:"header"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		e.t.Fatalf("etcd %s: %v", api, err)
	}
	return r.Header.Revision
}

func b64(s []byte) string { return base64.StdEncoding.EncodeToString(s) }

func (e *etcdServer) put(key string, value []byte) int64 {
	e.t.Helper()
	return e.call("/v3/kv/put", map[string]string{"key": b64([]byte(key)), "value": b64(value)})
}

func (e *etcdServer) del(key string) int64 {
	e.t.Helper()
	return e.call("/v3/kv/deleterange", map[string]string{"key": b64([]byte(key))})
}

// snapshot runs `etcdctl snapshot save` into dir/name and returns the path.
func (e *etcdServer) snapshot(dir, name string) string {
	e.t.Helper()
	path := filepath.Join(dir, name)
	cmd := exec.Command("etcdctl", "--endpoints", e.endpoint, "snapshot", "save", path)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("etcdctl snapshot save: %v\n%s", err, out)
	}
	return path
}

// history is one ClusterVersion status.history entry as the cluster-version operator writes it.
type history struct {
	Version, State, Started, Completed string
}

// clusterVersionJSON is a ClusterVersion "version" object shaped as OpenShift stores it.
func clusterVersionObject(desired string, h ...history) []byte {
	var entries []string
	for _, e := range h {
		completion := "null"
		if e.Completed != "" {
			completion = fmt.Sprintf("%q", e.Completed)
		}
		entries = append(entries, fmt.Sprintf(`{"completionTime":%s,"image":"quay.io/openshift-release-dev/ocp-release@sha256:0000","startedTime":%q,"state":%q,"verified":false,"version":%q}`,
			completion, e.Started, e.State, e.Version))
	}
	return []byte(fmt.Sprintf(`{"apiVersion":"config.openshift.io/v1","kind":"ClusterVersion","metadata":{"creationTimestamp":"2020-07-01T09:00:00Z","generation":2,"name":"version","uid":"6a4e7b4c-0000-4000-8000-000000000001"},"spec":{"channel":"stable-4.5","clusterID":"6a4e7b4c-0000-4000-8000-000000000002"},"status":{"availableUpdates":null,"conditions":[{"lastTransitionTime":"2020-08-04T18:30:00Z","status":"True","type":"Available"}],"desired":{"image":"quay.io/openshift-release-dev/ocp-release@sha256:0000","version":%q},"history":[%s],"observedGeneration":2,"versionHash":"x"}}`,
		desired, strings.Join(entries, ",")))
}

// nodeObject is a Node as JSON, with node-role labels for each role and a heartbeat.
func nodeObject(name, heartbeat string, roles ...string) []byte {
	labels := []string{fmt.Sprintf(`"kubernetes.io/hostname":%q`, name)}
	for _, r := range roles {
		labels = append(labels, fmt.Sprintf(`"node-role.kubernetes.io/%s":""`, r))
	}
	return []byte(fmt.Sprintf(`{"kind":"Node","apiVersion":"v1","metadata":{"name":%q,"creationTimestamp":"2020-07-01T09:00:00Z","labels":{%s}},"status":{"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":%q,"lastTransitionTime":"2020-07-01T09:05:00Z"}]}}`,
		name, strings.Join(labels, ","), heartbeat))
}

// protobufNode is a Node value as the API server stores core objects: the "k8s\0"
// magic and a runtime.Unknown message (only the prefix matters to ReadSnapshot).
func protobufNode(name string) []byte {
	return append([]byte("k8s\x00\n\x0c\n\x02v1\x12\x04Node\x12"), []byte(name)...)
}
