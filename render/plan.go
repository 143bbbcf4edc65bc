package render

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// Plan is a profile resolved against an inventory: the steps that apply to this
// cluster, in order, each with the hosts it runs on. Every file of a kit is rendered
// from it, and `restorekit plan` prints it.
type Plan struct {
	Profile *Profile
	Steps   Steps
	// Hosts are the hosts the kit reaches over ssh: the masters in inventory order,
	// then, for a plan with a step on every node, the workers in inventory order; a
	// step's HostIndexes index it.
	Hosts []*Host
	// Recovery indexes the recovery host in Hosts.
	Recovery int
}

// PlanStep is one step of a Plan.
type PlanStep struct {
	Step
	// Index is the step's place in the plan.
	Index int
	// Aliases are the procedure numbers --from and --only accept for it: those of its
	// Cites that no earlier step of the plan cites.
	Aliases []string
	// HostIndexes are the hosts it runs on, in the order it goes over them (empty for
	// a workstation step).
	HostIndexes []int
	// TimeoutValue is the inventory's value of Timeout.
	TimeoutValue inventory.Duration
	// Containers are EtcdContainers resolved for the inventory's release.
	Containers []string
	// ScriptFile is the file name of a host step's script under hosts/<node>/ ("" for a
	// workstation step).
	ScriptFile string
}

// ScriptName is the file name of a host step's script under hosts/<node>/: its kind
// after the number of the plan's first step of that kind ("04-stop-static-pods.sh").
func (s PlanStep) ScriptName() string { return s.ScriptFile }

// Script is the file name of the host script that implements kind in this plan, for
// the texts that name one script from another; an error for a kind the plan lacks.
func (p *Plan) Script(kind string) (string, error) {
	for _, s := range p.Steps {
		if s.Kind == kind && s.ScriptFile != "" {
			return s.ScriptFile, nil
		}
	}
	return "", fmt.Errorf("no host script of kind %s in this plan", kind)
}

// HostNames are the node names of the hosts the step runs on, in order.
func (s PlanStep) HostNames(p *Plan) []string {
	var names []string
	for _, i := range s.HostIndexes {
		names = append(names, p.Hosts[i].Name)
	}
	return names
}

// NewPlan resolves a profile against a validated inventory. It fails, listing every
// problem with the inventory's file and line, when the inventory lacks what a step of
// the profile needs.
func NewPlan(p *Profile, inv *inventory.Inventory) (*Plan, error) {
	if problems := checkInventory(p, inv); len(problems) > 0 {
		return nil, &inventory.Error{Problems: problems}
	}
	plan := &Plan{Profile: p}
	for i, m := range inv.Masters {
		h := &Host{Master: m, IsRecovery: m.Name == inv.RecoveryHost, SSH: inv.EffectiveSSH(m),
			AcceptedHostnames: acceptedHostnames(inv, m), Index: i}
		if h.IsRecovery {
			plan.Recovery = i
		}
		plan.Hosts = append(plan.Hosts, h)
	}
	// Workers are hosts of the kit only when a step of the plan runs on every node.
	if slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Where == OnAllNodes && s.When.Fact.holds(inv) }) {
		for _, w := range inv.Workers {
			plan.Hosts = append(plan.Hosts, &Host{Master: w, IsWorker: true, SSH: inv.EffectiveSSH(w),
				AcceptedHostnames: acceptedHostnames(inv, w), Index: len(plan.Hosts)})
		}
	}
	cited := map[string]bool{}
	for _, s := range p.Steps {
		if !s.When.Fact.holds(inv) {
			continue
		}
		ps := PlanStep{Step: s, Index: len(plan.Steps), HostIndexes: plan.hostsFor(s)}
		if s.Timeout != "" {
			ps.TimeoutValue, _ = inv.Timeouts.Field(string(s.Timeout))
		}
		if s.EtcdContainers != nil {
			ps.Containers = s.EtcdContainers(releaseMinor(inv.Cluster.Version))
		}
		for _, c := range s.Cites {
			if !cited[c] {
				ps.Aliases = append(ps.Aliases, c)
			}
		}
		for _, c := range s.Cites {
			cited[c] = true
		}
		plan.Steps = append(plan.Steps, ps)
	}
	scripts := map[string]string{}
	for i, s := range plan.Steps {
		if !s.Where.OnHosts() {
			continue
		}
		if _, ok := scripts[s.Kind]; !ok {
			name := s.Kind + ".sh"
			if pre := scriptPrefix(s.Number); pre != "" {
				name = pre + "-" + name
			}
			scripts[s.Kind] = name
		}
		plan.Steps[i].ScriptFile = scripts[s.Kind]
	}
	for _, h := range plan.Hosts {
		for _, s := range plan.Steps {
			if slices.Contains(s.HostIndexes, h.Index) && !slices.ContainsFunc(h.Steps, func(o PlanStep) bool { return o.Kind == s.Kind }) {
				h.Steps = append(h.Steps, s)
			}
		}
	}
	return plan, nil
}

// hostsFor lists the hosts a step runs on, in the order it goes over them: the
// recovery host first wherever it takes part, then the other masters in inventory
// order, then (on every node) the workers in inventory order.
func (p *Plan) hostsFor(s Step) []int {
	pick := func(workers bool) []int {
		var out []int
		for _, h := range p.Hosts {
			if !h.IsRecovery && h.IsWorker == workers {
				out = append(out, h.Index)
			}
		}
		return out
	}
	switch s.Where {
	case OnRecoveryHost, OnRecoveryHostOC:
		return []int{p.Recovery}
	case OnOtherMasters:
		return pick(false)
	case OnAllMasters:
		return append([]int{p.Recovery}, pick(false)...)
	case OnAllNodes:
		return append(append([]int{p.Recovery}, pick(false)...), pick(true)...)
	}
	return nil
}

// HasWorkers reports whether workers are hosts of the kit.
func (p *Plan) HasWorkers() bool {
	return slices.ContainsFunc(p.Hosts, func(h *Host) bool { return h.IsWorker })
}

// HasOrchestrated reports whether a step of the plan is of an orchestrated kind.
func (p *Plan) HasOrchestrated() bool {
	return slices.ContainsFunc(p.Steps, func(s PlanStep) bool { return s.Orchestrated() })
}

// checkInventory lists what the inventory lacks for the profile, each problem at the
// field it concerns.
func checkInventory(p *Profile, inv *inventory.Inventory) []inventory.Problem {
	var problems []inventory.Problem
	if len(inv.Masters) < p.MinMasters {
		problems = append(problems, inv.ProblemAt("masters", false, "%d listed, but profile %s (%s) needs at least %d control-plane hosts%s",
			len(inv.Masters), p.Name, p.Releases(), p.MinMasters, singleNodeHint(p)))
	}
	if why, refused := refusedTopologies[inv.Cluster.Topology]; refused {
		problems = append(problems, inv.ProblemAt("cluster.topology", false, "%s: %s; no procedure profile of restorekit covers it (profile %s follows %s)",
			inv.Cluster.Topology, why, p.Name, p.Page))
	}
	var missing []*inventoryField
	needs := map[*inventoryField][]string{}
	for _, s := range p.Steps {
		for _, f := range append([]*inventoryField{s.When.Fact.field()}, kindFields[s.Kind]...) {
			if f == nil || f.isSet(inv) {
				continue
			}
			if _, seen := needs[f]; !seen {
				missing = append(missing, f)
			}
			if !slices.Contains(needs[f], s.Number) {
				needs[f] = append(needs[f], s.Number)
			}
		}
	}
	for _, f := range missing {
		problems = append(problems, inv.ProblemAt(f.name, false, "missing: profile %s needs it to decide whether steps %s of %s apply (%s)",
			p.Name, strings.Join(needs[f], ", "), p.Page, f.valid))
	}
	return problems
}

// refusedTopologies are the control-plane topologies whose restore is another
// procedure than any profile's, with why.
var refusedTopologies = map[string]string{
	inventory.TopologyDualReplica:            "two-node OpenShift with fencing is restored with its own procedure (cluster-restore-tnf.sh, no quorum guard change)",
	inventory.TopologyHighlyAvailableArbiter: "two control-plane nodes plus an arbiter have their own restore procedure",
	inventory.TopologyExternal:               "hosted control planes: etcd does not run on these hosts but in the management cluster",
}

// singleNodeHint says which profile restores a single-node cluster, for a profile
// that does not.
func singleNodeHint(p *Profile) string {
	if p.MinMasters < 2 {
		return ""
	}
	var covers []string
	for _, o := range Profiles {
		if o.MinMasters == 1 {
			covers = append(covers, o.Name+" ("+o.Releases()+")")
		}
	}
	if len(covers) == 0 {
		return "; a single-node cluster is restored with another procedure, which restorekit does not cover"
	}
	return "; single-node OpenShift is restored only from " + strings.Join(covers, ", ") + " on"
}

// inventoryField is an inventory field that a fact reads.
type inventoryField struct {
	name  string // dotted path, as problems name it
	valid string // what may be written there
	isSet func(*inventory.Inventory) bool
}

var networkTypeField = &inventoryField{
	name:  "cluster.networkType",
	valid: inventory.NetworkOVNKubernetes + " or " + inventory.NetworkOpenShiftSDN + ", as oc get network.config cluster -o jsonpath='{.status.networkType}' prints it",
	isSet: func(inv *inventory.Inventory) bool { return inv.Cluster.NetworkType != "" },
}

var workersField = &inventoryField{
	name:  "workers",
	valid: "the worker nodes, each with name and address as in masters; workers: [] for a cluster whose masters are its only nodes",
	isSet: func(inv *inventory.Inventory) bool { return inv.Workers != nil },
}

var apiVIPsField = &inventoryField{
	name:  "cluster.apiVIPs",
	valid: "the VIPs keepalived holds, from oc get infrastructure cluster -o json: status.platformStatus.<platform>.apiServerInternalIPs, with cluster.ingressVIPs from .ingressIPs; apiVIPs: [] for a cluster without keepalived",
	isSet: func(inv *inventory.Inventory) bool { return inv.Cluster.APIVIPs != nil },
}

// kindFields are the inventory fields a step kind reads whatever its facts: the nodes
// it goes over, the addresses it removes.
var kindFields = map[string][]*inventoryField{
	"ovn-node":           {workersField},
	"reboot-node":        {workersField},
	"approve-csrs":       {workersField},
	"stop-keepalived":    {apiVIPsField},
	"check-api-vip":      {apiVIPsField},
	"restore-keepalived": {apiVIPsField},
}

// field is the inventory field the fact reads (nil when it needs none beyond the
// masters every inventory has).
func (f Fact) field() *inventoryField {
	switch f {
	case OVNKubernetes:
		return networkTypeField
	case Keepalived:
		return apiVIPsField
	}
	return nil
}

// holds reports whether the fact holds for the inventory.
func (f Fact) holds(inv *inventory.Inventory) bool {
	switch f {
	case MultiNode:
		return len(inv.Masters) > 1
	case SingleNode:
		return len(inv.Masters) == 1
	case OVNKubernetes:
		return inv.Cluster.NetworkType == inventory.NetworkOVNKubernetes
	case Keepalived:
		return inv.Cluster.Keepalived()
	}
	return true
}

// excludes reports whether f and g can never hold together (steps under such facts may
// share an id: only one of them is ever in a plan).
func (f Fact) excludes(g Fact) bool {
	return (f == MultiNode && g == SingleNode) || (f == SingleNode && g == MultiNode)
}

// Check lists what the inventory lacks for the procedure of its release: a release
// without a profile (at cluster.version, naming the supported ones), and the fields the
// profile's steps need. validate and build report these with the inventory's own
// problems.
func Check(inv *inventory.Inventory) []inventory.Problem {
	p := profileForMinor(inv.Cluster.Version)
	if p == nil || !p.Offered {
		_, err := ProfileFor(inv.Cluster.Version)
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("cluster.version %q: ", inv.Cluster.Version))
		return []inventory.Problem{inv.ProblemAt("cluster.version", false, "%s: %s", inv.Cluster.Version, msg)}
	}
	return append(checkInventory(p, inv), SSHConfigProblems(inv)...)
}

// StepOfKind is the plan's first step of a kind, or nil: what the coordinator reads a
// kind's options from.
func (p *Plan) StepOfKind(kind string) *PlanStep {
	for i := range p.Steps {
		if p.Steps[i].Kind == kind {
			return &p.Steps[i]
		}
	}
	return nil
}

// ProxyStepNumber is the step a kit cites for the cluster-wide proxy it reads in the
// preflight and passes to cluster-restore.sh: the restore's own proxy step ("6" in
// procedure.md, "7" in procedure-4.16.md) or, where the page makes it part of the
// restore (4.18's `sudo -E`), the restore's number.
func (p *Plan) ProxyStepNumber() string {
	for _, s := range p.Steps {
		if s.Uninterruptible {
			return cmp.Or(s.ProxyStep, s.Number)
		}
	}
	return ""
}

// RestoreScript is the host script of the plan's restore (its uninterruptible step):
// the one script that must never run on two hosts.
func (p *Plan) RestoreScript() string {
	for _, s := range p.Steps {
		if s.Uninterruptible {
			return s.ScriptName()
		}
	}
	return ""
}

// Steps are plan steps in running order.
type Steps []PlanStep

// Kinds are the steps of distinct kinds, the first of each in order: what a
// coordinator running these steps must implement.
func (ss Steps) Kinds() Steps {
	var out Steps
	for _, s := range ss {
		if !slices.ContainsFunc(out, func(o PlanStep) bool { return o.Kind == s.Kind }) {
			out = append(out, s)
		}
	}
	return out
}

// Tail are the oc-only steps after the restore, which redeploy.sh runs alone.
func (p *Plan) Tail() Steps {
	var out Steps
	for _, s := range p.Steps {
		if s.Tail {
			out = append(out, s)
		}
	}
	return out
}

// Duties are the duties the plan's steps open, in plan order.
func (p *Plan) Duties() []Duty {
	var out []Duty
	for _, s := range p.Steps {
		out = append(out, s.Opens...)
	}
	return out
}

// AgainScripts are the host scripts that take --again: a completed run of one of them
// on a host means the cluster was recovered there already.
func (p *Plan) AgainScripts() []string {
	var out []string
	for _, s := range p.Steps {
		if s.Where.OnHosts() && s.Again != "" && !slices.Contains(out, s.ScriptName()) {
			out = append(out, s.ScriptName())
		}
	}
	return out
}

// OpenNames are the names of the duties the step opens.
func (s PlanStep) OpenNames() []string {
	var out []string
	for _, d := range s.Opens {
		out = append(out, d.Name)
	}
	return out
}

// Function is the coordinator function that implements a workstation step's kind.
func (s Step) Function() string { return "step_" + strings.ReplaceAll(s.Kind, "-", "_") }

// TailNumber is how redeploy.sh cites the step: the part of it that is oc only.
func (s Step) TailNumber() string {
	if s.TailPart != "" {
		return s.TailPart
	}
	return s.Number
}

// Heading is "Step 4" or "Steps 5-7": how the RUNBOOK titles the step.
func (s Step) Heading() string {
	if strings.ContainsAny(s.Number, "-,") {
		return "Steps " + s.Number
	}
	return "Step " + s.Number
}

// WhereText says where the step runs for this cluster: "workstation", or the hosts by
// name and how it goes over them.
func (s PlanStep) WhereText(p *Plan) string {
	if !s.Where.OnHosts() {
		return s.Where.String()
	}
	names := s.HostNames(p)
	switch {
	case len(names) == 0:
		return s.Where.String() + ": none in this cluster"
	case len(names) == 1:
		return names[0]
	}
	return strings.Join(names, ", ") + " (" + s.How.String() + ")"
}

// TimeoutText is "timeouts.restore=20m", or "" for a step that does not wait.
func (s PlanStep) TimeoutText() string {
	if s.Timeout == "" {
		return ""
	}
	return fmt.Sprintf("%s (timeouts.%s)", s.TimeoutValue, s.Timeout)
}

// UsuallyText is "5m", or "" when the profile does not say how long the step usually takes.
func (s PlanStep) UsuallyText() string {
	if s.Usually == 0 {
		return ""
	}
	return inventory.Duration(s.Usually).String()
}

// WaitText says how long the step usually takes and where the kit gives up: "usually
// about 5m; the kit gives up after 20m (timeouts.restore)"; "" when neither is known.
func (s PlanStep) WaitText() string {
	var parts []string
	if u := s.UsuallyText(); u != "" {
		parts = append(parts, "usually about "+u)
	}
	if s.Timeout != "" {
		parts = append(parts, "the kit gives up after "+s.TimeoutText())
	}
	return strings.Join(parts, "; ")
}

// Totals are how long the plan's steps usually take together, whether every waiting
// step says so (complete), and how long the waits may take at most (the sum of the
// inventory's timeouts). Steps that run on several hosts at once count once.
func (p *Plan) Totals() (usually time.Duration, complete bool, atMost time.Duration) {
	complete = true
	for _, s := range p.Steps {
		if s.Manual {
			continue
		}
		usually += s.Usually
		if s.Timeout != "" {
			if s.Usually == 0 {
				complete = false
			}
			atMost += time.Duration(s.TimeoutValue)
		}
	}
	return usually, complete, atMost
}

// TotalsText is the plan's expected total, for the RUNBOOK and restorekit plan.
func (p *Plan) TotalsText() string {
	usually, complete, atMost := p.Totals()
	limit := fmt.Sprintf("the waits give up after %s at most in all (the sum of the inventory's timeouts)", inventory.Duration(atMost))
	switch {
	case usually == 0:
		return "Expected total: not known for profile " + p.Profile.Name + "; " + limit
	case !complete:
		return fmt.Sprintf("Expected total: more than %s (not every step says how long it usually takes); %s", inventory.Duration(usually), limit)
	}
	return fmt.Sprintf("Expected total: about %s, the usual times added up; %s", inventory.Duration(usually), limit)
}

// PlanFor resolves the profile of the inventory's release, offered or not, against the
// inventory: `restorekit plan` shows what a kit for a release would do before the
// release is offered for kits.
func PlanFor(inv *inventory.Inventory) (*Plan, error) {
	p := profileForMinor(inv.Cluster.Version)
	if p == nil {
		_, err := ProfileFor(inv.Cluster.Version)
		return nil, err
	}
	return NewPlan(p, inv)
}

// WriteText prints the plan as a table, the steps in running order: what a reviewer
// reads first.
func (p *Plan) WriteText(w io.Writer, inv *inventory.Inventory) error {
	fmt.Fprintf(w, "plan for cluster %s (OpenShift %s): profile %s, steps numbered as in %s\n",
		inv.Cluster.Name, inv.Cluster.Version, p.Profile.Name, p.Profile.Page)
	fmt.Fprintf(w, "recovery host %s\n", inv.RecoveryHost)
	if !p.Profile.Offered {
		fmt.Fprintf(w, "profile %s is not offered yet: restorekit build refuses this release (supported: %s)\n", p.Profile.Name, SupportedVersions())
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tPROCEDURE\tWHERE\tCHANGES\tWAITS AT MOST\tUSUALLY\tWHAT")
	for _, s := range p.Steps {
		changes := "no"
		if s.Changes {
			changes = "yes"
		}
		what := s.Title
		if s.When.Probe != "" {
			what += " (only where " + s.When.Probe + ")"
		}
		if s.Manual {
			what += " (not in a normal run: --only " + s.ID + ")"
		}
		timeout := s.TimeoutText()
		if timeout == "" {
			timeout = "-"
		}
		usually := s.UsuallyText()
		if usually == "" {
			usually = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Number, s.WhereText(p), changes, timeout, usually, what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", p.TotalsText())
	for _, d := range p.Duties() {
		var opens, closes []string
		for _, s := range p.Steps {
			if slices.Contains(s.OpenNames(), d.Name) {
				opens = append(opens, s.ID)
			}
			if slices.Contains(s.Closes, d.Name) {
				closes = append(closes, s.ID)
			}
		}
		fmt.Fprintf(w, "\nduty %s: opened by %s, closed by %s; a run that stops in between says: %s (by hand: %s)\n",
			d.Name, strings.Join(opens, ", "), strings.Join(closes, ", "), d.Open, d.Fix)
	}
	return nil
}

// JSON is the plan's steps as kit.json lists them.
func (p *Plan) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(struct {
		Profile string      `json:"profile"`
		Page    string      `json:"procedure"`
		Offered bool        `json:"offered"`
		Steps   []stepEntry `json:"steps"`
	}{p.Profile.Name, p.Profile.Page, p.Profile.Offered, p.manifestSteps()}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteProfiles lists every profile with the releases it covers and the procedure
// text it follows.
func WriteProfiles(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tRELEASES\tSTEPS\tOFFERED\tPROCEDURE")
	for _, p := range Profiles {
		offered := "yes"
		if !p.Offered {
			offered = "not yet"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s: %s\n", p.Name, p.Releases(), len(p.Steps), offered, p.Page, p.Source)
	}
	return tw.Flush()
}
