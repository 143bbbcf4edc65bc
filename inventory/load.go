package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// Offline skips reading backup.localDir and trusts backup.files as recorded
	// (re-rendering a kit from its normalized inventory on another machine).
	Offline bool
	// ReadBackup also reads inside the pair found in backup.localDir (package backup):
	// the snapshot's appended sha256, its database, the release and nodes it holds, and
	// the static pod resources the restore extracts. A damaged pair, a release other
	// than cluster.version or an unfinished update is an error; a master the snapshot
	// does not know is a warning.
	ReadBackup bool
}

// Problem is one thing wrong (or, for a warning, worth a look) in an inventory file.
type Problem struct {
	File    string
	Line    int
	Col     int
	Field   string // dotted path such as masters[2].address; empty for the whole file
	Message string // what is wrong (what would be valid)
	Warning bool
}

// String formats the problem as FILE:LINE:COL: field: message; a warning has
// "warning: " before the field.
func (p Problem) String() string {
	s := fmt.Sprintf("%s:%d:%d: ", p.File, p.Line, p.Col)
	if p.Warning {
		s += "warning: "
	}
	if p.Field != "" {
		s += p.Field + ": "
	}
	return s + p.Message
}

// Error is every error-level problem of an inventory, sorted by line.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var b bytes.Buffer
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads, decodes and validates an inventory file. It returns the inventory with
// defaults filled in and any warnings, or an *Error listing every problem (and the
// warnings found on the way).
func Load(path string, opts LoadOptions) (*Inventory, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Parse(path, data, opts)
}

// Parse is Load for bytes already read; name is used in messages and to resolve
// a relative backup.localDir.
func Parse(name string, data []byte, opts LoadOptions) (*Inventory, []Problem, error) {
	root, p := parseYAML(name, data)
	if p != nil {
		return nil, nil, &Error{Problems: []Problem{*p}}
	}
	d := newDecoder(name, root)
	var inv Inventory
	d.decode("", root, reflect.ValueOf(&inv).Elem())
	inv.Path = name
	inv.written = d
	c := &checker{decoder: d, inv: &inv, opts: opts}
	c.check()
	sortProblems(c.problems)
	sortProblems(c.warnings)
	if len(c.problems) > 0 {
		return nil, c.warnings, &Error{Problems: c.problems}
	}
	dropEmpty(&inv)
	ApplyDefaults(&inv)
	return &inv, c.warnings, nil
}

// dropEmpty forgets sections written with nothing in them (proxy: {}, ssh: {} on a
// master or worker), so the normalized inventory does not carry them.
func dropEmpty(inv *Inventory) {
	if inv.Proxy != nil && *inv.Proxy == (Proxy{}) {
		inv.Proxy = nil
	}
	for _, hosts := range [][]Master{inv.Masters, inv.Workers} {
		for i := range hosts {
			if s := hosts[i].SSH; s != nil && *s == (SSH{}) {
				hosts[i].SSH = nil
			}
		}
	}
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML reads the one YAML document of an inventory file, or says why it cannot.
func parseYAML(name string, data []byte) (*yaml.Node, *Problem) {
	at := func(line, col int, format string, args ...any) *Problem {
		return &Problem{File: name, Line: line, Col: col, Message: fmt.Sprintf(format, args...)}
	}
	if i := bytes.IndexFunc(data, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f }); i >= 0 {
		line, col := lineCol(data, i)
		if data[i] == 0 {
			return nil, at(line, col, "the file contains a NUL byte (an inventory is UTF-8 text)")
		}
		return nil, at(line, col, "the file contains the control character %U (an inventory is UTF-8 text)", rune(data[i]))
	}
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		line, col := lineCol(data, i)
		return nil, at(line, col, "the file is not valid UTF-8 (an inventory is UTF-8 text)")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, at(1, 1, "the file is empty (an inventory starts with apiVersion: %s and kind: %s; restorekit init writes a commented example)", APIVersion, Kind)
		}
		return nil, yamlProblem(name, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil && (len(next.Content) == 0 || next.Content[0].Tag == "!!null"):
		// a trailing "---" with nothing after it
	case err == nil:
		line, col := next.Line, next.Column
		if len(next.Content) > 0 {
			line, col = next.Content[0].Line, next.Content[0].Column
		}
		return nil, at(line, col, "a second YAML document (one inventory per file)")
	case !errors.Is(err, io.EOF):
		return nil, yamlProblem(name, err)
	}
	if len(doc.Content) == 0 {
		return nil, at(1, 1, "the file is empty (an inventory starts with apiVersion: %s and kind: %s; restorekit init writes a commented example)", APIVersion, Kind)
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, at(1, 1, "the file is empty (an inventory starts with apiVersion: %s and kind: %s; restorekit init writes a commented example)", APIVersion, Kind)
	}
	return root, nil
}

// SyntaxProblem is the problem a YAML (or JSON) syntax error from yaml.v3 describes,
// at the line it means (yaml.v3 numbers some lines from 0); its message starts with
// "not YAML: ".
func SyntaxProblem(name string, err error) Problem { return *yamlProblem(name, err) }

// yamlProblem turns a YAML syntax error into a problem at the line it names.
func yamlProblem(name string, err error) *Problem {
	line, msg := 1, err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if zeroBasedLine(msg) {
			line++
		}
	} else if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return &Problem{File: name, Line: line, Col: 1, Message: "not YAML: " + msg}
}

// zeroBasedLine reports whether yaml.v3 numbers the line of this error from 0: it
// does for parser errors (and for a misplaced tab), not for the scanner's others.
func zeroBasedLine(msg string) bool {
	for _, m := range []string{
		"did not find expected key", "did not find expected '-' indicator",
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected node content", "did not find expected <document start>",
		"found a tab character that violates indentation",
	} {
		if msg == m {
			return true
		}
	}
	return false
}

// lineCol converts a byte offset to a 1-based line and column (in runes).
func lineCol(data []byte, off int) (int, int) {
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(data[start:off])
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Field < b.Field
	})
}

// ApplyDefaults fills every field left empty with its default.
func ApplyDefaults(inv *Inventory) {
	if inv.SSH.User == "" {
		inv.SSH.User = DefaultSSHUser
	}
	if inv.SSH.Port == 0 {
		inv.SSH.Port = DefaultSSHPort
	}
	if inv.SSH.StrictHostKeyChecking == "" {
		inv.SSH.StrictHostKeyChecking = DefaultStrictHostKeyChecking
	}
	if inv.SSH.ConnectTimeout == 0 {
		inv.SSH.ConnectTimeout = DefaultConnectTimeout
	}
	if inv.Backup.RemoteDir == "" {
		inv.Backup.RemoteDir = DefaultRemoteDir
	}
	if inv.QuarantineDir == "" {
		inv.QuarantineDir = DefaultQuarantineDir
	}
	t, d := &inv.Timeouts, DefaultTimeouts
	for _, p := range []struct {
		v   *Duration
		def Duration
	}{
		{&t.StaticPodStop, d.StaticPodStop}, {&t.Restore, d.Restore}, {&t.KubeletRestart, d.KubeletRestart},
		{&t.SingleMember, d.SingleMember}, {&t.EtcdRollout, d.EtcdRollout}, {&t.KubeAPIServerRollout, d.KubeAPIServerRollout},
		{&t.KubeControllerManagerRollout, d.KubeControllerManagerRollout}, {&t.KubeSchedulerRollout, d.KubeSchedulerRollout},
		{&t.StableCluster, d.StableCluster}, {&t.MinimumStablePeriod, d.MinimumStablePeriod}, {&t.PollInterval, d.PollInterval},
	} {
		if *p.v == 0 {
			*p.v = p.def
		}
	}
}
