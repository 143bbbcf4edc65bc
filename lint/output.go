package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
)

// WriteText writes one finding a line: file:line:col: severity: message (rule).
func WriteText(w io.Writer, findings []Finding) error {
	for _, f := range findings {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	return nil
}

// JSONReport is the --format json document.
type JSONReport struct {
	Findings []Finding      `json:"findings"`
	Counts   map[string]int `json:"counts"` // findings per severity
}

// WriteJSON writes the findings as one JSON document (JSONReport).
func WriteJSON(w io.Writer, findings []Finding) error {
	r := JSONReport{Findings: findings, Counts: map[string]int{"error": 0, "warning": 0, "info": 0}}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range findings {
		r.Counts[f.Severity.String()]++
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// SARIF 2.1.0, the subset code scanning reads.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name,omitempty"`
	ShortDescription     sarifText    `json:"shortDescription"`
	FullDescription      *sarifText   `json:"fullDescription,omitempty"`
	HelpURI              string       `json:"helpUri,omitempty"`
	DefaultConfiguration *sarifConfig `json:"defaultConfiguration,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID           string          `json:"ruleId"`
	RuleIndex        int             `json:"ruleIndex"`
	Level            string          `json:"level"`
	Message          sarifText       `json:"message"`
	Locations        []sarifLocation `json:"locations"`
	RelatedLocations []sarifRelated  `json:"relatedLocations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

// SARIFOptions tune WriteSARIF.
type SARIFOptions struct {
	ToolVersion string
	// BaseDir is the directory relative URIs are relative to (the working directory);
	// absolute file names below it are made relative.
	BaseDir string
}

// sarifLevel maps a severity onto SARIF's levels.
func sarifLevel(s Severity) string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log with one run: every rule of
// restorekit's own (and each ShellCheck code that was reported) described in
// tool.driver.rules, one result per finding.
func WriteSARIF(w io.Writer, findings []Finding, opts SARIFOptions) error {
	driver := sarifDriver{Name: "restorekit", Version: opts.ToolVersion, InformationURI: "https://github.com/restorekit/restorekit"}
	index := map[string]int{}
	addRule := func(r sarifRule) {
		index[r.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, r)
	}
	addRule(sarifRule{ID: ParseRuleName, Name: ParseRuleName, ShortDescription: sarifText{"The script parses as bash."},
		DefaultConfiguration: &sarifConfig{Level: "error"}})
	addRule(sarifRule{ID: "render", Name: "render", ShortDescription: sarifText{"The templates render with the inventory."},
		DefaultConfiguration: &sarifConfig{Level: "error"}})
	for _, r := range Rules {
		addRule(sarifRule{ID: r.Name, Name: r.Name, ShortDescription: sarifText{summary(r.Doc)},
			FullDescription: &sarifText{strings.Join(strings.Fields(r.Doc), " ")}, DefaultConfiguration: &sarifConfig{Level: sarifLevel(r.Severity)}})
	}
	var codes []string
	for _, f := range findings {
		if _, ok := index[f.Rule]; !ok && strings.HasPrefix(f.Rule, "SC") {
			index[f.Rule] = -1
			codes = append(codes, f.Rule)
		}
	}
	sort.Strings(codes)
	for _, c := range codes {
		addRule(sarifRule{ID: c, Name: c, ShortDescription: sarifText{"ShellCheck " + c},
			HelpURI: "https://www.shellcheck.net/wiki/" + c})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, f := range findings {
		msg := f.Message
		var related []sarifRelated
		switch {
		case f.Template != "" && f.TemplateLine > 0:
			msg += fmt.Sprintf(" (rendered from %s:%d)", f.Template, f.TemplateLine)
			related = append(related, sarifRelated{ID: 0, Message: sarifText{"the template line it was rendered from"},
				PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(f.Template, opts.BaseDir), URIBaseID: "%SRCROOT%"},
					Region: sarifRegion{StartLine: f.TemplateLine, StartColumn: 1}}})
		case f.Template != "":
			msg += fmt.Sprintf(" (rendered from %s)", f.Template)
		}
		idx, ok := index[f.Rule]
		if !ok {
			idx = -1
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Rule, RuleIndex: idx, Level: sarifLevel(f.Severity), Message: sarifText{msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: sarifURI(f.File, opts.BaseDir), URIBaseID: "%SRCROOT%"},
				Region:           sarifRegion{StartLine: max(f.Line, 1), StartColumn: max(f.Col, 1)},
			}}},
			RelatedLocations: related,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{run}})
}

// sarifURI is a file name as a relative URI reference (relative to base when the
// name is absolute and below it).
func sarifURI(name, base string) string {
	if filepath.IsAbs(name) && base != "" {
		if rel, err := filepath.Rel(base, name); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	name = filepath.ToSlash(filepath.Clean(name))
	if strings.HasPrefix(name, "/") {
		return (&url.URL{Scheme: "file", Path: name}).String()
	}
	return (&url.URL{Path: name}).String()
}

// summary is the first sentence of a rule's Doc.
func summary(doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

// sarifRelated is a related location: for a rendered script, its template line.
type sarifRelated struct {
	ID               int           `json:"id"`
	Message          sarifText     `json:"message"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}
