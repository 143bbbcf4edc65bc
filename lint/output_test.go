package lint

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var sampleFindings = []Finding{
	{File: "kit/hosts/m0/restore.sh", Line: 4, Col: 1, Severity: SeverityError, Message: "rm deletes /etc/x, outside the run directory", Rule: "no-delete"},
	{File: "kit/recover.sh", Line: 7, Col: 3, Severity: SeverityWarning, Message: "unquoted expansion $x", Rule: "unquoted-expansion"},
	{File: "kit/recover.sh", Line: 9, Col: 6, Severity: SeverityInfo, Message: "Double quote to prevent globbing and word splitting.", Rule: "SC2086"},
	{File: "demo-recovery-kit/hosts/m0/restore.sh", Template: "templates/hosts/restore.sh.tmpl", TemplateLine: 12, Line: 2, Col: 1, Severity: SeverityError, Message: "x", Rule: "strict-mode"},
	{File: "/work/kits/demo/redeploy.sh", Line: 1, Col: 1, Severity: SeverityError, Message: "y", Rule: "parse"},
}

// TestSARIFStructure checks the SARIF log against what SARIF 2.1.0 and code scanning
// require: $schema and version, one run whose tool.driver names restorekit and
// describes every rule, and results whose ruleId/ruleIndex point at a described rule,
// with a valid level, a message, and a relative artifact URI with a 1-based region.
func TestSARIFStructure(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, sampleFindings, SARIFOptions{ToolVersion: "v1.2.3", BaseDir: "/work"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
						HelpURI string `json:"helpUri"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				RelatedLocations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"relatedLocations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatalf("SARIF does not decode: %v", err)
	}
	if log.Schema != SARIFSchema || log.Version != "2.1.0" {
		t.Errorf("$schema %q version %q, want %q 2.1.0", log.Schema, log.Version, SARIFSchema)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "restorekit" || run.Tool.Driver.Version != "v1.2.3" {
		t.Errorf("driver %q %q", run.Tool.Driver.Name, run.Tool.Driver.Version)
	}
	ids := map[string]int{}
	for i, r := range run.Tool.Driver.Rules {
		if r.ID == "" || r.ShortDescription.Text == "" {
			t.Errorf("rule %d: id %q, description %q: both required", i, r.ID, r.ShortDescription.Text)
		}
		if _, dup := ids[r.ID]; dup {
			t.Errorf("rule %s described twice", r.ID)
		}
		ids[r.ID] = i
	}
	for _, r := range Rules {
		if _, ok := ids[r.Name]; !ok {
			t.Errorf("rule %s not described", r.Name)
		}
	}
	if i, ok := ids["SC2086"]; !ok || run.Tool.Driver.Rules[i].HelpURI != "https://www.shellcheck.net/wiki/SC2086" {
		t.Errorf("ShellCheck code SC2086 not described with its wiki page")
	}
	if len(run.Results) != len(sampleFindings) {
		t.Fatalf("%d results, want %d", len(run.Results), len(sampleFindings))
	}
	wantURI := []string{"kit/hosts/m0/restore.sh", "kit/recover.sh", "kit/recover.sh", "demo-recovery-kit/hosts/m0/restore.sh", "kits/demo/redeploy.sh"}
	wantLevel := []string{"error", "warning", "note", "error", "error"}
	for i, res := range run.Results {
		f := sampleFindings[i]
		if res.RuleID != f.Rule || res.RuleIndex < 0 || res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != f.Rule {
			t.Errorf("result %d: ruleId %q ruleIndex %d do not name rule %s", i, res.RuleID, res.RuleIndex, f.Rule)
		}
		if res.Level != wantLevel[i] {
			t.Errorf("result %d: level %q, want %q", i, res.Level, wantLevel[i])
		}
		if !strings.HasPrefix(res.Message.Text, f.Message) {
			t.Errorf("result %d: message %q, want %q", i, res.Message.Text, f.Message)
		}
		if len(res.Locations) != 1 {
			t.Fatalf("result %d: %d locations, want 1", i, len(res.Locations))
		}
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI != wantURI[i] {
			t.Errorf("result %d: uri %q, want %q", i, pl.ArtifactLocation.URI, wantURI[i])
		}
		if pl.Region.StartLine != f.Line || pl.Region.StartColumn != f.Col {
			t.Errorf("result %d: region %d:%d, want %d:%d", i, pl.Region.StartLine, pl.Region.StartColumn, f.Line, f.Col)
		}
	}
	if !strings.Contains(run.Results[3].Message.Text, "(rendered from templates/hosts/restore.sh.tmpl:12)") {
		t.Errorf("rendered file's result does not name its template: %q", run.Results[3].Message.Text)
	}
	if rel := run.Results[3].RelatedLocations; len(rel) != 1 || rel[0].PhysicalLocation.ArtifactLocation.URI != "templates/hosts/restore.sh.tmpl" || rel[0].PhysicalLocation.Region.StartLine != 12 {
		t.Errorf("rendered file's result does not relate its template line: %+v", rel)
	}
	if rel := run.Results[0].RelatedLocations; len(rel) != 0 {
		t.Errorf("a kit file's result has related locations: %+v", rel)
	}
}

func TestSARIFEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, nil, SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("a clean run has no results array:\n%s", buf.String())
	}
}

func TestWriteTextAndJSON(t *testing.T) {
	var text bytes.Buffer
	if err := WriteText(&text, sampleFindings[:1]); err != nil {
		t.Fatal(err)
	}
	if got, want := text.String(), "kit/hosts/m0/restore.sh:4:1: error: rm deletes /etc/x, outside the run directory (no-delete)\n"; got != want {
		t.Errorf("text:\n got %q\nwant %q", got, want)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, sampleFindings); err != nil {
		t.Fatal(err)
	}
	var r JSONReport
	if err := json.Unmarshal(js.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != len(sampleFindings) || r.Findings[3] != sampleFindings[3] {
		t.Errorf("json findings do not round-trip: %+v", r.Findings)
	}
	if r.Counts["error"] != 3 || r.Counts["warning"] != 1 || r.Counts["info"] != 1 {
		t.Errorf("counts %v", r.Counts)
	}
	js.Reset()
	if err := WriteJSON(&js, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"findings": []`) {
		t.Errorf("no findings is not an empty array: %s", js.String())
	}
}

func TestFindingString(t *testing.T) {
	f := Finding{File: "demo-recovery-kit/hosts/m0/restore.sh", Template: "templates/hosts/restore.sh.tmpl", Line: 3, Col: 5, Severity: SeverityWarning, Message: "m", Rule: "format"}
	want := "demo-recovery-kit/hosts/m0/restore.sh (from templates/hosts/restore.sh.tmpl):3:5: warning: m (format)"
	if got := f.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAtOrAbove(t *testing.T) {
	for _, tc := range []struct {
		threshold Severity
		want      int
	}{{SeverityInfo, 5}, {SeverityWarning, 4}, {SeverityError, 3}} {
		if got := AtOrAbove(sampleFindings, tc.threshold); got != tc.want {
			t.Errorf("AtOrAbove(%s) = %d, want %d", tc.threshold, got, tc.want)
		}
	}
}
