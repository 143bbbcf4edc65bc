package inventory

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder turns a yaml.Node tree into an Inventory, strictly: every key must be a
// field of the schema, every value of the field's type. It records where each field
// was written so later checks can point at it, and keeps going after a problem so
// that all of them are reported at once.
type decoder struct {
	file     string
	root     *yaml.Node
	problems []Problem
	values   map[string]*yaml.Node // field path -> value node
	keys     map[string]*yaml.Node // field path -> key node
	bad      map[string]bool       // field paths whose value could not be decoded
}

func newDecoder(file string, root *yaml.Node) *decoder {
	return &decoder{
		file:   file,
		root:   root,
		values: map[string]*yaml.Node{},
		keys:   map[string]*yaml.Node{},
		bad:    map[string]bool{},
	}
}

var durationType = reflect.TypeOf(Duration(0))

// addAt records a problem at a node's position.
func (d *decoder) addAt(n *yaml.Node, field, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Col: col, Field: field, Message: fmt.Sprintf(format, args...)})
}

// pos finds where to point for a field: its value when it was written, otherwise the
// key of the nearest enclosing field that was, otherwise the document's start.
func (d *decoder) pos(field string) *yaml.Node {
	if n, ok := d.values[field]; ok {
		return n
	}
	for p := parentPath(field); p != ""; p = parentPath(p) {
		if n, ok := d.keys[p]; ok {
			return n
		}
		if n, ok := d.values[p]; ok {
			return n
		}
	}
	return d.root
}

// has reports whether a field was written with a non-null value.
func (d *decoder) has(field string) bool {
	_, ok := d.values[field]
	return ok
}

// parentPath strips the last element of a dotted field path: "masters[1].ssh.port" ->
// "masters[1].ssh" -> "masters[1]" -> "masters" -> "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// describe names what a node holds, for "expected X, found Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// yamlFields lists a struct's fields by their YAML key, in declaration order.
func yamlFields(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

// decode fills v from n. path is the field path of v ("" for the document).
//
// An alias (*name) is decoded as the node it refers to, but problems with a scalar
// point at the alias, where the value is used.
func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	at := n
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with nothing after it means "not set"
	}
	if n.Kind == yaml.ScalarNode {
		// A scalar's position is where it is used; a copy keeps the anchor's intact.
		c := *n
		c.Line, c.Column = at.Line, at.Column
		n = &c
	}
	if path != "" {
		d.values[path] = n
	}
	t := v.Type()
	switch {
	case t == durationType:
		s, ok := d.scalar(path, n, "a duration such as 90s, 10m or 1h30m")
		if !ok {
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.bad[path] = true
			d.addAt(n, path, "%q is not a duration (a Go duration such as 90s, 10m or 1h30m)", s)
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(path, n, v.Elem())
	case t.Kind() == reflect.Struct:
		d.decodeStruct(path, n, v)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.bad[path] = true
			d.addAt(n, path, "found %s (expected a list, one \"- \" entry per item)", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
		}
		v.Set(s)
	case t.Kind() == reflect.String:
		s, ok := d.scalar(path, n, "one text value")
		if !ok {
			return
		}
		if msg := badText(s); msg != "" {
			d.bad[path] = true
			d.addAt(n, path, "%s (values are single-line text)", msg)
			return
		}
		v.SetString(s)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		s, ok := d.scalar(path, n, "a whole number")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err == nil && n.Tag == "!!str" {
			d.bad[path] = true
			d.addAt(n, path, "%q is quoted text (write the number without quotes)", s)
			return
		}
		if err != nil || n.Tag != "!!int" {
			d.bad[path] = true
			d.addAt(n, path, "%q is not a whole number (digits only, e.g. 22)", s)
			return
		}
		v.SetInt(i)
	case t.Kind() == reflect.Bool:
		s, ok := d.scalar(path, n, "true or false")
		if !ok {
			return
		}
		if n.Tag != "!!bool" {
			d.bad[path] = true
			d.addAt(n, path, "%q is not a boolean (true or false)", s)
			return
		}
		v.SetBool(s == "true" || s == "True" || s == "TRUE")
	default:
		panic(fmt.Sprintf("inventory: no decoder for %s", t))
	}
}

// scalar returns a scalar node's text, or records that a scalar was expected.
func (d *decoder) scalar(path string, n *yaml.Node, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.bad[path] = true
		d.addAt(n, path, "found %s (expected %s)", describe(n), want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	names, index := yamlFields(v.Type())
	if n.Kind != yaml.MappingNode {
		d.bad[path] = true
		found := "found " + describe(n)
		if path == "" {
			found = "the file holds " + describe(n)
		}
		d.addAt(n, path, "%s (expected a mapping with the fields %s)", found, strings.Join(names, ", "))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		field := joinPath(path, key)
		if k.Kind != yaml.ScalarNode {
			d.addAt(k, path, "found %s as a key (expected one of %s)", describe(k), strings.Join(names, ", "))
			continue
		}
		fi, ok := index[key]
		if !ok {
			where := "the inventory"
			if path != "" {
				where = path
			}
			d.addAt(k, field, "unknown field (valid in %s: %s)", where, strings.Join(names, ", "))
			continue
		}
		if first, dup := seen[key]; dup {
			d.addAt(k, field, "set twice (first at line %d; keep one)", first.Line)
			continue
		}
		seen[key] = k
		d.keys[field] = k
		d.decode(field, val, v.Field(fi))
	}
}

// badText says why a value cannot be used as one line of text, or "".
func badText(s string) string {
	for _, r := range s {
		switch {
		case r == 0:
			return "contains a NUL byte"
		case r == '\n' || r == '\r':
			return "contains a line break"
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	return ""
}
