package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// evalJSONPath evaluates the subset of kubectl's JSONPath templates scripts use:
// literal text, {"..."} string literals, {.a.b[0].c}, [*], [?(@.k=="v")], and
// {range ...}...{end}. Missing keys print nothing (kubectl's default
// --allow-missing-template-keys=true); several results are separated by spaces.
func evalJSONPath(tmpl string, data any) (string, error) {
	nodes, err := lexJSONPath(tmpl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if _, err := execJSONPath(nodes, 0, data, data, &b, false); err != nil {
		return "", err
	}
	return b.String(), nil
}

type jpNode struct {
	text   string // literal text when !action
	action bool
}

func lexJSONPath(s string) ([]jpNode, error) {
	var nodes []jpNode
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			nodes = append(nodes, jpNode{text: s})
			break
		}
		if i > 0 {
			nodes = append(nodes, jpNode{text: s[:i]})
		}
		s = s[i+1:]
		// Find the closing brace outside quotes.
		depth, end, quote := 0, -1, byte(0)
		for j := 0; j < len(s) && end < 0; j++ {
			c := s[j]
			switch {
			case quote != 0:
				if c == '\\' {
					j++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '{':
				depth++
			case c == '}':
				if depth == 0 {
					end = j
				}
				depth--
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unclosed action")
		}
		nodes = append(nodes, jpNode{text: strings.TrimSpace(s[:end]), action: true})
		s = s[end+1:]
	}
	return nodes, nil
}

// execJSONPath runs nodes from i until the end or a matching {end}; it returns the
// index after the {end}.
func execJSONPath(nodes []jpNode, i int, root, cur any, b *strings.Builder, inRange bool) (int, error) {
	for i < len(nodes) {
		n := nodes[i]
		i++
		if !n.action {
			b.WriteString(n.text)
			continue
		}
		switch {
		case n.text == "end":
			if !inRange {
				return i, fmt.Errorf("not in range, nothing to end")
			}
			return i, nil
		case strings.HasPrefix(n.text, "range "):
			vals, err := evalPath(strings.TrimSpace(strings.TrimPrefix(n.text, "range ")), root, cur)
			if err != nil {
				return i, err
			}
			var elems []any
			for _, v := range vals {
				if arr, ok := v.([]any); ok {
					elems = append(elems, arr...)
				} else {
					elems = append(elems, v)
				}
			}
			bodyStart := i
			next := -1
			if len(elems) == 0 {
				var skip strings.Builder
				var err error
				next, err = execJSONPath(nodes, bodyStart, root, nil, &skip, true)
				if err != nil {
					return i, err
				}
			}
			for _, e := range elems {
				var err error
				next, err = execJSONPath(nodes, bodyStart, root, e, b, true)
				if err != nil {
					return i, err
				}
			}
			i = next
		case strings.HasPrefix(n.text, `"`):
			s, err := strconv.Unquote(n.text)
			if err != nil {
				return i, fmt.Errorf("bad string literal %s", n.text)
			}
			b.WriteString(s)
		case strings.HasPrefix(n.text, "'"):
			b.WriteString(strings.Trim(n.text, "'"))
		default:
			vals, err := evalPath(n.text, root, cur)
			if err != nil {
				return i, err
			}
			for k, v := range vals {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(jpString(v))
			}
		}
	}
	if inRange {
		return i, fmt.Errorf("range without end")
	}
	return i, nil
}

func jpString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// evalPath evaluates one path such as .items[0].status.conditions[?(@.type=="X")].reason.
func evalPath(expr string, root, cur any) ([]any, error) {
	vals := []any{cur}
	switch {
	case strings.HasPrefix(expr, "$"):
		vals, expr = []any{root}, expr[1:]
	case strings.HasPrefix(expr, "@"):
		expr = expr[1:]
	case cur == nil:
		vals = []any{root}
	}
	for len(expr) > 0 {
		switch expr[0] {
		case '.':
			if strings.HasPrefix(expr, "..") {
				return nil, fmt.Errorf("recursive descent is not modelled")
			}
			expr = expr[1:]
			j := strings.IndexAny(expr, ".[")
			if j < 0 {
				j = len(expr)
			}
			key := expr[:j]
			expr = expr[j:]
			if key == "" {
				continue
			}
			var next []any
			for _, v := range vals {
				if m, ok := v.(map[string]any); ok {
					if x, ok := m[key]; ok {
						next = append(next, x)
					}
				}
			}
			vals = next
		case '[':
			j := matchBracket(expr)
			if j < 0 {
				return nil, fmt.Errorf("unterminated [ in %q", expr)
			}
			inner := expr[1:j]
			expr = expr[j+1:]
			var next []any
			for _, v := range vals {
				sel, err := selectBracket(inner, root, v)
				if err != nil {
					return nil, err
				}
				next = append(next, sel...)
			}
			vals = next
		default:
			return nil, fmt.Errorf("unrecognized character in action: %q", expr)
		}
	}
	return vals, nil
}

func matchBracket(s string) int {
	depth, quote := 0, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func selectBracket(inner string, root, v any) ([]any, error) {
	arr, isArr := v.([]any)
	switch {
	case inner == "*":
		if isArr {
			return arr, nil
		}
		if m, ok := v.(map[string]any); ok {
			var out []any
			for _, k := range sortedKeys(m) {
				out = append(out, m[k])
			}
			return out, nil
		}
		return nil, nil
	case strings.HasPrefix(inner, "?(") && strings.HasSuffix(inner, ")"):
		cond := inner[2 : len(inner)-1]
		var out []any
		for _, e := range arr {
			ok, err := evalFilter(cond, root, e)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, e)
			}
		}
		return out, nil
	case strings.HasPrefix(inner, "'") || strings.HasPrefix(inner, `"`):
		if m, ok := v.(map[string]any); ok {
			if x, ok := m[strings.Trim(inner, `'"`)]; ok {
				return []any{x}, nil
			}
		}
		return nil, nil
	}
	if !isArr {
		return nil, nil
	}
	if a, b, ok := strings.Cut(inner, ":"); ok {
		lo, hi := 0, len(arr)
		if a != "" {
			lo, _ = strconv.Atoi(a)
		}
		if b != "" {
			hi, _ = strconv.Atoi(b)
		}
		lo, hi = clampIndex(lo, len(arr)), clampIndex(hi, len(arr))
		if lo >= hi {
			return nil, nil
		}
		return arr[lo:hi], nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(inner))
	if err != nil {
		return nil, fmt.Errorf("bad index %q", inner)
	}
	if n < 0 {
		n += len(arr)
	}
	if n < 0 || n >= len(arr) {
		return nil, fmt.Errorf("array index out of bounds: index %d, length %d", n, len(arr))
	}
	return []any{arr[n]}, nil
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

func evalFilter(cond string, root, e any) (bool, error) {
	for _, op := range []string{"==", "!="} {
		if l, r, ok := strings.Cut(cond, op); ok {
			lv, err := evalPath(strings.TrimSpace(l), root, e)
			if err != nil {
				return false, err
			}
			want := strings.TrimSpace(r)
			if s, err := strconv.Unquote(want); err == nil {
				want = s
			} else {
				want = strings.Trim(want, "'")
			}
			eq := len(lv) == 1 && jpString(lv[0]) == want
			return eq == (op == "=="), nil
		}
	}
	lv, err := evalPath(strings.TrimSpace(cond), root, e)
	return len(lv) > 0, err
}

func TestJSONPath(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"items":[{"metadata":{"name":"cluster"},"status":{"latestAvailableRevision":7,
		"conditions":[{"type":"Degraded","reason":"AsExpected"},{"type":"NodeInstallerProgressing","reason":"AllNodesAtLatestRevision","message":"3 nodes are at revision 7"}],
		"nodeStatuses":[{"nodeName":"a","currentRevision":7},{"nodeName":"b","currentRevision":6}]}}]}`), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ tmpl, want string }{
		{`{.items[0].status.latestAvailableRevision}`, "7"},
		{`{range .items[0].status.conditions[?(@.type=="NodeInstallerProgressing")]}{.reason}{"\n"}{.message}{"\n"}{end}`, "AllNodesAtLatestRevision\n3 nodes are at revision 7\n"},
		{`{.items[0].status.conditions[?(@.type=='NodeInstallerProgressing')].reason}`, "AllNodesAtLatestRevision"},
		{`{.items[*].status.nodeStatuses[*].currentRevision}`, "7 6"},
		{`{range .items[0].status.nodeStatuses[*]}{.nodeName}={.currentRevision};{end}`, "a=7;b=6;"},
		{`rev {.items[0].status.latestAvailableRevision} of {.items[0].metadata.name}`, "rev 7 of cluster"},
		{`{.items[0].status.missing}`, ""},
		{`{$.items[0].metadata.name}`, "cluster"},
		{`{range .items[0].status.conditions[?(@.type=="Nope")]}{.reason}{end}x`, "x"},
	} {
		got, err := evalJSONPath(tc.tmpl, doc)
		if err != nil {
			t.Errorf("%s: %v", tc.tmpl, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.tmpl, got, tc.want)
		}
	}
	for _, bad := range []string{`{.items[0]`, `{range .items[*]}{.x}`, `{..name}`} {
		if _, err := evalJSONPath(bad, doc); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestUnquoteWord(t *testing.T) {
	for q, want := range map[string]string{
		`NO_PROXY=.svc\,localhost`: "NO_PROXY=.svc,localhost",
		`\^etcd\$`:                 "^etcd$",
		`'{"spec": 1}'`:            `{"spec": 1}`,
		`$'a\nb'`:                  "a\nb",
		`plain`:                    "plain",
	} {
		if got := unquoteWord(q); got != want {
			t.Errorf("unquoteWord(%s) = %q, want %q", q, got, want)
		}
	}
}
