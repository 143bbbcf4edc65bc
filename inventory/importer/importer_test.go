package importer

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// sources reads the captures of testdata/<dir>: nodes, clusterversion and proxy, as
// .json or .yaml, and infrastructure and network when there are.
func sources(t *testing.T, dir string) Sources {
	t.Helper()
	read := func(what string) *Source {
		for _, ext := range []string{".json", ".yaml"} {
			name := filepath.Join("testdata", dir, what+ext)
			if data, err := os.ReadFile(name); err == nil {
				return &Source{Name: name, Data: data}
			}
		}
		return nil
	}
	src := Sources{Infrastructure: read("infrastructure"), Network: read("network")}
	for what, into := range map[string]*Source{"nodes": &src.Nodes, "clusterversion": &src.ClusterVersion, "proxy": &src.Proxy} {
		s := read(what)
		if s == nil {
			t.Fatalf("testdata/%s has no %s capture", dir, what)
		}
		*into = *s
	}
	return src
}

func lines(ps []inventory.Problem) []byte {
	var b bytes.Buffer
	for _, p := range ps {
		b.WriteString(ProblemString(p))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Clusters of every shape: the inventory written (golden inventory.yaml) loads
// back through the inventory package as validate reads it, equal to what the import
// returned; the warnings are golden too.
func TestImport(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		opts Options
	}{
		// Cluster name from the infrastructure's API URL; Hostname addresses equal to the
		// node names add no hostname field.
		{"aws-ipi", Options{}},
		// Short node names whose Hostname addresses are FQDNs: hostname fields.
		{"gcp", Options{ClusterName: "gcp4"}},
		// Names without a domain, both control-plane labels, -o yaml captures.
		{"azure", Options{}},
		// Masters that are also workers; dual-stack (IPv4 preferred); an unreachable master
		// is not picked as the recovery host.
		{"compact", Options{}},
		{"ipv6", Options{ClusterName: "v6"}},
		// An update in progress is a warning naming both versions; a NotReady master too.
		{"mid-update", Options{}},
		// The proxy from status; ssh settings and the recovery host from options.
		{"proxy", Options{RecoveryHost: "proxy4-6ghvp-master-1", SSH: inventory.SSH{
			User: "core", IdentityFile: "~/.ssh/proxy4-core", JumpHost: "admin@bastion.corp.example.com",
			KnownHostsFile: "~/.ssh/proxy4_known_hosts"}}},
		// A VIP reported by two masters, an address listed twice: warnings; each master
		// gets an address of its own.
		{"duplicates", Options{ClusterName: "dup"}},
		// 4.16 on bare metal: two workers (one NotReady, warned about), OVN-Kubernetes from
		// the network config, dual-stack API and ingress VIPs from the platform status.
		{"baremetal-416", Options{}},
		// vSphere with a user-managed load balancer: VIPs in the status, but no
		// keepalived (apiVIPs: []); OpenShift SDN with a migration to OVN in progress.
		{"vsphere-sdn-416", Options{}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			opts := tc.opts
			opts.Output = filepath.Join("testdata", tc.dir, "inventory.yaml")
			opts.BackupDir = filepath.Join("testdata", "backup")
			res, err := Import(sources(t, tc.dir), opts)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			golden(t, filepath.Join(tc.dir, "inventory.yaml"), res.YAML)
			golden(t, filepath.Join(tc.dir, "warnings.txt"), lines(res.Warnings))

			again, err := Import(sources(t, tc.dir), opts)
			if err != nil || !bytes.Equal(again.YAML, res.YAML) {
				t.Errorf("a second import differs (err %v)", err)
			}
			if *update {
				return
			}
			loaded, _, err := inventory.Load(opts.Output, inventory.LoadOptions{})
			if err != nil {
				t.Fatalf("the golden inventory does not validate:\n%v", err)
			}
			for i := range loaded.Backup.Files {
				loaded.Backup.Files[i].Path = ""
			}
			if !reflect.DeepEqual(loaded, res.Inventory) {
				t.Errorf("loaded back:\n%+v\nimport returned:\n%+v", loaded, res.Inventory)
			}
			if !strings.Contains(string(res.YAML), "# A person must confirm it") {
				t.Errorf("no comment asking a person to confirm the recovery host")
			}
		})
	}
}

// Captures that cannot describe a cluster restorekit covers: every problem, with the
// file, line and JSON path (golden errors.txt), and no inventory.
func TestImportInvalid(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/invalid-*")
	if len(dirs) == 0 {
		t.Fatal("no fixtures")
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			res, err := Import(sources(t, name), Options{ClusterName: "x", Output: "inventory.yaml", BackupDir: "testdata/backup"})
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if res != nil && res.YAML != nil {
				t.Errorf("an inventory was written despite the errors")
			}
			golden(t, filepath.Join(name, "errors.txt"), lines(ie.Problems))
		})
	}
}

// Every section of the written inventory has a comment that explains it, and the
// defaults shown in commented-out settings are the ones validate applies.
func TestCommentsAndDefaults(t *testing.T) {
	res, err := Import(sources(t, "aws-ipi"), Options{Output: "testdata/aws-ipi/inventory.yaml", BackupDir: "testdata/backup"})
	if err != nil {
		t.Fatal(err)
	}
	text := string(res.YAML)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if i > 0 && l != "" && l[0] != ' ' && l[0] != '#' && !strings.HasPrefix(l, "kind:") && !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf("line %d %q has no comment above it", i+1, l)
		}
	}
	d := inventory.DefaultTimeouts
	for _, want := range []string{
		"# remoteDir: " + inventory.DefaultRemoteDir,
		"user: " + inventory.DefaultSSHUser,
		"# port: " + fmt.Sprint(inventory.DefaultSSHPort),
		"# strictHostKeyChecking: " + inventory.DefaultStrictHostKeyChecking,
		"# connectTimeout: " + inventory.DefaultConnectTimeout.String(),
		"#   staticPodStop: " + d.StaticPodStop.String(),
		"#   restore: " + d.Restore.String(),
		"#   kubeletRestart: " + d.KubeletRestart.String(),
		"#   singleMember: " + d.SingleMember.String(),
		"#   etcdRollout: " + d.EtcdRollout.String(),
		"#   kubeAPIServerRollout: " + d.KubeAPIServerRollout.String(),
		"#   kubeControllerManagerRollout: " + d.KubeControllerManagerRollout.String(),
		"#   kubeSchedulerRollout: " + d.KubeSchedulerRollout.String(),
		"#   pollInterval: " + d.PollInterval.String(),
		"# quarantineDir: " + inventory.DefaultQuarantineDir,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the written inventory", want)
		}
	}
}
