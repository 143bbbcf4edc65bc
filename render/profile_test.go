package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/inventory"
	"github.com/restorekit/restorekit/procedures"
	"github.com/restorekit/restorekit/templates"
)

// pageNumbers reads the step numbers a procedure page defines: its preconditions
// (- P1.), its numbered steps and their sub-steps (4.1 for "   1." under 4, 4.b for
// "   - b." under 4), the single-node section's steps as "SNO n", and "troubleshooting"
// when the page has a troubleshooting paragraph.
func pageNumbers(t *testing.T, page string) []string {
	t.Helper()
	data, err := fs.ReadFile(procedures.FS, page)
	if err != nil {
		t.Fatalf("procedure page %s: %v (procedures/ holds every page a profile cites)", page, err)
	}
	var nums []string
	pre := regexp.MustCompile(`^- (P\d+)\.`)
	top := regexp.MustCompile(`^(\d+)\. `)
	sub := regexp.MustCompile(`^\s+(\d+)\. `)
	letter := regexp.MustCompile(`^\s+- ([a-z])\. `)
	section, parent := "", ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
			parent = ""
			continue
		}
		prefix := ""
		if strings.HasPrefix(section, "## Single-node") {
			prefix = "SNO "
		}
		switch {
		case pre.MatchString(line):
			nums = append(nums, pre.FindStringSubmatch(line)[1])
		case strings.HasPrefix(line, "Troubleshooting only"):
			nums = append(nums, "troubleshooting")
		case !strings.HasPrefix(section, "## Steps") && !strings.HasPrefix(section, "## Single-node"):
		case top.MatchString(line):
			parent = top.FindStringSubmatch(line)[1]
			nums = append(nums, prefix+parent)
		case parent != "" && sub.MatchString(line):
			nums = append(nums, prefix+parent+"."+sub.FindStringSubmatch(line)[1])
		case parent != "" && letter.MatchString(line):
			nums = append(nums, prefix+parent+"."+letter.FindStringSubmatch(line)[1])
		}
	}
	return nums
}

func TestPageNumbersReadsThePages(t *testing.T) {
	for page, want := range map[string][]string{
		"procedure.md":      {"P1", "P5", "1", "4.1", "4.6", "12.3", "13"},
		"procedure-4.18.md": {"P1", "3", "9", "troubleshooting", "SNO 1", "SNO 4"},
		"procedure-4.16.md": {"P5", "4.b", "4.k", "14.e", "24"},
	} {
		got := pageNumbers(t, page)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: numbers %v lack %s", page, got, w)
			}
		}
	}
}

// Every number a profile's steps cite is a step of its procedure page.
func TestProfilesCiteTheirPage(t *testing.T) {
	for _, p := range Profiles {
		nums := pageNumbers(t, p.Page)
		for _, s := range p.Steps {
			if len(s.Cites) == 0 {
				t.Errorf("%s: step %s cites nothing", p.Name, s.ID)
			}
			for _, c := range s.Cites {
				if !slices.Contains(nums, c) {
					t.Errorf("%s: step %s cites %s, which %s does not have", p.Name, s.ID, c, p.Page)
				}
			}
		}
	}
}

// Step ids are unique within a profile, except between steps that are never in the
// same plan (multi-node and single-node variants of one step).
func TestProfileStepIDsAreUnique(t *testing.T) {
	for _, p := range Profiles {
		for i, a := range p.Steps {
			for _, b := range p.Steps[i+1:] {
				if a.ID == b.ID && !a.When.Fact.excludes(b.When.Fact) {
					t.Errorf("%s: step id %s twice", p.Name, a.ID)
				}
			}
		}
	}
}

// Every timeout a step names is an inventory field with a default.
func TestProfileTimeoutsAreInventoryFields(t *testing.T) {
	for _, p := range Profiles {
		for _, s := range p.Steps {
			if s.Timeout == "" {
				continue
			}
			d, ok := inventory.DefaultTimeouts.Field(string(s.Timeout))
			if !ok || d == 0 {
				t.Errorf("%s: step %s waits on timeouts.%s, which the inventory has no default for", p.Name, s.ID, s.Timeout)
			}
		}
	}
}

// kindImplemented reports whether the kind of a step has what implements it: its host
// script template, or its coordinator function in the rendered recover.sh; and its
// RUNBOOK section.
func kindImplemented(s Step, coordinatorFuncs map[string]bool) (missing []string) {
	if _, err := fs.Stat(templates.FS, "runbook/"+s.Kind+".md.tmpl"); err != nil {
		missing = append(missing, "runbook/"+s.Kind+".md.tmpl")
	}
	if s.Where.OnHosts() {
		if _, err := fs.Stat(templates.FS, s.Template()); err != nil {
			missing = append(missing, s.Template())
		}
	}
	// A workstation kind, and an orchestrated host kind, is a coordinator function.
	if (!s.Where.OnHosts() || s.Orchestrated()) && !coordinatorFuncs[s.Function()] {
		missing = append(missing, s.Function()+" in recover.sh")
	}
	return missing
}

// loadInventory416 is the 4.16 inventory of the render tests (three masters, two
// workers, OVN-Kubernetes, keepalived).
func loadInventory416(t testing.TB) *inventory.Inventory {
	t.Helper()
	inv, _, err := inventory.Load(filepath.Join("testdata", "inventory", "ocp416.yaml"), inventory.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// renderInventory renders the kit of an inventory with the embedded templates.
func renderInventory(t testing.TB, inv *inventory.Inventory) *Kit {
	t.Helper()
	kit, err := Render(inv, Options{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return kit
}

func definedFunctions(t *testing.T, script []byte) map[string]bool {
	t.Helper()
	f, err := syntax.NewParser().Parse(bytes.NewReader(script), "recover.sh")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if d, ok := n.(*syntax.FuncDecl); ok {
			funcs[d.Name.Value] = true
		}
		return true
	})
	return funcs
}

// An offered profile implements every kind it uses; a profile that is not offered yet
// lacks some (else it would be offered).
func TestEveryKindHasItsImplementation(t *testing.T) {
	// recover.sh defines the functions of the kinds its plan has: look at a kit of
	// each offered profile (the 4.16 inventory has workers, keepalived and OVN, so its
	// plan has every 4.16 kind).
	funcs := map[string]bool{}
	for _, inv := range []string{"three-masters", "three-masters-418"} {
		maps.Copy(funcs, definedFunctions(t, renderExample(t, inv).File("recover.sh").Data))
	}
	maps.Copy(funcs, definedFunctions(t, renderInventory(t, loadInventory416(t)).File("recover.sh").Data))
	for _, p := range Profiles {
		var missing []string
		for _, s := range p.Steps {
			for _, m := range kindImplemented(s, funcs) {
				if !slices.Contains(missing, m) {
					missing = append(missing, m)
				}
			}
		}
		switch {
		case p.Offered && len(missing) > 0:
			t.Errorf("%s is offered but lacks %s", p.Name, strings.Join(missing, ", "))
		case !p.Offered && len(missing) == 0:
			t.Errorf("%s implements every kind it uses: offer it", p.Name)
		case !p.Offered:
			t.Logf("%s (not offered yet) lacks: %s", p.Name, strings.Join(missing, ", "))
		}
	}
}

// Every duty a step opens is closed by a later step of the same plan.
func TestDutiesAreClosed(t *testing.T) {
	for _, p := range Profiles {
		for i, s := range p.Steps {
			for _, d := range s.Opens {
				closed := slices.ContainsFunc(p.Steps[i+1:], func(o Step) bool {
					return slices.Contains(o.Closes, d.Name) && !o.When.Fact.excludes(s.When.Fact)
				})
				if !closed {
					t.Errorf("%s: step %s opens %s, which no later step closes", p.Name, s.ID, d.Name)
				}
				if d.Open == "" || d.Fix == "" {
					t.Errorf("%s: duty %s does not say what is open and how to finish it", p.Name, d.Name)
				}
			}
		}
	}
}

// Every step of the plan reaches recover.sh --list, the RUNBOOK (one section each, in
// plan order) and kit.json.
func TestEveryStepReachesListRunbookAndManifest(t *testing.T) {
	for _, ex := range examples {
		kit := renderExample(t, ex)
		dir := t.TempDir()
		recover := filepath.Join(dir, "recover.sh")
		if err := os.WriteFile(recover, kit.File("recover.sh").Data, 0o755); err != nil {
			t.Fatal(err)
		}
		list, err := exec.Command("bash", recover, "--list").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: recover.sh --list: %v\n%s", ex, err, list)
		}
		var manifest struct {
			Procedure string
			Steps     []struct{ ID, Procedure string }
		}
		if err := json.Unmarshal(kit.File("kit.json").Data, &manifest); err != nil {
			t.Fatal(err)
		}
		if manifest.Procedure != kit.Profile.KitPage() || len(manifest.Steps) != len(kit.Plan.Steps) {
			t.Errorf("%s: kit.json procedure %q with %d steps, want %s with %d", ex, manifest.Procedure, len(manifest.Steps), kit.Profile.KitPage(), len(kit.Plan.Steps))
		}
		runbook := string(kit.File("RUNBOOK.md").Data)
		at := strings.Index(runbook, "## B. By hand")
		for i, s := range kit.Plan.Steps {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(s.ID) + ` +step ` + regexp.QuoteMeta(s.Number) + ` `).Match(list) {
				t.Errorf("%s: recover.sh --list lacks %s (step %s):\n%s", ex, s.ID, s.Number, list)
			}
			heading := "### " + s.Heading() + " (" + s.ID + ")"
			if j := strings.Index(runbook[max(at, 0):], heading); j < 0 {
				t.Errorf("%s: RUNBOOK.md lacks %q after the previous step", ex, heading)
			} else {
				at += j
			}
			if !strings.Contains(runbook, "| `"+s.ID+"` | "+s.Number+" |") {
				t.Errorf("%s: the RUNBOOK's plan table lacks %s", ex, s.ID)
			}
			if i < len(manifest.Steps) && (manifest.Steps[i].ID != s.ID || manifest.Steps[i].Procedure != s.Number) {
				t.Errorf("%s: kit.json step %d is %+v, want %s (%s)", ex, i, manifest.Steps[i], s.ID, s.Number)
			}
		}
	}
}

// planInventory is the three-master example at another release, with what that
// release's profile needs.
func planInventory(t *testing.T, version string, masters int, network string) *inventory.Inventory {
	t.Helper()
	inv := loadExample(t, "three-masters")
	inv.Cluster.Version = version
	inv.Cluster.NetworkType = network
	inv.Masters = inv.Masters[:masters]
	inv.RecoveryHost = inv.Masters[0].Name
	// A compact cluster without keepalived, as 4.16 kits need said.
	inv.Workers, inv.Cluster.APIVIPs = inventory.Workers{}, inventory.IPs{}
	return inv
}

// withVIPs gives a plan inventory the VIPs of an on-premise cluster with keepalived.
func withVIPs(inv *inventory.Inventory) *inventory.Inventory {
	inv.Cluster.APIVIPs, inv.Cluster.IngressVIPs = inventory.IPs{"192.0.2.5"}, inventory.IPs{"192.0.2.4"}
	return inv
}

// planCites is every number the plan's steps cite, in plan order.
func planCites(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		for _, c := range s.Cites {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// The plans of the 4.18 and 4.16 profiles follow their pages step for step: every
// step of the page is in the plan, in the page's order, but for the steps that need
// nothing done and the reorderings the profiles explain.
func TestPlansFollowTheirPages(t *testing.T) {
	tests := []struct {
		name    string
		inv     *inventory.Inventory
		section string // the page's section whose steps the plan must cover
		// nothingToDo are steps of the page a kit has nothing to do for.
		nothingToDo []string
		// reordered are pairs the plan runs in the other order than the page, with why.
		reordered map[[2]string]string
		wantIDs   []string
	}{
		{name: "4.18, three masters", inv: planInventory(t, "4.18.7", 3, ""), section: "",
			nothingToDo: []string{"6"},
			reordered:   map[[2]string]string{{"4", "3"}: "the copy of the backup does not depend on etcd being down; copying first stops a failed copy before anything is down"},
			wantIDs: []string{"preflight", "push-scripts", "copy-backup", "disable-etcd", "restore", "wait-api", "quorum-guard-off",
				"wait-stable", "quorum-guard-on", "verify-members", "force-redeploy-etcd"}},
		{name: "4.18, single node", inv: planInventory(t, "4.20.3", 1, ""), section: "SNO ",
			nothingToDo: []string{"SNO 3"},
			wantIDs:     []string{"preflight", "push-scripts", "copy-backup", "restore", "wait-api", "wait-stable", "verify-members", "force-redeploy-etcd"}},
		{name: "4.16, OVN-Kubernetes, keepalived", inv: withVIPs(planInventory(t, "4.16.9", 3, inventory.NetworkOVNKubernetes)), section: "",
			reordered: map[[2]string]string{{"3", "2"}: "the scripts are copied while the sessions of step 2 are opened, before the backup"},
			wantIDs: []string{"preflight", "push-scripts", "copy-backup", "stop-static-pods", "stop-keepalived", "check-api-vip", "restore",
				"repair-nodes", "restart-kubelet", "approve-csrs", "verify-single-member", "ovn-control-plane", "ovn-nodes", "quorum-guard-off",
				"redeploy-etcd", "quorum-guard-on", "wait-etcd", "redeploy-kubeapiserver", "redeploy-kubecontrollermanager",
				"redeploy-kubescheduler", "restore-keepalived", "wait-stable", "reboot-nodes"}},
		{name: "4.16, OpenShift SDN", inv: planInventory(t, "4.16.9", 3, inventory.NetworkOpenShiftSDN), section: "",
			// OVN-Kubernetes only, and keepalived only (the inventory names no VIPs).
			nothingToDo: []string{"13", "14", "14.a", "14.b", "14.c", "14.d", "14.e", "4.k", "5", "6", "22"},
			reordered:   map[[2]string]string{{"3", "2"}: "the scripts are copied while the sessions of step 2 are opened, before the backup"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanFor(tt.inv)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range plan.Steps {
				ids = append(ids, s.ID)
			}
			if tt.wantIDs != nil && !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("steps %v\nwant %v", ids, tt.wantIDs)
			}
			cites := planCites(plan)
			var page []string
			for _, n := range pageNumbers(t, plan.Profile.Page) {
				sno := strings.HasPrefix(n, "SNO ")
				if n != "troubleshooting" && !strings.HasPrefix(n, "P") && sno == (tt.section == "SNO ") {
					page = append(page, n)
				}
			}
			for _, n := range page {
				if !slices.Contains(cites, n) && !slices.Contains(tt.nothingToDo, n) {
					t.Errorf("page step %s is in no step of the plan", n)
				}
			}
			for _, n := range cites {
				if n != "troubleshooting" && !strings.HasPrefix(n, "P") && !slices.Contains(page, n) {
					t.Errorf("the plan cites %s, which is not a step of this section of %s", n, plan.Profile.Page)
				}
			}
			// Order: a step the plan runs later never comes earlier in the page, but for
			// the explained reorderings.
			pos := func(n string) int { return slices.Index(page, n) }
			for i, a := range cites {
				for _, b := range cites[i+1:] {
					if pos(a) < 0 || pos(b) < 0 || pos(a) <= pos(b) || strings.HasPrefix(b, strings.SplitN(a, ".", 2)[0]+".") {
						continue
					}
					if _, ok := tt.reordered[[2]string{topStep(a), topStep(b)}]; !ok && topStep(a) != topStep(b) {
						t.Errorf("the plan runs %s before %s, against the page's order", a, b)
					}
				}
			}
		})
	}
}

func topStep(n string) string { return strings.SplitN(n, ".", 2)[0] }

// validate refuses a release without an offered profile at cluster.version, naming the
// supported ones, and a field the profile needs at the section it belongs in.
func TestCheckNamesTheFieldAndLine(t *testing.T) {
	inv := loadExample(t, "three-masters")
	inv.Cluster.Version = "4.23.1"
	got := Check(inv)
	if len(got) != 1 || got[0].Field != "cluster.version" || got[0].Line < 2 || !strings.Contains(got[0].Message, "supported: 4.5.x, 4.16.x to 4.17.x, 4.18.x to 4.22.x") || !strings.Contains(got[0].Message, "newer than the newest profile (4.22)") {
		t.Errorf("4.23.1: %v", got)
	}
	// A 4.5 inventory taken to 4.16 lacks what 4.16's steps decide on, each field named.
	inv.Cluster.Version = "4.16.7"
	got = Check(inv)
	var fields []string
	for _, p := range got {
		fields = append(fields, p.Field)
	}
	if slices.Sort(fields); !slices.Equal(fields, []string{"cluster.apiVIPs", "cluster.networkType", "workers"}) {
		t.Errorf("4.16.7: %v", got)
	}
	inv.Cluster.Version = "4.18.7"
	if got := Check(inv); len(got) != 0 {
		t.Errorf("4.18.7, three masters: %v", got)
	}
	inv = planInventory(t, "4.16.2", 3, "")
	got = checkInventory(&profile416, inv)
	if len(got) != 1 || got[0].Field != "cluster.networkType" || !strings.Contains(got[0].Message, "steps 13, 14 of procedure-4.16.md") {
		t.Errorf("4.16 without a network type: %v", got)
	}
	// The nodes step 14 and 24 go over, and the VIPs of 4.k, 6 and 22: "none" must be
	// said, as workers: [] and apiVIPs: [].
	inv = planInventory(t, "4.17.2", 3, inventory.NetworkOVNKubernetes)
	inv.Workers, inv.Cluster.APIVIPs = nil, nil
	got = checkInventory(&profile416, inv)
	if len(got) != 2 || got[0].Field != "cluster.apiVIPs" || !strings.Contains(got[0].Message, "steps 4.k, 5-6, 22 of procedure-4.16.md") ||
		got[1].Field != "workers" || !strings.Contains(got[1].Message, "steps 11, 14, 24 of procedure-4.16.md") || !strings.Contains(got[1].Message, "workers: []") {
		t.Errorf("4.17 without workers or VIPs: %v", got)
	}
	if got := Check(loadExample(t, "three-masters")); len(got) != 0 {
		t.Errorf("the example: %v", got)
	}
}

// The etcd containers the 4.18 kits wait for come from the minor: etcd-backup-server up
// to 4.20 (etcd-common-tools and disable-etcd.sh of release-4.18 to release-4.22).
func TestEtcdContainersByMinor(t *testing.T) {
	for _, tt := range []struct {
		version      string
		backupServer bool
	}{{"4.18.7", true}, {"4.19.2", true}, {"4.20.3", true}, {"4.21.1", false}, {"4.22.0", false}} {
		plan, err := PlanFor(planInventory(t, tt.version, 3, ""))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"disable-etcd", "restore-etcd"} {
			s := plan.StepOfKind(kind)
			if s == nil {
				t.Fatalf("%s: no %s step", tt.version, kind)
			}
			if got := slices.Contains(s.Containers, "etcd-backup-server"); got != tt.backupServer || !slices.Contains(s.Containers, "etcd-rev") {
				t.Errorf("%s %s: containers %v, etcd-backup-server wanted: %t", tt.version, kind, s.Containers, tt.backupServer)
			}
		}
	}
}

// Single-node OpenShift is the 4.18 profile's only: 4.5 refuses one master at the
// masters field, naming the profile that restores it; topologies no profile covers are
// refused at cluster.topology with the reason.
func TestMastersAndTopologyAreTheProfilesRules(t *testing.T) {
	got := Check(planInventory(t, "4.5.2", 1, ""))
	if len(got) != 1 || got[0].Field != "masters" || got[0].Line < 2 ||
		got[0].Message != "1 listed, but profile ocp-4.5 (4.5.x) needs at least 2 control-plane hosts; single-node OpenShift is restored only from ocp-4.18 (4.18.x to 4.22.x) on" {
		t.Errorf("4.5, one master: %v", got)
	}
	if got := Check(planInventory(t, "4.20.3", 1, "")); len(got) != 0 {
		t.Errorf("4.20, one master: %v", got)
	}
	for topology, why := range map[string]string{
		inventory.TopologyDualReplica:            "two-node OpenShift with fencing",
		inventory.TopologyHighlyAvailableArbiter: "plus an arbiter",
		inventory.TopologyExternal:               "hosted control planes",
	} {
		inv := planInventory(t, "4.20.3", 2, "")
		inv.Cluster.Topology = topology
		got := Check(inv)
		if len(got) != 1 || got[0].Field != "cluster.topology" || !strings.Contains(got[0].Message, why) || !strings.Contains(got[0].Message, "no procedure profile of restorekit covers it") {
			t.Errorf("%s: %v", topology, got)
		}
	}
}

// `ls hosts/<node>/` lists each host's scripts in the order they run, for every
// profile: each script is named after the number of its step.
func TestHostScriptsListInRunningOrder(t *testing.T) {
	for _, inv := range []*inventory.Inventory{
		loadExample(t, "three-masters"), loadExample(t, "five-masters-proxy-jumphost"),
		planInventory(t, "4.18.7", 3, ""), planInventory(t, "4.20.3", 1, ""),
		planInventory(t, "4.16.21", 3, "OVNKubernetes"), planInventory(t, "4.17.3", 3, "OpenShiftSDN"),
	} {
		profile := profileForMinor(inv.Cluster.Version)
		plan, err := NewPlan(profile, inv)
		if err != nil {
			t.Fatalf("%s %s: %v", profile.Name, inv.Cluster.Version, err)
		}
		for _, h := range plan.Hosts {
			// A troubleshooting step (only --only runs it) has no place in the order.
			var names []string
			for _, s := range h.Steps {
				if want := scriptPrefix(s.Number) + "-" + s.Kind + ".sh"; s.ScriptName() != want {
					t.Errorf("%s, %s: step %s (%s) runs %s, want %s", profile.Name, h.Name, s.Number, s.ID, s.ScriptName(), want)
				}
				if !s.Manual {
					names = append(names, s.ScriptName())
				}
			}
			if !slices.IsSorted(names) {
				t.Errorf("%s, %s: ls lists %v, but they run as %v", profile.Name, h.Name, slices.Sorted(slices.Values(names)), names)
			}
		}
	}
}

// A duty's by-hand fix that names a host script names the one the plan ships.
func TestDutyFixNamesThePlansScript(t *testing.T) {
	plan := renderInventory(t, loadInventory416(t)).Plan
	script, err := plan.Script("restore-keepalived")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range plan.Duties() {
		if d.Name == keepalivedDuty.Name && !strings.Contains(d.Fix, script) {
			t.Errorf("the keepalived duty's fix %q does not name %s", d.Fix, script)
		}
	}
}
