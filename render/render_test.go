package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/procedures"
)

var examples = []string{"three-masters", "five-masters-proxy-jumphost", "three-masters-418", "single-node-420", "three-masters-416"}

func renderExample(t testing.TB, name string) *Kit {
	t.Helper()
	kit, err := Render(loadExample(t, name), Options{ToolVersion: "test"})
	if err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	return kit
}

func TestExampleKitLayout(t *testing.T) {
	tests := []struct {
		example string
		kit     string
		files   []string
	}{
		{"three-masters", "ocp4-recovery-kit", []string{
			"RUNBOOK.md",
			"hosts/ip-10-0-143-125.ec2.internal/05-restore.sh",
			"hosts/ip-10-0-143-125.ec2.internal/08-repair-node.sh",
			"hosts/ip-10-0-143-125.ec2.internal/08-restart-kubelet.sh",
			"hosts/ip-10-0-154-194.ec2.internal/04-stop-static-pods.sh",
			"hosts/ip-10-0-154-194.ec2.internal/08-repair-node.sh",
			"hosts/ip-10-0-154-194.ec2.internal/08-restart-kubelet.sh",
			"hosts/ip-10-0-173-171.ec2.internal/04-stop-static-pods.sh",
			"hosts/ip-10-0-173-171.ec2.internal/08-repair-node.sh",
			"hosts/ip-10-0-173-171.ec2.internal/08-restart-kubelet.sh",
			"inventory.yaml", "kit.json", "lib/host.sh", "procedure/procedure.md", "recover.sh", "redeploy.sh", "ssh_config",
		}},
		{"five-masters-proxy-jumphost", "prod-east-recovery-kit", []string{
			"RUNBOOK.md",
			"hosts/master-0.prod-east.example.com/05-restore.sh",
			"hosts/master-0.prod-east.example.com/08-repair-node.sh",
			"hosts/master-0.prod-east.example.com/08-restart-kubelet.sh",
			"hosts/master-1.prod-east.example.com/04-stop-static-pods.sh",
			"hosts/master-1.prod-east.example.com/08-repair-node.sh",
			"hosts/master-1.prod-east.example.com/08-restart-kubelet.sh",
			"hosts/master-2.prod-east.example.com/04-stop-static-pods.sh",
			"hosts/master-2.prod-east.example.com/08-repair-node.sh",
			"hosts/master-2.prod-east.example.com/08-restart-kubelet.sh",
			"hosts/master-3.prod-east.example.com/04-stop-static-pods.sh",
			"hosts/master-3.prod-east.example.com/08-repair-node.sh",
			"hosts/master-3.prod-east.example.com/08-restart-kubelet.sh",
			"hosts/master-4.prod-east.example.com/04-stop-static-pods.sh",
			"hosts/master-4.prod-east.example.com/08-repair-node.sh",
			"hosts/master-4.prod-east.example.com/08-restart-kubelet.sh",
			"inventory.yaml", "kit.json", "lib/host.sh", "procedure/procedure.md", "recover.sh", "redeploy.sh", "ssh_config",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			kit := renderExample(t, tt.example)
			if kit.Name != tt.kit {
				t.Errorf("kit name %q, want %q", kit.Name, tt.kit)
			}
			var got []string
			for _, f := range kit.Files {
				got = append(got, f.Name)
				// Scripts that run are executable; the library they source is not.
				wantMode := "-rw-r--r--"
				if f.IsScript() && !f.Library {
					wantMode = "-rwxr-xr-x"
				}
				if f.Mode.String() != wantMode {
					t.Errorf("%s: mode %s, want %s", f.Name, f.Mode, wantMode)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.files, "\n") {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.files, "\n"))
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, ex := range examples {
		a, b := renderExample(t, ex), renderExample(t, ex)
		if len(a.Files) != len(b.Files) {
			t.Fatalf("%s: %d files, then %d", ex, len(a.Files), len(b.Files))
		}
		for i := range a.Files {
			if a.Files[i].Name != b.Files[i].Name || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) || a.Files[i].Mode != b.Files[i].Mode {
				t.Errorf("%s: %s differs between two renders", ex, a.Files[i].Name)
			}
		}
	}
}

func TestScriptsAreCanonicalAndParse(t *testing.T) {
	_, bashErr := exec.LookPath("bash")
	for _, ex := range examples {
		for _, f := range renderExample(t, ex).Files {
			if !f.IsScript() {
				continue
			}
			again, err := Format(f.Name, f.Data)
			if err != nil {
				t.Errorf("%s/%s: %v", ex, f.Name, err)
				continue
			}
			if !bytes.Equal(again, f.Data) {
				t.Errorf("%s/%s: not in canonical form (Format changes it)", ex, f.Name)
			}
			if bashErr == nil {
				cmd := exec.Command("bash", "-n")
				cmd.Stdin = bytes.NewReader(f.Data)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s/%s: bash -n: %v\n%s", ex, f.Name, err, out)
				}
			}
		}
	}
}

// Every host script starts the same way: shebang, header comment, then
// `set -euo pipefail` as the first statement; the header says what and how.
// The kit carries the procedure page it follows (air-gapped sites have nothing else),
// and every file of the kit cites the page by its path in the kit.
func TestKitCarriesItsProcedurePage(t *testing.T) {
	for _, ex := range examples {
		kit := renderExample(t, ex)
		want, err := fs.ReadFile(procedures.FS, kit.Profile.Page)
		if err != nil {
			t.Fatal(err)
		}
		page := kit.File("procedure/" + kit.Profile.Page)
		if page == nil || !bytes.Equal(page.Data, want) {
			t.Fatalf("%s: the kit lacks procedure/%s, or it is not the profile's page", ex, kit.Profile.Page)
		}
		bare := regexp.MustCompile(`(^|[^/])\b` + regexp.QuoteMeta(kit.Profile.Page))
		for _, f := range kit.Files {
			if f.Name == page.Name {
				continue
			}
			for i, line := range strings.Split(string(f.Data), "\n") {
				if bare.MatchString(line) {
					t.Errorf("%s:%d cites %s, not its path in the kit procedure/%s: %s", f.Name, i+1, kit.Profile.Page, kit.Profile.Page, line)
				}
			}
		}
	}
}

func TestHostScriptHeaders(t *testing.T) {
	for _, ex := range examples {
		kit := renderExample(t, ex)
		for _, f := range kit.Files {
			if !strings.HasPrefix(f.Name, "hosts/") {
				continue
			}
			src := string(f.Data)
			if !strings.HasPrefix(src, "#!/usr/bin/env bash\n") {
				t.Errorf("%s: does not start with #!/usr/bin/env bash", f.Name)
			}
			file, err := NewParser().Parse(bytes.NewReader(f.Data), f.Name)
			if err != nil {
				t.Fatal(err)
			}
			var first bytes.Buffer
			if err := syntax.NewPrinter().Print(&first, file.Stmts[0].Cmd); err != nil {
				t.Fatal(err)
			}
			if first.String() != "set -euo pipefail" {
				t.Errorf("%s: first statement is %q", f.Name, first.String())
			}
			node := strings.Split(f.Name, "/")[1]
			for _, want := range []string{
				"# Cluster:  " + kit.Inventory.Cluster.Name + " (OpenShift " + kit.Inventory.Cluster.Version,
				"# Host:     " + node,
				"# Role:     ",
				"procedure/" + kit.Profile.Page + " step ",
				"sudo bash ./" + strings.Split(f.Name, "/")[2],
				"# Exit codes:",
			} {
				if !strings.Contains(src, want) {
					t.Errorf("%s: header lacks %q", f.Name, want)
				}
			}
			if n := commandNames(file)["grep"]; n > 0 {
				t.Errorf("%s: calls grep %d times (container filters must be exact crictl name filters)", f.Name, n)
			}
		}
	}
}

// TestHostScriptsPassShellcheck: every host script, and the library it sources, is clean
// under ShellCheck following the source as a person would run it over the kit
// (shellcheck -x -P SCRIPTDIR).
func TestHostScriptsPassShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not on PATH")
	}
	for _, ex := range examples {
		kit := renderExample(t, ex)
		dir := t.TempDir()
		for _, f := range kit.Files {
			p := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range kit.Files {
			if f.Runs != RunsOnHost {
				continue
			}
			t.Run(ex+"/"+f.Name, func(t *testing.T) {
				t.Parallel()
				cmd := exec.Command("shellcheck", "-x", "-P", "SCRIPTDIR", "-s", "bash", filepath.FromSlash(f.Name))
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s/%s: shellcheck: %v\n%s", ex, f.Name, err, out)
				}
			})
		}
	}
}

func TestUnsupportedVersionIsRefused(t *testing.T) {
	for _, v := range []string{"4.6.1", "4.4.0", "3.11.0", "5.5.0", "4.5"} {
		inv := loadExample(t, "three-masters")
		inv.Cluster.Version = v
		_, err := Render(inv, Options{})
		if err == nil {
			t.Errorf("version %s rendered", v)
			continue
		}
		for _, want := range []string{v, "supported: 4.5.x"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("version %s: error %q lacks %q", v, err, want)
			}
		}
	}
}

func TestRenderErrorsNameTemplateAndLine(t *testing.T) {
	ok := "#!/usr/bin/env bash\nset -euo pipefail\necho ok\n"
	base := func() fstest.MapFS {
		fs := fstest.MapFS{}
		for _, name := range []string{"RUNBOOK.md.tmpl", "recover.sh.tmpl", "redeploy.sh.tmpl", "hosts/stop-static-pods.sh.tmpl", "hosts/restore.sh.tmpl", "hosts/restart-kubelet.sh.tmpl"} {
			fs[name] = &fstest.MapFile{Data: []byte(ok)}
		}
		fs["lib/host.sh.tmpl"] = &fstest.MapFile{Data: []byte("# shellcheck shell=bash\nlib() { :; }\n")}
		fs["ssh_config.tmpl"] = &fstest.MapFile{Data: []byte("Host x\n")}
		return fs
	}
	tests := []struct {
		name string
		file string
		src  string
		want []string
	}{
		{"parse error", "hosts/restore.sh.tmpl", "#!/usr/bin/env bash\n\n{{ if }}\n", []string{"hosts/restore.sh.tmpl:3", "missing value for if"}},
		{"missing field", "RUNBOOK.md.tmpl", "# Runbook\n\n{{ .Inv.Cluster.Nope }}\n", []string{"RUNBOOK.md.tmpl:3:", "Nope"}},
		{"missing map key", "recover.sh.tmpl", "#!/usr/bin/env bash\n{{ index .Missing \"x\" }}\n", []string{"recover.sh.tmpl:2:"}},
		{"sprig quote", "hosts/stop-static-pods.sh.tmpl", "#!/usr/bin/env bash\necho {{ quote .Inv.Cluster.Name }}\n", []string{"hosts/stop-static-pods.sh.tmpl:2", `"quote" not defined`}},
		{"shq of a NUL", "hosts/restart-kubelet.sh.tmpl", "#!/usr/bin/env bash\n\necho {{ shq \"a\\x00b\" }}\n", []string{"hosts/restart-kubelet.sh.tmpl:3:", "shq"}},
		{"sshq of a quote", "ssh_config.tmpl", "Host x\n\n  User {{ sshq \"a\\\"b\" }}\n", []string{"ssh_config.tmpl:3:", "sshq", "7.4"}},
		{"not bash", "redeploy.sh.tmpl", "#!/usr/bin/env bash\nif then fi\n", []string{"redeploy.sh.tmpl", "a template bug"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := base()
			fs[tt.file] = &fstest.MapFile{Data: []byte(tt.src)}
			_, err := Render(loadExample(t, "three-masters"), Options{Templates: fs})
			if err == nil {
				t.Fatal("rendered")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
	t.Run("missing template", func(t *testing.T) {
		fs := base()
		delete(fs, "hosts/restore.sh.tmpl")
		_, err := Render(loadExample(t, "three-masters"), Options{Templates: fs})
		if err == nil || !strings.Contains(err.Error(), "hosts/restore.sh.tmpl: not found") {
			t.Errorf("error %v, want hosts/restore.sh.tmpl: not found", err)
		}
	})
}

func TestAcceptedHostnames(t *testing.T) {
	inv := &inventory.Inventory{Masters: []inventory.Master{
		{Name: "master-0.a.example.com"},
		{Name: "master-1.a.example.com", Hostname: "master-1"},
		{Name: "m2.a.example.com"},
		{Name: "m2.b.example.com"},
		{Name: "single"},
	}}
	tests := []struct {
		master int
		want   []string
	}{
		{0, []string{"master-0.a.example.com", "master-0"}},
		{1, []string{"master-1"}},
		{2, []string{"m2.a.example.com"}}, // m2 is ambiguous: only the FQDN
		{3, []string{"m2.b.example.com"}},
		{4, []string{"single"}},
	}
	for _, tt := range tests {
		got := acceptedHostnames(inv, inv.Masters[tt.master])
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: %v, want %v", inv.Masters[tt.master].Name, got, tt.want)
		}
	}
}

func TestBackupPair(t *testing.T) {
	files := []inventory.BackupFile{
		{Name: "static_kuberesources_1.tar.gz", Size: 2, SHA256: "bb", Path: "/x/s"},
		{Name: "snapshot_1.db", Size: 1, SHA256: "aa", Path: "/x/d"},
	}
	got, err := backupPair(inventory.Backup{Files: files})
	if err != nil || got[0].Name != "snapshot_1.db" || got[0].SHA256 != "aa" || got[1].Size != 2 || got[0].Path != "" {
		t.Errorf("from files: %+v, %v", got, err)
	}
	got, err = backupPair(inventory.Backup{Snapshot: "snapshot_1.db", StaticResources: "static_kuberesources_1.tar.gz"})
	if err != nil || got[0].Name != "snapshot_1.db" || got[1].Name != "static_kuberesources_1.tar.gz" || got[0].SHA256 != "" {
		t.Errorf("from names: %+v, %v", got, err)
	}
	if _, err := backupPair(inventory.Backup{Snapshot: "snapshot_1.db"}); err == nil {
		t.Errorf("half a pair accepted")
	}
}

// commandNames counts the literal command names a script calls.
func commandNames(f *syntax.File) map[string]int {
	names := map[string]int{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if call, ok := n.(*syntax.CallExpr); ok && len(call.Args) > 0 {
			if lit := call.Args[0].Lit(); lit != "" {
				names[lit]++
			}
		}
		return true
	})
	return names
}

// BenchmarkRender renders the five-master example kit (templates parsed once, as
// for every render from the embedded templates).
func BenchmarkRender(b *testing.B) {
	inv := loadExample(b, "five-masters-proxy-jumphost")
	for b.Loop() {
		if _, err := Render(inv, Options{ToolVersion: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// Masters run bash 4.4 (RHEL CoreOS 4.5): the host scripts use nothing newer.
func TestHostScriptsNeedOnlyBash44(t *testing.T) {
	newer := map[string]string{"EPOCHSECONDS": "bash 5.0", "EPOCHREALTIME": "bash 5.0", "SRANDOM": "bash 5.1", "BASH_ARGV0": "bash 5.0"}
	for _, ex := range examples {
		for _, f := range renderExample(t, ex).Files {
			if !strings.HasPrefix(f.Name, "hosts/") {
				continue
			}
			file, err := NewParser().Parse(bytes.NewReader(f.Data), f.Name)
			if err != nil {
				t.Fatal(err)
			}
			syntax.Walk(file, func(n syntax.Node) bool {
				switch x := n.(type) {
				case *syntax.ParamExp:
					if v, ok := newer[x.Param.Value]; ok {
						t.Errorf("%s:%s: $%s needs %s", f.Name, x.Pos(), x.Param.Value, v)
					}
					if x.Exp != nil && x.Exp.Op >= syntax.OtherParamOps {
						t.Errorf("%s:%s: ${%s@...} needs bash 4.4+ transformations; avoid them", f.Name, x.Pos(), x.Param.Value)
					}
				case *syntax.CallExpr:
					if len(x.Args) > 1 {
						cmd, arg := x.Args[0].Lit(), x.Args[1].Lit()
						if (cmd == "wait" && arg == "-p") || ((cmd == "mapfile" || cmd == "readarray") && arg == "-d") {
							t.Errorf("%s:%s: %s %s is newer than the bash 4.4 the masters run (or kit policy forbids it)", f.Name, x.Pos(), cmd, arg)
						}
					}
				}
				return true
			})
		}
	}
}

// Every wait of an offered profile says how long it usually takes, below where the kit
// gives up; the RUNBOOK and the plan show both, and the expected total.
func TestWaitsSayHowLongTheyUsuallyTake(t *testing.T) {
	kit := renderExample(t, "three-masters")
	var sum time.Duration
	for _, s := range kit.Plan.Steps {
		if !s.Manual { // a troubleshooting step is not part of the total
			sum += s.Usually
		}
		if s.Timeout == "" {
			continue
		}
		if s.Usually <= 0 || s.Usually >= time.Duration(s.TimeoutValue) {
			t.Errorf("step %s: usually %s, want more than 0 and less than its timeout %s", s.ID, s.Usually, s.TimeoutValue)
		}
	}
	runbook := string(kit.File("RUNBOOK.md").Data)
	for _, want := range []string{
		"| `restore` | 5-7 | on the recovery host: export the proxy and run cluster-restore.sh with the backup | ip-10-0-143-125.ec2.internal | yes | 5m | 20m (timeouts.restore) |",
		"Time: usually about 5m; the kit gives up after 20m (timeouts.restore).",
		"Expected total: about " + inventory.Duration(sum).String() + ", the usual times added up; the waits give up after 4h15m at most in all",
	} {
		if !strings.Contains(runbook, want) {
			t.Errorf("RUNBOOK.md lacks %q", want)
		}
	}
	var plan strings.Builder
	if err := kit.Plan.WriteText(&plan, kit.Inventory); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^restore +5-7 +\S+ +yes +20m \(timeouts.restore\) +5m +on the recovery host`).MatchString(plan.String()) ||
		!strings.Contains(plan.String(), "\nExpected total: about "+inventory.Duration(sum).String()+",") {
		t.Errorf("restorekit plan lacks the usual times or the total:\n%s", plan.String())
	}
}

// plan --commands lists every host step on each of its hosts, in the order recover.sh
// goes over them, with the script it runs there and what that script does.
func TestWriteCommandsListsEveryHostRun(t *testing.T) {
	kit := renderExample(t, "three-masters")
	var b strings.Builder
	if err := kit.Plan.WriteCommands(&b, kit.Inventory); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	at := 0
	for _, s := range kit.Plan.Steps {
		head := fmt.Sprintf("\nstep %s (%s): ", s.Number, s.ID)
		i := strings.Index(out[at:], head)
		if i < 0 {
			t.Fatalf("step %s missing or out of order:\n%s", s.ID, out)
		}
		at += i
		for _, hi := range s.HostIndexes {
			h := kit.Plan.Hosts[hi]
			run := fmt.Sprintf("  %s: sudo bash restorekit/%s/%s --yes\n", h.Name, kit.Name, s.ScriptName())
			j := strings.Index(out[at:], run)
			if j < 0 {
				t.Fatalf("step %s: %q missing or out of order:\n%s", s.ID, run, out)
			}
			at += j
			lines, _ := kit.Plan.HostCommands(s, h, kit.Inventory)
			if len(lines) == 0 || !strings.HasPrefix(out[at+len(run):], "    "+lines[0]+"\n") {
				t.Errorf("step %s on %s: what the script does is not listed under it", s.ID, h.Name)
			}
		}
	}
	if !strings.Contains(out, "    7 run /usr/local/bin/cluster-restore.sh /home/core/backup (at most 20m00s)") {
		t.Errorf("the restore command is not listed:\n%s", out)
	}
}
