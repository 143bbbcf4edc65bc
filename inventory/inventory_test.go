package inventory

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// base is a valid inventory that the table tests below extend or break.
const base = `apiVersion: restorekit.io/v1alpha1
kind: RecoveryInventory
cluster:
  name: ocp4
  version: 4.5.2
backup:
  snapshot: snapshot_2020-08-04_184021.db
  staticResources: static_kuberesources_2020-08-04_184021.tar.gz
recoveryHost: m0
masters:
  - name: m0
    address: 10.0.0.10
  - name: m1
    address: 10.0.0.11
  - name: m2
    address: 10.0.0.12
`

// A quarantine on /tmp (tmpfs on RHCOS) is accepted, with a warning that says why not.
func TestQuarantineOnTmpWarns(t *testing.T) {
	for _, dir := range []string{"/tmp", "/tmp/", "/tmp/restorekit"} {
		_, warnings, err := Parse("inv.yaml", []byte(base+"quarantineDir: "+dir+"\n"), LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(warnings) != 1 || warnings[0].Field != "quarantineDir" || !strings.Contains(warnings[0].Message, "tmpfs") ||
			!strings.Contains(warnings[0].Message, "reboot") || !strings.Contains(warnings[0].Message, DefaultQuarantineDir) {
			t.Errorf("quarantineDir %s: warnings %v, want one naming tmpfs, the reboot and the default", dir, warnings)
		}
	}
	if _, warnings, _ := Parse("inv.yaml", []byte(base+"quarantineDir: /tmpx\n"), LoadOptions{}); len(warnings) != 0 {
		t.Errorf("/tmpx is not /tmp: %v", warnings)
	}
}

func TestDefaults(t *testing.T) {
	inv, warnings, err := Parse("inv.yaml", []byte(base), LoadOptions{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("err %v, warnings %v", err, warnings)
	}
	want := SSH{User: "core", Port: 22, StrictHostKeyChecking: "yes", ConnectTimeout: Duration(10 * time.Second)}
	if inv.SSH != want {
		t.Errorf("SSH = %+v, want %+v", inv.SSH, want)
	}
	if inv.Timeouts != DefaultTimeouts {
		t.Errorf("Timeouts = %+v, want %+v", inv.Timeouts, DefaultTimeouts)
	}
	if inv.Backup.RemoteDir != "/home/core/backup" || inv.QuarantineDir != "/var/lib/restorekit" {
		t.Errorf("remoteDir %q, quarantineDir %q", inv.Backup.RemoteDir, inv.QuarantineDir)
	}
	if inv.Proxy != nil || inv.Backup.Files != nil || inv.Backup.LocalDir != "" {
		t.Errorf("unset fields filled in: proxy %+v, files %+v, localDir %q", inv.Proxy, inv.Backup.Files, inv.Backup.LocalDir)
	}
	if inv.Recovery().Name != "m0" || len(inv.Others()) != 2 || inv.Others()[0].Name != "m1" {
		t.Errorf("recovery %+v, others %+v", inv.Recovery(), inv.Others())
	}
}

func TestEmptySectionsDropped(t *testing.T) {
	src := strings.Replace(base, "    address: 10.0.0.11\n", "    address: 10.0.0.11\n    ssh: {}\n", 1) + "proxy:\n  httpProxy: \"\"\n"
	inv, _, err := Parse("inv.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Proxy != nil || inv.Masters[1].SSH != nil {
		t.Errorf("empty sections kept: proxy %+v, masters[1].ssh %+v", inv.Proxy, inv.Masters[1].SSH)
	}
}

func TestSetValuesKept(t *testing.T) {
	src := base + `ssh:
  user: admin
  port: 2222
  connectTimeout: 1m30s
timeouts:
  restore: 1h30m
  pollInterval: 1500ms
quarantineDir: /var/tmp/
`
	inv, _, err := Parse("inv.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inv.SSH.User != "admin" || inv.SSH.Port != 2222 || inv.SSH.ConnectTimeout != Duration(90*time.Second) {
		t.Errorf("SSH = %+v", inv.SSH)
	}
	if inv.Timeouts.Restore != Duration(90*time.Minute) || inv.Timeouts.PollInterval.Seconds() != 2 {
		t.Errorf("timeouts = %+v", inv.Timeouts)
	}
	if inv.Timeouts.KubeletRestart != DefaultTimeouts.KubeletRestart {
		t.Errorf("unset timeout not defaulted: %v", inv.Timeouts.KubeletRestart)
	}
	if inv.QuarantineDir != "/var/tmp" {
		t.Errorf("quarantineDir %q, want it cleaned to /var/tmp", inv.QuarantineDir)
	}
}

func TestEffectiveSSH(t *testing.T) {
	inv := &Inventory{SSH: SSH{User: "core", Port: 22, IdentityFile: "~/.ssh/a", JumpHost: "bastion",
		KnownHostsFile: "~/.ssh/kh", StrictHostKeyChecking: "yes", ConnectTimeout: Duration(10 * time.Second)}}
	for _, tc := range []struct {
		name     string
		override *SSH
		want     SSH
	}{
		{"no override", nil, inv.SSH},
		{"empty override", &SSH{}, inv.SSH},
		{"port only", &SSH{Port: 2222}, SSH{User: "core", Port: 2222, IdentityFile: "~/.ssh/a", JumpHost: "bastion",
			KnownHostsFile: "~/.ssh/kh", StrictHostKeyChecking: "yes", ConnectTimeout: Duration(10 * time.Second)}},
		{"every field", &SSH{User: "admin", Port: 2200, IdentityFile: "~/.ssh/b", JumpHost: "other@jump:2",
			KnownHostsFile: "/etc/kh", StrictHostKeyChecking: "accept-new", ConnectTimeout: Duration(time.Minute)},
			SSH{User: "admin", Port: 2200, IdentityFile: "~/.ssh/b", JumpHost: "other@jump:2",
				KnownHostsFile: "/etc/kh", StrictHostKeyChecking: "accept-new", ConnectTimeout: Duration(time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := inv.EffectiveSSH(Master{Name: "m", SSH: tc.override})
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// Through Load: a per-host override over defaulted inventory-wide settings.
	src := strings.Replace(base, "    address: 10.0.0.11\n", "    address: 10.0.0.11\n    ssh:\n      port: 2222\n      user: admin\n", 1)
	loaded, _, err := Parse("inv.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := loaded.EffectiveSSH(loaded.Masters[1])
	want := SSH{User: "admin", Port: 2222, StrictHostKeyChecking: "yes", ConnectTimeout: DefaultConnectTimeout}
	if got != want {
		t.Errorf("masters[1]: got %+v, want %+v", got, want)
	}
	if got := loaded.EffectiveSSH(loaded.Masters[0]); got != loaded.SSH {
		t.Errorf("masters[0]: got %+v, want the inventory-wide %+v", got, loaded.SSH)
	}
}

func TestExpectedHostname(t *testing.T) {
	if got := (Master{Name: "m0.example.com"}).ExpectedHostname(); got != "m0.example.com" {
		t.Errorf("got %q", got)
	}
	if got := (Master{Name: "m0.example.com", Hostname: "m0"}).ExpectedHostname(); got != "m0" {
		t.Errorf("got %q", got)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		str     string
		seconds int64
	}{
		{"10m", 10 * time.Minute, "10m", 600},
		{"1h", time.Hour, "1h", 3600},
		{"1h30m", 90 * time.Minute, "1h30m", 5400},
		{"90s", 90 * time.Second, "1m30s", 90},
		{"1500ms", 1500 * time.Millisecond, "1.5s", 2},
		{"2h0m5s", 2*time.Hour + 5*time.Second, "2h0m5s", 7205},
	} {
		var d Duration
		if err := yaml.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if time.Duration(d) != tc.want || d.String() != tc.str || d.Seconds() != tc.seconds {
			t.Errorf("%s: got %v, %q, %ds; want %v, %q, %ds", tc.in, time.Duration(d), d.String(), d.Seconds(), tc.want, tc.str, tc.seconds)
		}
		out, err := yaml.Marshal(d)
		if err != nil || strings.TrimSpace(string(out)) != tc.str {
			t.Errorf("%s: marshals to %q, %v", tc.in, out, err)
		}
	}
	for _, bad := range []string{"10", "ten minutes", "{a: 1}"} {
		var d Duration
		if err := yaml.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestJumpHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bastion", ""},
		{"bastion.example.com:2222", ""},
		{"admin@bastion.example.com", ""},
		{"admin@10.0.0.1:22", ""},
		{"[2001:db8::1]", ""},
		{"core@[2001:db8::1]:22", ""},
		{"", "no host"},
		{"admin@", "no host"},
		{":22", "no host"},
		{"bastion:0", `port "0" is not a number in 1-65535`},
		{"bastion:+22", `port "+22" is not a number in 1-65535`},
		{"bastion:ssh", `port "ssh" is not a number in 1-65535`},
		{"-oProxyCommand=x", `"-oProxyCommand=x" is not an IP address or DNS name`},
		{"bad user@bastion", `"bad user" is not a user name`},
		{"[2001:db8::1", "unclosed ["},
		{"[2001:db8::1]x", `unexpected "x" after ]`},
		{"a@b,c@d", "one jump host only (for a chain of hops, name the last one here and the others in ~/.ssh/config)"},
	} {
		if got := jumpHostProblem(tc.in); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMessages covers single rules with their exact message, on top of the fixtures.
func TestMessages(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"version with v", "version: 4.5.2", "version: v4.5.2",
			[]string{`inv.yaml:5:12: cluster.version: "v4.5.2" is not a full x.y.z release (such as 4.5.2: a backup restores only onto its own z-stream)`}},
		{"version with suffix", "version: 4.5.2", "version: 4.5.2-rc.1",
			[]string{`inv.yaml:5:12: cluster.version: "4.5.2-rc.1" is not a full x.y.z release (such as 4.5.2: a backup restores only onto its own z-stream)`}},
		{"cluster name too long", "name: ocp4", "name: " + strings.Repeat("a", 64),
			[]string{`inv.yaml:4:9: cluster.name: "` + strings.Repeat("a", 64) + `" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`}},
		{"address case-insensitive duplicate", "address: 10.0.0.11", "address: M0.example.com\n  - name: m3\n    address: m0.EXAMPLE.com",
			[]string{`inv.yaml:16:14: masters[2].address: duplicate of masters[1].address (each node has its own address)`}},
		{"zero masters", "masters:\n  - name: m0\n    address: 10.0.0.10\n  - name: m1\n    address: 10.0.0.11\n  - name: m2\n    address: 10.0.0.12\n", "masters: []\n",
			[]string{
				`inv.yaml:9:15: recoveryHost: "m0" names no master (the name of one of the masters)`,
				`inv.yaml:10:10: masters: 0 listed (every control-plane host, each with name and address)`,
			}},
		{"remoteDir is /", "  staticResources:", "  remoteDir: //\n  staticResources:",
			[]string{`inv.yaml:8:14: backup.remoteDir: "//" is the root directory (a directory below /, such as /var/tmp)`}},
		{"merge key is unknown", "recoveryHost: m0", "recoveryHost: m0\n<<: {a: 1}",
			[]string{`inv.yaml:10:1: <<: unknown field (valid in the inventory: apiVersion, kind, cluster, backup, recoveryHost, masters, workers, ssh, proxy, timeouts, quarantineDir)`}},
		{"trailing document marker", "    address: 10.0.0.12\n", "    address: 10.0.0.12\n---\n# nothing more\n", nil},
		{"second document", "    address: 10.0.0.12\n", "    address: 10.0.0.12\n---\nkind: RecoveryInventory\n",
			[]string{`inv.yaml:18:1: a second YAML document (one inventory per file)`}},
		{"control character", "recoveryHost: m0", "recoveryHost: m0\x01",
			[]string{`inv.yaml:9:17: the file contains the control character U+0001 (an inventory is UTF-8 text)`}},
		{"byte order mark", "apiVersion:", "\ufeffapiVersion:", nil},
		{"alias is followed", "recoveryHost: m0", "recoveryHost: m0\nssh:\n  identityFile: &q relative\nquarantineDir: *q",
			[]string{
				`inv.yaml:11:17: ssh.identityFile: "relative" is a relative path, which ssh would look up in whatever directory recover.sh is started from (write it absolute, or under ~/ such as ~/relative: ssh expands ~ on the machine running recover.sh)`,
				`inv.yaml:12:16: quarantineDir: "relative" is not an absolute path (a directory on the masters such as /var/tmp)`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.old, tc.new, 1)
			if src == base {
				t.Fatalf("%q not in base", tc.old)
			}
			_, _, err := Parse("inv.yaml", []byte(src), LoadOptions{})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
