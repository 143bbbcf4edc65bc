package render

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden kits under testdata/golden from the current templates")

// TestGoldenKits compares the kit of each example inventory with the one kept under
// testdata/golden/<example>/, file by file; go test ./render -run Golden -update
// rewrites them after a deliberate change (review the diff).
func TestGoldenKits(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			kit := renderExample(t, ex)
			dir := filepath.Join("testdata", "golden", ex)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for _, f := range kit.Files {
					p := filepath.Join(dir, filepath.FromSlash(f.Name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			var golden []string
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, err := filepath.Rel(dir, p)
				golden = append(golden, filepath.ToSlash(rel))
				return err
			})
			if err != nil {
				t.Fatalf("%v (run go test ./render -run Golden -update to create the golden kits)", err)
			}
			sort.Strings(golden)
			var got []string
			for _, f := range kit.Files {
				got = append(got, f.Name)
			}
			if strings.Join(got, "\n") != strings.Join(golden, "\n") {
				t.Errorf("kit files:\n%s\ngolden files:\n%s", strings.Join(got, "\n"), strings.Join(golden, "\n"))
			}
			for _, f := range kit.Files {
				want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Name)))
				if err != nil {
					continue // reported above
				}
				if !bytes.Equal(f.Data, want) {
					from := "generated"
					if f.Template != "" {
						from = "from " + f.Template
					}
					t.Errorf("%s (%s) differs from the golden file: %s (-update rewrites it)", f.Name, from, firstDiff(want, f.Data))
				}
			}
		})
	}
}

// firstDiff describes the first line where got differs from want.
func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d: golden %s, got %s", i+1, quoteLine(w), quoteLine(g))
		}
	}
	return "same lines, different bytes"
}

func quoteLine(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return "\"" + s + "\""
}
