package render

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
	"mvdan.cc/sh/v3/syntax"

	"github.com/restorekit/restorekit/inventory"
)

// A freeTextField is an inventory field a site fills in with its own text, and how a
// fuzzed string is put into it (kept recognisable so the validator has a chance).
type freeTextField struct {
	name string
	set  func(inv *inventory.Inventory, s string)
	// bare fields take the string as it is: empty, they mean "not set" (a default or
	// no such option), which legitimately changes what a script contains.
	bare bool
}

var freeTextFields = []freeTextField{
	{"quarantineDir", func(inv *inventory.Inventory, s string) { inv.QuarantineDir = "/q/" + s }, false},
	{"backup.remoteDir", func(inv *inventory.Inventory, s string) { inv.Backup.RemoteDir = "/r/" + s }, false},
	{"proxy.httpProxy", func(inv *inventory.Inventory, s string) { inv.Proxy.HTTPProxy = "http://proxy.example.com:3128/" + s }, false},
	{"proxy.httpsProxy", func(inv *inventory.Inventory, s string) { inv.Proxy.HTTPSProxy = "https://proxy.example.com/" + s }, false},
	{"proxy.noProxy", func(inv *inventory.Inventory, s string) { inv.Proxy.NoProxy = ".cluster.local," + s }, false},
	{"ssh.identityFile", func(inv *inventory.Inventory, s string) { inv.SSH.IdentityFile = "~/.ssh/" + s }, false},
	{"ssh.knownHostsFile", func(inv *inventory.Inventory, s string) { inv.SSH.KnownHostsFile = "/k/" + s }, false},
	{"ssh.jumpHost", func(inv *inventory.Inventory, s string) { inv.SSH.JumpHost = s }, true},
	{"ssh.user", func(inv *inventory.Inventory, s string) { inv.SSH.User = s }, true},
	{"masters[1].hostname", func(inv *inventory.Inventory, s string) { inv.Masters[1].Hostname = s }, true},
	{"masters[2].address", func(inv *inventory.Inventory, s string) { inv.Masters[2].Address = s }, true},
	{"masters[2].ssh.identityFile", func(inv *inventory.Inventory, s string) { inv.Masters[2].SSH.IdentityFile = "/id/" + s }, false},
	{"masters[2].ssh.user", func(inv *inventory.Inventory, s string) { inv.Masters[2].SSH.User = s }, true},
}

// fuzzInventory is a valid three-master inventory with every free-text field set,
// built in Go (not read from a file).
func fuzzInventory() *inventory.Inventory {
	inv := &inventory.Inventory{
		APIVersion: inventory.APIVersion,
		Kind:       inventory.Kind,
		Cluster:    inventory.Cluster{Name: "ocp4", Version: "4.5.2"},
		Backup: inventory.Backup{
			Snapshot:        "snapshot_2020-08-04_184021.db",
			StaticResources: "static_kuberesources_2020-08-04_184021.tar.gz",
			Files: []inventory.BackupFile{
				{Name: "snapshot_2020-08-04_184021.db", Size: 78, SHA256: strings.Repeat("ab", 32)},
				{Name: "static_kuberesources_2020-08-04_184021.tar.gz", Size: 388, SHA256: strings.Repeat("cd", 32)},
			},
		},
		RecoveryHost: "master-0.example.com",
		Masters: []inventory.Master{
			{Name: "master-0.example.com", Address: "10.0.0.10"},
			{Name: "master-1.example.com", Address: "10.0.0.11"},
			{Name: "master-2.example.com", Address: "10.0.0.12", SSH: &inventory.SSH{}},
		},
		SSH:   inventory.SSH{User: "core", JumpHost: "admin@bastion.example.com:22"},
		Proxy: &inventory.Proxy{},
		Timeouts: inventory.Timeouts{
			PollInterval: inventory.Duration(5 * time.Second),
		},
	}
	for _, f := range freeTextFields {
		f.set(inv, benignValue(f.name))
	}
	inventory.ApplyDefaults(inv)
	return inv
}

// benignValue is what a field holds when the fuzzed string is not put into it.
func benignValue(field string) string {
	switch field {
	case "ssh.jumpHost":
		return "admin@bastion.example.com:22"
	case "ssh.user", "masters[2].ssh.user":
		return "core"
	case "masters[1].hostname":
		return "master-1"
	case "masters[2].address":
		return "10.0.0.12"
	}
	return "x"
}

// validates reports whether the inventory package's own validation accepts inv, and
// the profile check that build and validate add (which refuses what the kit's
// ssh_config cannot hold).
func validates(inv *inventory.Inventory) bool {
	data, err := yaml.Marshal(inv)
	if err != nil {
		return false
	}
	// yaml.v3 does not write every string so that it reads back (a leading newline in a
	// block scalar is lost): a value the file cannot carry is not one an inventory holds.
	var back inventory.Inventory
	if err := yaml.Unmarshal(data, &back); err != nil {
		return false
	}
	if again, err := yaml.Marshal(&back); err != nil || !bytes.Equal(again, data) {
		return false
	}
	parsed, _, err := inventory.Parse("fuzz.yaml", data, inventory.LoadOptions{Offline: true})
	return err == nil && len(Check(parsed)) == 0
}

var (
	baselineOnce  sync.Once
	baselineKit   *Kit
	baselineShape map[string]scriptShape
	baselineErr   error
)

func baseline() (map[string]scriptShape, error) {
	baselineOnce.Do(func() {
		inv := fuzzInventory()
		if !validates(inv) {
			data, _ := yaml.Marshal(inv)
			_, _, err := inventory.Parse("fuzz.yaml", data, inventory.LoadOptions{Offline: true})
			baselineErr = fmt.Errorf("the fuzz test's own benign inventory does not validate: %v", err)
			return
		}
		baselineKit, baselineErr = Render(inv, Options{ToolVersion: "fuzz"})
		if baselineErr == nil {
			baselineShape, baselineErr = shapes(baselineKit)
		}
	})
	return baselineShape, baselineErr
}

// FuzzNoInjection puts arbitrary strings into every free-text inventory field that
// validation lets through, renders the kit, and proves that no value ever becomes
// code: every script parses, and its syntax tree has exactly the shape of the kit
// rendered from benign values (the same commands, the same substitutions and
// expansions, nothing new), with the values only inside literal or quoted words.
func FuzzNoInjection(f *testing.F) {
	for _, s := range []string{
		"x", "'", "''", `"`, "$(id)", "`id`", ";rm -rf /", "; rm -rf / #", "a\nb", "a\rb", "$'\\x41'", "$'..'",
		"ü日本語", "🙂", `\`, `\'`, `${IFS}`, "$IFS", "${PATH:0:1}", "$((1+1))", "<(id)", ">(id)", "!", "!!", "*", "?",
		"~root", "--help", " ", "a b", "%s%n", "&&id", "|id", "x\x00y", "$", "{a,b}", "#", "x#y", "a=b", "[[", "]]",
		"\\\n", "$\n(id)", "'$(id)'", `"$(id)"`, "\"'\"'\"", "EOF\nid\nEOF",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			// An inventory is a YAML file, which is UTF-8: no field can hold anything else
			// (yaml.Marshal would write such a value as !!binary, which the validator
			// reads back as its base64 text, so validation says nothing about it).
			t.Skip("not UTF-8")
		}
		want, err := baseline()
		if err != nil {
			t.Fatal(err)
		}
		inv := fuzzInventory()
		var used []string
		for _, field := range freeTextFields {
			if field.bare && s == "" {
				continue
			}
			try := fuzzInventory()
			field.set(try, s)
			if validates(try) {
				field.set(inv, s)
				used = append(used, field.name)
			}
		}
		inventory.ApplyDefaults(inv) // an emptied field means "the default", as after Load
		if len(used) == 0 || !validates(inv) {
			t.Skip("validation rejects the value in every field")
		}
		kit, err := Render(inv, Options{ToolVersion: "fuzz"})
		if err != nil {
			t.Fatalf("value %q in %v: render: %v", s, used, err)
		}
		got, err := shapes(kit)
		if err != nil {
			t.Fatalf("value %q in %v: %v", s, used, err)
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Fatalf("value %q in %v: %s is missing from the kit", s, used, name)
			}
			if !reflect.DeepEqual(g.commands, w.commands) {
				t.Errorf("value %q in %v: %s calls other commands:\n got %v\nwant %v", s, used, name, g.commands, w.commands)
			}
			if g.tree != w.tree {
				t.Errorf("value %q in %v: %s has another syntax tree: %s", s, used, name, firstDiff([]byte(w.tree), []byte(g.tree)))
			}
		}
		if len(got) != len(want) {
			t.Errorf("value %q in %v: %d scripts, want %d", s, used, len(got), len(want))
		}
		checkSSHConfig(t, kit, fmt.Sprintf("value %q in %v", s, used))
	})
}

// checkSSHConfig reads the kit's ssh_config as OpenSSH 7.4 and as current OpenSSH do
// and proves that no value changed its structure: the same directives in the same
// order as the benign kit's, each with one argument, which is exactly the inventory's
// value for that master.
func checkSSHConfig(t *testing.T, kit *Kit, what string) {
	t.Helper()
	f := kit.File(SSHConfigPath)
	if f == nil {
		t.Fatalf("%s: the kit has no %s", what, SSHConfigPath)
	}
	for _, rules := range []sshRules{openSSH74, openSSHCurrent} {
		lines, err := readSSHConfig(string(f.Data), rules)
		if err != nil {
			t.Fatalf("%s: %s as %s reads it: %v", what, SSHConfigPath, rules, err)
		}
		var keys []string
		host := -1
		for _, l := range lines {
			keys = append(keys, l.key)
			if len(l.args) != 1 {
				t.Errorf("%s: %s as %s reads it: %s has %d arguments %q, want 1", what, SSHConfigPath, rules, l.key, len(l.args), l.args)
				continue
			}
			if l.key == "Host" {
				host++
			}
			if host < 0 || host >= len(kit.Plan.Hosts) {
				continue
			}
			h := kit.Plan.Hosts[host]
			want := map[string]string{"Host": h.Name, "HostName": h.Address, "User": h.SSH.User, "IdentityFile": h.SSH.IdentityFile,
				"UserKnownHostsFile": h.SSH.KnownHostsFile, "ProxyJump": h.SSH.JumpHost, "StrictHostKeyChecking": h.SSH.StrictHostKeyChecking}
			if w, ok := want[l.key]; ok && l.args[0] != w {
				t.Errorf("%s: %s as %s reads it: %s %q of %s, want %q", what, SSHConfigPath, rules, l.key, l.args[0], h.Name, w)
			}
		}
		base := sshConfigKeys(t, rules)
		if strings.Join(keys, " ") != strings.Join(base, " ") {
			t.Errorf("%s: %s as %s reads it has other directives:\n got %v\nwant %v", what, SSHConfigPath, rules, keys, base)
		}
	}
}

var sshConfigBaseline sync.Map

// sshConfigKeys are the directives of the benign kit's ssh_config.
func sshConfigKeys(t *testing.T, rules sshRules) []string {
	if v, ok := sshConfigBaseline.Load(rules); ok {
		return v.([]string)
	}
	kit, err := Render(fuzzInventory(), Options{ToolVersion: "fuzz"})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := readSSHConfig(string(kit.File(SSHConfigPath).Data), rules)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range lines {
		keys = append(keys, l.key)
	}
	sshConfigBaseline.Store(rules, keys)
	return keys
}

// scriptShape is what a value must not be able to change in a script.
type scriptShape struct {
	commands []string // the literal command names, in order
	tree     string   // the syntax tree, one node per line, literal words collapsed
}

// shapes parses every script of a kit with the parser every stage uses.
func shapes(kit *Kit) (map[string]scriptShape, error) {
	out := map[string]scriptShape{}
	for _, f := range kit.Files {
		if !f.IsScript() {
			continue
		}
		file, err := NewParser().Parse(bytes.NewReader(f.Data), f.Name)
		if err != nil {
			return nil, fmt.Errorf("%s does not parse: %w", f.Name, err)
		}
		out[f.Name] = shapeOf(file)
	}
	return out, nil
}

// shapeOf records the kind of every node of the tree in walk order. A word part that
// is plain text (a literal, a single-quoted string, or a double-quoted string of
// literals only, which is what ShellQuote produces) is recorded as "text" and
// consecutive text parts as one, so the same value quoted differently has the same
// shape, while any expansion, substitution, command or operator a value brought in
// would add or change nodes.
func shapeOf(file *syntax.File) scriptShape {
	var sh scriptShape
	var b strings.Builder
	depth := 0
	var walk func(n syntax.Node) bool
	walk = func(n syntax.Node) bool {
		if n == nil {
			depth--
			return true
		}
		switch x := n.(type) {
		case *syntax.Comment:
			return false
		case *syntax.ArrayExpr:
			// A list of plain words is data however long it is (the accepted host
			// names): record it as one "text" element; walk any other element.
			fmt.Fprintf(&b, "%*sArrayExpr\n", depth*2, "")
			depth++
			prevText := false
			for _, el := range x.Elems {
				if el.Index == nil && el.Value != nil && allText(el.Value) {
					if !prevText {
						fmt.Fprintf(&b, "%*stext elements\n", depth*2, "")
					}
					prevText = true
					continue
				}
				prevText = false
				syntax.Walk(el, walk)
			}
			depth--
			return false
		case *syntax.CallExpr:
			if len(x.Args) > 0 {
				name := x.Args[0].Lit()
				if name == "" {
					name = "<computed>"
				}
				sh.commands = append(sh.commands, name)
			}
		case *syntax.Word:
			fmt.Fprintf(&b, "%*sWord", depth*2, "")
			prevText := false
			for _, p := range x.Parts {
				if isText(p) {
					if !prevText {
						b.WriteString(" text")
					}
					prevText = true
					continue
				}
				prevText = false
				fmt.Fprintf(&b, " %T", p)
			}
			b.WriteByte('\n')
			// Walk the non-text parts: their insides must match too.
			depth++
			for _, p := range x.Parts {
				if !isText(p) {
					syntax.Walk(p, walk)
				}
			}
			depth--
			return false
		}
		fmt.Fprintf(&b, "%*s%T%s\n", depth*2, "", n, opOf(n))
		depth++
		return true
	}
	syntax.Walk(file, walk)
	sh.tree = b.String()
	return sh
}

func isText(p syntax.WordPart) bool {
	switch x := p.(type) {
	case *syntax.Lit, *syntax.SglQuoted:
		return true
	case *syntax.DblQuoted:
		for _, q := range x.Parts {
			if _, ok := q.(*syntax.Lit); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// opOf names the operator of nodes whose operator changes their meaning.
func opOf(n syntax.Node) string {
	switch x := n.(type) {
	case *syntax.BinaryCmd:
		return " " + x.Op.String()
	case *syntax.Redirect:
		return " " + x.Op.String()
	case *syntax.BinaryTest:
		return " " + x.Op.String()
	case *syntax.UnaryTest:
		return " " + x.Op.String()
	case *syntax.BinaryArithm:
		return " " + x.Op.String()
	case *syntax.Stmt:
		if x.Background {
			return " &"
		}
	}
	return ""
}

// The shape comparison itself must notice a value that became code: a template that
// skips shq is caught, one that uses it is not.
func TestShapeCatchesUnquotedValues(t *testing.T) {
	tests := []struct {
		tmpl   string
		caught bool
	}{
		{`X={{ .Inv.QuarantineDir }}`, true},
		{`echo {{ .Inv.QuarantineDir }}`, true},
		{`X="{{ .Inv.QuarantineDir }}"`, true},
		{`X={{ shq .Inv.QuarantineDir }}`, false},
		{`echo {{ shq .Inv.QuarantineDir }} "{{ "$" }}{X}"`, false},
		{`# {{ shq .Inv.QuarantineDir }}`, false},
	}
	render := func(tmpl, value string) scriptShape {
		inv := fuzzInventory()
		inv.QuarantineDir = value
		var b strings.Builder
		tt := template.Must(template.New("t").Funcs(FuncMap()).Parse(tmpl + "\n"))
		if err := tt.Execute(&b, Data{Inv: inv}); err != nil {
			t.Fatal(err)
		}
		file, err := NewParser().Parse(strings.NewReader(b.String()), "t")
		if err != nil {
			return scriptShape{tree: "parse error: " + err.Error()}
		}
		return shapeOf(file)
	}
	for _, tt := range tests {
		benign := render(tt.tmpl, "/q/x")
		for _, nasty := range []string{"/q/$(id)", "/q/`id`;id", "/q/${HOME}", `/q/"x`} {
			got := render(tt.tmpl, nasty)
			if caught := got.tree != benign.tree || !reflect.DeepEqual(got.commands, benign.commands); caught != tt.caught {
				t.Errorf("%s with %q: caught=%v, want %v", tt.tmpl, nasty, caught, tt.caught)
			}
		}
	}
}

func allText(w *syntax.Word) bool {
	for _, p := range w.Parts {
		if !isText(p) {
			return false
		}
	}
	return true
}
