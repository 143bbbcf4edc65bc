package inventory

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
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

func problemLines(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestInvalid loads every testdata/invalid-*.yaml and compares the full list of
// problems (errors, then warnings) with invalid-*.err.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			inv, warnings, err := Load(file, LoadOptions{})
			if err == nil {
				t.Fatalf("loaded without error: %+v", inv)
			}
			if inv != nil {
				t.Errorf("an invalid inventory came back non-nil")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			for _, p := range e.Problems {
				if p.File != file || p.Line < 1 || p.Col < 1 || p.Warning {
					t.Errorf("malformed problem %+v", p)
				}
			}
			golden(t, name+".err", []byte(err.Error()+"\n"+problemLines(warnings)))
		})
	}
}

// TestValid loads every testdata/valid-*.yaml and compares its warnings and the
// normalized inventory with valid-*.out.
func TestValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	// ~/ in ssh file paths is testdata/home, whatever machine runs the tests.
	t.Setenv("HOME", filepath.Join(abs, "home"))
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			inv, warnings, err := Load(file, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if inv.Path != file {
				t.Errorf("Path = %q, want %q", inv.Path, file)
			}
			norm, err := yaml.Marshal(inv)
			if err != nil {
				t.Fatal(err)
			}
			out := problemLines(warnings) + "---\n" + strings.ReplaceAll(string(norm), abs, "$TESTDATA")
			golden(t, name+".out", []byte(out))

			// The normalized inventory is itself valid and loads to the same thing,
			// offline (as a kit re-renders it) and, when it has a localDir, online.
			for _, opts := range []LoadOptions{{Offline: true}, {}} {
				again, _, err := Parse(filepath.Join(abs, "normalized.yaml"), norm, opts)
				if err != nil {
					t.Fatalf("normalized inventory (%+v): %v\n%s", opts, err, norm)
				}
				again.Path = inv.Path
				if !equalInventories(t, inv, again) {
					t.Errorf("normalized inventory (%+v) loads differently", opts)
				}
			}
		})
	}
}

func equalInventories(t *testing.T, a, b *Inventory) bool {
	t.Helper()
	x, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Logf("first:\n%s\nsecond:\n%s", x, y)
		return false
	}
	return true
}

// TestExamples checks that the shipped examples validate without warnings, on a
// machine that has the ssh files they name (testdata/home).
func TestExamples(t *testing.T) {
	home, err := filepath.Abs(filepath.Join("testdata", "home"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	for _, file := range []string{"three-masters.yaml", "five-masters-proxy-jumphost.yaml"} {
		t.Run(file, func(t *testing.T) {
			inv, warnings, err := Load(filepath.Join("..", "examples", file), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %s", problemLines(warnings))
			}
			if len(inv.Backup.Files) != 2 {
				t.Fatalf("backup files = %+v, want the pair", inv.Backup.Files)
			}
			for _, f := range inv.Backup.Files {
				if f.Size == 0 || len(f.SHA256) != 64 || f.Path == "" {
					t.Errorf("backup file not filled in: %+v", f)
				}
			}
		})
	}
}

// TestExample checks that what restorekit init writes is a valid inventory as it is,
// with one warning: its masters are placeholders to replace.
func TestExample(t *testing.T) {
	inv, warnings, err := Parse("inventory.yaml", []byte(Example), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "warning: masters: restorekit init's example values are unchanged (master-0.ocp4.example.com, master-1.ocp4.example.com, master-2.ocp4.example.com)"
	if len(warnings) != 1 || !strings.Contains(warnings[0].String(), want) {
		t.Errorf("warnings:\n%swant only one with %q", problemLines(warnings), want)
	}
	if inv.Recovery().Name == "" || len(inv.Others()) < 2 {
		t.Errorf("example has recovery host %q and %d others", inv.Recovery().Name, len(inv.Others()))
	}
	// Every field of the schema appears in the example, at least in a comment.
	for _, key := range []string{
		"apiVersion", "kind", "cluster", "name", "version", "topology", "backup", "localDir", "snapshot",
		"staticResources", "remoteDir", "allowPossiblyDirty", "recoveryHost", "masters", "address",
		"hostname", "ssh", "user", "port", "identityFile", "jumpHost", "knownHostsFile",
		"strictHostKeyChecking", "connectTimeout", "proxy", "httpProxy", "httpsProxy", "noProxy",
		"timeouts", "staticPodStop", "restore", "kubeletRestart", "singleMember", "etcdRollout",
		"kubeAPIServerRollout", "kubeControllerManagerRollout", "kubeSchedulerRollout",
		"pollInterval", "quarantineDir",
	} {
		if !strings.Contains(Example, key+":") {
			t.Errorf("the example does not mention %s", key)
		}
	}
}

// TestExampleDefaults checks that the defaults the example shows in its comments are
// the ones Load applies.
func TestExampleDefaults(t *testing.T) {
	d := DefaultTimeouts
	for _, want := range []string{
		"remoteDir: " + DefaultRemoteDir,
		"user: " + DefaultSSHUser,
		"port: " + strconv.Itoa(DefaultSSHPort),
		"strictHostKeyChecking: " + DefaultStrictHostKeyChecking,
		"connectTimeout: " + fmtDur(time.Duration(DefaultConnectTimeout)),
		"staticPodStop: " + fmtDur(time.Duration(d.StaticPodStop)),
		"restore: " + fmtDur(time.Duration(d.Restore)),
		"kubeletRestart: " + fmtDur(time.Duration(d.KubeletRestart)),
		"singleMember: " + fmtDur(time.Duration(d.SingleMember)),
		"etcdRollout: " + fmtDur(time.Duration(d.EtcdRollout)),
		"kubeAPIServerRollout: " + fmtDur(time.Duration(d.KubeAPIServerRollout)),
		"kubeControllerManagerRollout: " + fmtDur(time.Duration(d.KubeControllerManagerRollout)),
		"kubeSchedulerRollout: " + fmtDur(time.Duration(d.KubeSchedulerRollout)),
		"pollInterval: " + fmtDur(time.Duration(d.PollInterval)),
		"quarantineDir: " + DefaultQuarantineDir,
		"allowPossiblyDirty: false",
	} {
		if !strings.Contains(Example, want+"\n") && !strings.Contains(Example, want+" ") {
			t.Errorf("the example does not show the default %q", want)
		}
	}
}

// TestExampleFor checks that the header of the file init writes names that file.
func TestExampleFor(t *testing.T) {
	got := ExampleFor("site/prod-east.yaml")
	if !strings.Contains(got, "\n#   restorekit validate site/prod-east.yaml\n") {
		t.Errorf("header does not name the file:\n%s", got[:300])
	}
	if strings.Count(got, "restorekit validate") != 1 {
		t.Errorf("the header should name one file once")
	}
	if strings.Replace(got, "site/prod-east.yaml", "inventory.yaml", 1) != Example {
		t.Errorf("ExampleFor changed more than the file name")
	}
}

// TestSSHFilesOffline checks that a kit re-rendered offline (on another machine) is
// not judged by the ssh files of the machine doing it.
func TestSSHFilesOffline(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	_, warnings, err := Load(filepath.Join("testdata", "valid-ssh-files.yaml"), LoadOptions{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		if strings.HasSuffix(w.Field, "identityFile") || strings.HasSuffix(w.Field, "knownHostsFile") {
			t.Errorf("offline, yet: %s", w)
		}
	}
}

// TestKnownHostsThroughJumpHost checks that the fill-in advice says where ssh-keyscan
// reaches the masters when only a jump host does.
func TestKnownHostsThroughJumpHost(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	src := base + "ssh:\n  jumpHost: admin@bastion.example.com\n  knownHostsFile: ~/.ssh/kh\n"
	_, warnings, err := Parse("inv.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "ssh.knownHostsFile: ~/.ssh/kh does not exist, and with strictHostKeyChecking yes ssh refuses every master not in it: fill it with ssh-keyscan -p 22 10.0.0.10 10.0.0.11 10.0.0.12 >> ~/.ssh/kh (run it on the jump host, which reaches the masters, and bring the lines here), then compare"
	if got := problemLines(warnings); !strings.Contains(got, want) {
		t.Errorf("warnings:\n%swant one containing %q", got, want)
	}
}
