package importer

import (
	"errors"
	"strings"
	"testing"

	"github.com/restorekit/restorekit/inventory"
)

// Bad captures and bad options: each problem names the file (or the option), the line
// and the JSON path, and says what would be valid.
func TestImportErrors(t *testing.T) {
	aws := sources(t, "aws-ipi")
	table := "NAME                           STATUS   ROLES    AGE   VERSION\nip-10-0-143-125.ec2.internal   Ready    master   3d    v1.18.3+012b3ec\n"
	for _, tc := range []struct {
		name string
		edit func(*Sources, *Options)
		want []string
	}{
		{"the table oc prints without -o json", func(s *Sources, _ *Options) {
			s.Nodes = Source{Name: "nodes.txt", Data: []byte(table)}
		}, []string{`nodes.txt:1:1: not an object: text "NAME                           STATUS   ..." (capture it with oc get ... -o json, not the table oc prints by default)`}},
		{"a truncated capture", func(s *Sources, _ *Options) {
			s.ClusterVersion = Source{Name: "cv.json", Data: []byte("{\n    \"apiVersion\": \"config.openshift.io/v1\",\n    \"kind\": \"ClusterVersion\",\n")}
		}, []string{`cv.json:4:1: not JSON or YAML: did not find expected node content (capture it with oc get ... -o json)`}},
		{"an empty file", func(s *Sources, _ *Options) {
			s.Proxy = Source{Name: "proxy.json", Data: nil}
		}, []string{`proxy.json:1:1: empty (the output of oc get ... -o json)`}},
		{"the wrong kind: the proxy given as the nodes", func(s *Sources, _ *Options) {
			s.Nodes = Source{Name: "nodes.json", Data: aws.Proxy.Data}
		}, []string{`nodes.json:3:13: kind: "Proxy" (expected Node, or a List of them: capture it with oc get nodes -o json)`}},
		{"an empty List", func(s *Sources, _ *Options) {
			s.Proxy = Source{Name: "proxy.json", Data: []byte(`{"apiVersion": "v1", "items": [], "kind": "List"}`)}
		}, []string{`proxy.json:1:31: items: empty: no Proxy in the list (capture it with oc get proxy cluster -o json)`}},
		{"a recovery host that is no master", func(_ *Sources, o *Options) {
			o.RecoveryHost = "ip-10-0-130-74.ec2.internal"
		}, []string{`--recovery-host: "ip-10-0-130-74.ec2.internal" is not a control-plane node (one of ip-10-0-143-125.ec2.internal, ip-10-0-154-194.ec2.internal, ip-10-0-173-171.ec2.internal)`}},
		{"no cluster name", func(s *Sources, _ *Options) {
			s.Infrastructure = nil
		}, []string{`--cluster-name: required without --infrastructure (a DNS-1123 label such as ocp4; it names the kit)`}},
		{"no backup directory", func(_ *Sources, o *Options) {
			o.BackupDir = ""
		}, []string{`--backup-dir: required: the directory on this machine holding the backup pair (snapshot_<ts>.db and static_kuberesources_<ts>.tar.gz, as cluster-backup.sh wrote them)`}},
		{"a backup directory that does not exist", func(_ *Sources, o *Options) {
			o.BackupDir = "testdata/no-such-backup"
		}, []string{`--backup-dir testdata/no-such-backup: directory testdata/no-such-backup does not exist (a directory holding one snapshot_<ts>.db and the static_kuberesources_<ts>.tar.gz taken with it; relative to the inventory file)`}},
		{"a third-party network plugin", func(s *Sources, _ *Options) {
			s.Network = &Source{Name: "network.json", Data: []byte(`{"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"},
 "status": {"networkType": "Calico"}}`)}
		}, []string{`network.json:2:28: status.networkType: "Calico": restorekit's procedures cover OVNKubernetes and OpenShiftSDN only (a third-party network plugin has its own restore steps)`}},
		{"the network config of a cluster still installing", func(s *Sources, _ *Options) {
			s.Network = &Source{Name: "network.json", Data: []byte(`{"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"}, "status": {}}`)}
		}, []string{`network.json:1:104: status.networkType: missing (the network operator has not reported the cluster network yet, or this is not oc get network.config cluster -o json)`}},
		{"the proxy given as the network", func(s *Sources, _ *Options) {
			s.Network = &Source{Name: "network.json", Data: aws.Proxy.Data}
		}, []string{`network.json:3:13: kind: "Proxy" (expected Network, or a List of them: capture it with oc get network.config cluster -o json)`}},
		{"OpenShift SDN on 4.17, which validate refuses", func(s *Sources, _ *Options) {
			bm := sources(t, "baremetal-416")
			s.Nodes, s.Infrastructure = bm.Nodes, bm.Infrastructure
			s.ClusterVersion.Data = []byte(strings.ReplaceAll(string(bm.ClusterVersion.Data), "4.16.21", "4.17.2"))
			s.Network = &Source{Name: "network.json", Data: []byte(`{"apiVersion": "config.openshift.io/v1", "kind": "Network", "metadata": {"name": "cluster"}, "status": {"networkType": "OpenShiftSDN"}}`)}
		}, []string{`inventory.yaml:37:16: cluster.networkType: OpenShiftSDN does not exist in OpenShift 4.17.2 (it was removed after 4.16: a 4.17 cluster runs OVNKubernetes) (in the inventory the import would write)`}},
		{"ssh settings validate refuses name their flags", func(_ *Sources, o *Options) {
			o.SSH = inventory.SSH{User: "root user", JumpHost: "a,b"}
		}, []string{
			`--ssh-user: "root user" is not a user name (letters, digits, '_', '.' and '-', starting with a letter or '_', at most 32 characters)`,
			`--jump-host: "a,b": one jump host only (for a chain of hops, name the last one here and the others in ~/.ssh/config) ([user@]host[:port], such as admin@bastion.example.com:22)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t, "aws-ipi")
			opts := Options{Output: "inventory.yaml", BackupDir: "testdata/backup"}
			tc.edit(&src, &opts)
			_, err := Import(src, opts)
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if got := strings.Split(ie.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A backup directory given relative to the working directory is written relative to
// the inventory file, where validate looks for it; written to standard output, it
// stays as given.
func TestBackupDirRelativeToOutput(t *testing.T) {
	for _, tc := range []struct{ output, want string }{
		{"testdata/aws-ipi/inventory.yaml", "localDir: ../backup"},
		{"testdata/inventory.yaml", "localDir: backup"},
		{"-", "localDir: testdata/backup"},
	} {
		res, err := Import(sources(t, "aws-ipi"), Options{Output: tc.output, BackupDir: "testdata/backup"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(res.YAML), "\n  "+tc.want+"\n") {
			t.Errorf("output %s: no %q in\n%s", tc.output, tc.want, res.YAML)
		}
	}
}

// What a person should look at, but which still makes a valid inventory.
func TestImportWarnings(t *testing.T) {
	cv := func(history, desired string) Source {
		return Source{Name: "cv.json", Data: []byte(`{"kind": "ClusterVersion", "metadata": {"name": "version"},
 "spec": {"clusterID": "5a4b6c9e", "desiredUpdate": ` + desired + `},
 "status": {"desired": {"version": "4.5.2"}, "history": ` + history + `}}`)}
	}
	completed := `[{"state": "Completed", "version": "4.5.2"}]`
	for _, tc := range []struct {
		name  string
		edit  func(*Sources)
		want  string
		proxy bool
	}{
		{"an update asked for but not started", func(s *Sources) {
			s.ClusterVersion = cv(completed, `{"version": "4.5.3", "image": "quay.io/x@sha256:1"}`)
		}, `cv.json:2:53: warning: spec.desiredUpdate: an update from 4.5.2 to 4.5.3 is in progress (spec.desiredUpdate asks for 4.5.3): the inventory records 4.5.2, the newest completed release.`, false},
		{"an update that has finished leaves desiredUpdate set: no warning", func(s *Sources) {
			s.ClusterVersion = cv(`[{"state": "Completed", "version": "4.5.3"}, {"state": "Completed", "version": "4.5.2"}]`, `{"version": "4.5.3"}`)
		}, ``, false},
		{"a proxy configured but not in effect: none recorded", func(s *Sources) {
			s.Proxy = Source{Name: "proxy.json", Data: []byte(`{"kind": "Proxy", "metadata": {"name": "cluster"}, "spec": {"httpProxy": "http://p:3128", "trustedCA": {"name": ""}}, "status": {}}`)}
		}, `proxy.json:1:129: warning: status.httpProxy: spec.httpProxy is "http://p:3128" but status.httpProxy is "": the operator has not applied the proxy as configured (the inventory records status, what the cluster uses)`, false},
		{"only httpProxy in effect", func(s *Sources) {
			s.Proxy = Source{Name: "proxy.json", Data: []byte(`{"kind": "Proxy", "metadata": {"name": "cluster"}, "spec": {"httpProxy": "http://p:3128", "noProxy": "example.com"}, "status": {"httpProxy": "http://p:3128", "noProxy": ".cluster.local,.svc,example.com,localhost"}}`)}
		}, ``, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t, "aws-ipi")
			tc.edit(&src)
			res, err := Import(src, Options{Output: "-", BackupDir: "testdata/backup"})
			if err != nil {
				t.Fatal(err)
			}
			got := string(lines(res.Warnings))
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, tc.want)
			}
			if hasProxy := res.Inventory.Proxy != nil; hasProxy != tc.proxy {
				t.Errorf("proxy recorded: %v, want %v", res.Inventory.Proxy, tc.proxy)
			}
		})
	}
}
