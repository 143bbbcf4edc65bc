package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wantComment is an expectation in a fixture: a finding of the fixture's rule on this
// line whose message matches each quoted regexp.
var wantComment = regexp.MustCompile("#\\s*want((?:\\s+(?:\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`))+)\\s*$")
var wantArg = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`")

// roleDirective makes a fixture a coordinator script: "# role: workstation".
var roleDirective = regexp.MustCompile(`(?m)^# role: (\w+)$`)

type want struct {
	line int
	re   *regexp.Regexp
	hit  bool
}

func parseWants(t *testing.T, name string, src []byte) []*want {
	t.Helper()
	var ws []*want
	for i, line := range strings.Split(string(src), "\n") {
		m := wantComment.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, q := range wantArg.FindAllString(m[1], -1) {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("%s:%d: bad want %s: %v", name, i+1, q, err)
			}
			ws = append(ws, &want{line: i + 1, re: regexp.MustCompile(s)})
		}
	}
	return ws
}

// TestFixtures runs each rule on its fixtures, testdata/<rule>/*.sh (with their want
// comments taken out), and checks that it reports exactly what those "# want" comments
// expect; testdata/parse holds parse errors.
// Every rule has at least one fixture it fails and one it passes.
func TestFixtures(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		name := d.Name()
		var rules []*Rule
		if name != ParseRuleName {
			r := RuleByName(name)
			if r == nil {
				t.Errorf("testdata/%s: no rule of that name", name)
				continue
			}
			rules = []*Rule{r}
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join("testdata", name, "*.sh"))
			failing, passing := 0, 0
			for _, file := range files {
				src, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				role := RoleHost
				if m := roleDirective.FindSubmatch(src); m != nil {
					if role, err = ParseRole(string(m[1])); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
				}
				wants := parseWants(t, file, src)
				src = stripWants(src)
				if len(wants) > 0 {
					failing++
				} else {
					passing++
				}
				for _, f := range runRules(file, "", role, src, rules) {
					if f.File != file {
						t.Errorf("finding names file %q, want %q", f.File, file)
					}
					matched := false
					for _, w := range wants {
						if !w.hit && w.line == f.Line && w.re.MatchString(f.Message) {
							w.hit, matched = true, true
							break
						}
					}
					if !matched {
						t.Errorf("unexpected finding: %s", f)
					}
				}
				for _, w := range wants {
					if !w.hit {
						t.Errorf("%s:%d: no finding matching %q", file, w.line, w.re)
					}
				}
			}
			if failing == 0 || passing == 0 {
				t.Errorf("testdata/%s: want at least one failing and one passing fixture, have %d failing and %d passing", name, failing, passing)
			}
		})
	}
	for _, r := range Rules {
		if !seen[r.Name] {
			t.Errorf("rule %s has no fixtures (testdata/%s/*.sh)", r.Name, r.Name)
		}
	}
	if !seen[ParseRuleName] {
		t.Errorf("no parse error fixtures (testdata/%s/*.sh)", ParseRuleName)
	}
}

// stripWants removes the "# want" comments, so that rules judge the fixture without
// them (a want comment would otherwise count as, say, the reason of a directive).
func stripWants(src []byte) []byte {
	lines := strings.Split(string(src), "\n")
	for i, line := range lines {
		if loc := wantComment.FindStringIndex(line); loc != nil {
			lines[i] = strings.TrimRight(line[:loc[0]], " \t")
		}
	}
	return []byte(strings.Join(lines, "\n"))
}
