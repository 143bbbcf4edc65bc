package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleBackup is examples/backup-3: a pair made by a real etcd (go test ./backup
// -run Fixtures -update) of a cluster on 4.5.2 whose masters are these.
const exampleBackup = "../examples/backup-3"

var awsMasters = `  - name: ip-10-0-143-125.ec2.internal
    address: 10.0.143.125
  - name: ip-10-0-154-194.ec2.internal
    address: 10.0.154.194
  - name: ip-10-0-173-171.ec2.internal
    address: 10.0.173.171
`

// exampleInventory is an inventory of the example's cluster reading its backup from
// dir/backup (a copy of the example pair, changed by damage when it is not nil).
func exampleInventory(t *testing.T, version, masters string, damage func(name string, b []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{snapName, staticName} {
		data, err := os.ReadFile(filepath.Join(exampleBackup, name))
		if err != nil {
			t.Fatal(err)
		}
		if damage != nil {
			data = damage(name, data)
		}
		writeFile(t, filepath.Join(dir, "backup", name), string(data))
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(masters, "  - name: "), "\n")
	return writeInventory(t, dir, `apiVersion: restorekit.io/v1alpha1
kind: RecoveryInventory
cluster:
  name: ocp4
  version: `+version+`
backup:
  localDir: backup
recoveryHost: `+first+`
masters:
`+masters)
}

func TestReadBackupRecordsTheSnapshotsRelease(t *testing.T) {
	path := exampleInventory(t, "4.5.2", awsMasters, nil)
	inv, warnings, err := Load(path, LoadOptions{ReadBackup: true})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("err %v, warnings %v", err, warnings)
	}
	r := inv.Backup.SnapshotRelease
	if r == nil || r.Version != "4.5.2" || r.State != Completed || r.Revision == 0 || r.CompletionTime == "" || r.NewestObjectTime == "" {
		t.Fatalf("snapshot release %+v, want 4.5.2 Completed with its revision and times", r)
	}
	if inv.Backup.Files[0].SHA256 != sum(string(mustRead(t, filepath.Join(exampleBackup, snapName)))) {
		t.Error("the snapshot's digest is not the file's")
	}
	// Without ReadBackup only the names and digests are checked.
	inv, _, err = Load(path, LoadOptions{})
	if err != nil || inv.Backup.SnapshotRelease != nil {
		t.Errorf("err %v, release %+v without ReadBackup", err, inv.Backup.SnapshotRelease)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadBackupRefusesAnotherRelease(t *testing.T) {
	path := exampleInventory(t, "4.5.3", awsMasters, nil)
	_, _, err := Load(path, LoadOptions{ReadBackup: true})
	want := path + ":5:12: cluster.version: 4.5.3, but the backup was taken on 4.5.2 (the release its snapshot " + snapName + " records): a backup restores only onto its own release (set cluster.version: 4.5.2 to restore it, or use a backup taken on 4.5.3)"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestReadBackupWarnsOfAMasterTheBackupDoesNotKnow(t *testing.T) {
	masters := strings.Replace(awsMasters, "ip-10-0-173-171.ec2.internal", "ip-10-0-200-9.ec2.internal", 1)
	path := exampleInventory(t, "4.5.2", masters, nil)
	_, warnings, err := Load(path, LoadOptions{ReadBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	want := path + ":14:11: warning: masters[2].name: ip-10-0-200-9.ec2.internal is not a node in the backup (" + snapName + " knows ip-10-0-143-125.ec2.internal, ip-10-0-154-194.ec2.internal, ip-10-0-173-171.ec2.internal): a host replaced since the backup? The restored cluster will not know it until it joins again"
	if len(warnings) != 1 || warnings[0].String() != want {
		t.Errorf("warnings %v, want:\n%s", warnings, want)
	}
}

func TestReadBackupRefusesADamagedPair(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(string, []byte) []byte
		want   string
	}{
		{"flipped byte in the snapshot", func(name string, b []byte) []byte {
			if name == snapName {
				b[len(b)/3] ^= 0x80
			}
			return b
		}, "BACKUP/" + snapName + ": the sha256 that etcdctl snapshot save appended does not match the contents: the file is damaged (copy it again from the host that took it, or take a new backup)"},
		{"not a tar.gz", func(name string, b []byte) []byte {
			if name == staticName {
				return []byte("static")
			}
			return b
		}, "BACKUP/" + staticName + ": not a gzip file (unexpected EOF); cluster-backup.sh writes it with tar -czf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := exampleInventory(t, "4.5.2", awsMasters, tc.damage)
			_, _, err := Load(path, LoadOptions{ReadBackup: true})
			want := path + ":7:13: backup.localDir: " + strings.ReplaceAll(tc.want, "BACKUP", filepath.Join(filepath.Dir(path), "backup"))
			if err == nil || err.Error() != want {
				t.Errorf("got:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

// A normalized inventory records the release; read again offline it is still checked.
func TestRecordedSnapshotRelease(t *testing.T) {
	recorded := func(version, state string) string {
		return strings.Replace(base, "  staticResources: "+staticName+"\n",
			"  staticResources: "+staticName+"\n  snapshotRelease:\n    version: "+version+"\n    state: "+state+"\n    revision: 42\n", 1)
	}
	inv, _, err := Parse("inv.yaml", []byte(recorded("4.5.2", "Completed")), LoadOptions{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := inv.Backup.SnapshotRelease; r == nil || *r != (SnapshotRelease{Version: "4.5.2", State: "Completed", Revision: 42}) {
		t.Errorf("recorded release %+v", r)
	}
	_, _, err = Parse("inv.yaml", []byte(recorded("4.5.1", "Partial")), LoadOptions{Offline: true})
	want := "inv.yaml:5:12: cluster.version: 4.5.2, but the backup was taken on 4.5.1 (the release its snapshot " + snapName + " records): a backup restores only onto its own release (set cluster.version: 4.5.1 to restore it, or use a backup taken on 4.5.2)\n" +
		"inv.yaml:11:12: backup.snapshotRelease.state: " + snapName + " was taken while the cluster was updating to 4.5.1 (the newest ClusterVersion history entry is Partial, not Completed): use a backup taken after the update completed"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}
