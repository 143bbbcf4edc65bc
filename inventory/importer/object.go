package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/restorekit/restorekit/inventory"
)

// Source is one captured `oc get ... -o json` (or -o yaml) output.
type Source struct {
	// Name is the file it came from, or the oc command that printed it; messages use it.
	Name string
	Data []byte
}

// value is one place in a parsed oc output: its node (nil when absent), the JSON path
// that leads to it, and the nearest node that exists, for positions.
type value struct {
	src  *source
	path string
	n    *yaml.Node
	at   *yaml.Node
}

// source is a parsed oc output with the problems found in it.
type source struct {
	name string
	root *yaml.Node
	r    *report
}

// report collects problems from every source, so all of them are reported at once.
type report struct {
	problems []inventory.Problem
	warnings []inventory.Problem
}

func (r *report) add(p inventory.Problem) {
	if p.Warning {
		r.warnings = append(r.warnings, p)
	} else {
		r.problems = append(r.problems, p)
	}
}

// parse reads one oc output, JSON or YAML (JSON is read as the YAML it is, which
// keeps every value's line for messages).
func (r *report) parse(s Source) *source {
	src := &source{name: s.Name, r: r}
	at := func(line int, format string, args ...any) *source {
		r.add(inventory.Problem{File: s.Name, Line: line, Col: 1, Message: fmt.Sprintf(format, args...)})
		return nil
	}
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(s.Data)).Decode(&doc)
	switch {
	case errors.Is(err, io.EOF):
		return at(1, "empty (the output of oc get ... -o json)")
	case err != nil:
		p := inventory.SyntaxProblem(s.Name, err)
		return at(p.Line, "not JSON or YAML: %s (capture it with oc get ... -o json)", strings.TrimPrefix(p.Message, "not YAML: "))
	}
	if len(doc.Content) == 0 {
		return at(1, "empty (the output of oc get ... -o json)")
	}
	src.root = doc.Content[0]
	if src.root.Kind != yaml.MappingNode {
		return at(src.root.Line, "not an object: %s (capture it with oc get ... -o json, not the table oc prints by default)", describe(src.root))
	}
	return src
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		s := n.Value
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return "text " + strconv.Quote(s)
	}
	return "something else"
}

func (s *source) top() value { return value{src: s, n: s.root, at: s.root} }

// get is the field key of an object; absent (n nil) when v is not an object or has no
// such field.
func (v value) get(key string) value {
	path := key
	if v.path != "" {
		path = v.path + "." + key
	}
	out := value{src: v.src, path: path, at: v.at}
	if v.n == nil || v.n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		if v.n.Content[i].Value == key {
			out.n = v.n.Content[i+1]
			if out.n.Kind == yaml.AliasNode && out.n.Alias != nil {
				out.n = out.n.Alias
			}
			out.at = out.n
			if out.n.Kind == yaml.ScalarNode && out.n.Tag == "!!null" {
				out.n = nil
			}
			return out
		}
	}
	return out
}

// keys are an object's field names (label keys).
func (v value) keys() []string {
	if v.n == nil || v.n.Kind != yaml.MappingNode {
		return nil
	}
	var ks []string
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		ks = append(ks, v.n.Content[i].Value)
	}
	return ks
}

func (v value) has(key string) bool {
	for _, k := range v.keys() {
		if k == key {
			return true
		}
	}
	return false
}

// list is a list's items; a field that is there but not a list is a problem.
func (v value) list() []value {
	if v.n == nil {
		return nil
	}
	if v.n.Kind != yaml.SequenceNode {
		v.errorf("found %s (expected a list)", describe(v.n))
		return nil
	}
	out := make([]value, len(v.n.Content))
	for i, n := range v.n.Content {
		out[i] = value{src: v.src, path: fmt.Sprintf("%s[%d]", v.path, i), n: n, at: n}
	}
	return out
}

// str is a text field, "" when absent; a field that is there but not text is a problem.
func (v value) str() string {
	if v.n == nil {
		return ""
	}
	if v.n.Kind != yaml.ScalarNode {
		v.errorf("found %s (expected text)", describe(v.n))
		return ""
	}
	return v.n.Value
}

func (v value) problem(warning bool, format string, args ...any) {
	line, col := 1, 1
	if v.at != nil {
		line, col = v.at.Line, v.at.Column
	}
	v.src.r.add(inventory.Problem{File: v.src.name, Line: line, Col: col, Field: v.path, Message: fmt.Sprintf(format, args...), Warning: warning})
}

func (v value) errorf(format string, args ...any) { v.problem(false, format, args...) }
func (v value) warnf(format string, args ...any)  { v.problem(true, format, args...) }

// objects returns the objects of the wanted kind in an oc output that is either one
// such object or a List of them (oc prints a List unless one object is named).
func (s *source) objects(kind, capture string) []value {
	top := s.top()
	k := top.get("kind")
	switch got := k.str(); {
	case got == kind:
		return []value{top}
	case got == "List" || got == kind+"List":
		var out []value
		for _, item := range top.get("items").list() {
			switch ik := item.get("kind").str(); ik {
			case kind, "":
				out = append(out, item)
			default:
				item.get("kind").errorf("%q (expected %s: capture it with %s)", ik, kind, capture)
			}
		}
		return out
	case got == "":
		k.errorf("missing (expected %s, or a List of them: capture it with %s)", kind, capture)
	default:
		k.errorf("%q (expected %s, or a List of them: capture it with %s)", got, kind, capture)
	}
	return nil
}

// named picks the one cluster-scoped singleton (clusterversion "version", proxy and
// infrastructure "cluster") from an oc output.
func (s *source) named(kind, name, capture string) (value, bool) {
	objs := s.objects(kind, capture)
	for _, o := range objs {
		if o.get("metadata").get("name").str() == name {
			return o, true
		}
	}
	switch items := s.top().get("items"); {
	case len(objs) == 1:
		// oc names these objects as above; another name is still the one object there is.
		return objs[0], true
	case len(objs) > 1:
		items.errorf("%d %s objects and none named %q (capture it with %s)", len(objs), kind, name, capture)
	case items.n != nil && items.n.Kind == yaml.SequenceNode && len(items.n.Content) == 0:
		items.errorf("empty: no %s in the list (capture it with %s)", kind, capture)
	}
	return value{}, false
}
