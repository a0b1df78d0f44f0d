// Package report renders findings about faces as one self-contained HTML
// file: inline CSS, face crops embedded as data: URIs, no scripts and no
// external URLs, so it can be mailed or opened offline.
package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
)

// Report is the content of one HTML report.
type Report struct {
	Title string
	// Summary lines shown under the title (threshold, counts, command...).
	Summary []Item
	// Sections, shown in order; empty sections are listed as such.
	Sections []Section
}

// Item is a labelled value.
type Item struct {
	Label, Value string
}

// Section groups findings of one kind.
type Section struct {
	Title string
	// Intro explains what the section lists.
	Intro    string
	Findings []Finding
}

// Finding is one entry of a section.
type Finding struct {
	Title string
	// Severity is "high", "medium", "low" or "" (none shown).
	Severity string
	// Reason explains the finding.
	Reason string
	// Metrics are shown as a small table (scores, medians, counts).
	Metrics []Item
	// Matches are rows of faces shown side by side.
	Matches []Match
}

// Match is a row of faces (usually two) with their similarity.
type Match struct {
	Faces []Face
	// Similarity is shown when the row has two or more faces.
	Similarity float32
	// Note is a short caption for the row ("best match", "typical pair").
	Note string
}

// Face is one face: its aligned crop and where it comes from.
type Face struct {
	// Crop is a PNG, JPEG, GIF or WebP image (an aligned 112x112 crop); nil
	// or anything else shows a placeholder.
	Crop   []byte
	Person string
	File   string
}

//go:embed report.html.tmpl
var pageTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"crop":     cropURI,
	"anchor":   anchor,
	"sim":      func(s float32) string { return fmt.Sprintf("%.3f", s) },
	"sevclass": severityClass,
}).Parse(pageTemplate))

// cropURI returns a data: URI for an image crop, or "" when the bytes are
// not an image a browser shows.
func cropURI(b []byte) template.URL {
	if len(b) == 0 {
		return ""
	}
	switch ct := http.DetectContentType(b); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return template.URL("data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(b))
	}
	return ""
}

// anchor makes a fragment id from a section number.
func anchor(i int) string { return fmt.Sprintf("section-%d", i+1) }

// Write renders r as HTML to w.
func Write(w io.Writer, r *Report) error {
	if err := page.Execute(w, r); err != nil {
		return fmt.Errorf("render report %q: %w", r.Title, err)
	}
	return nil
}

// Severities returns the severities the stylesheet colours, most severe
// first (a new slice on each call).
func Severities() []string { return []string{"high", "medium", "low"} }

// severityClass maps a severity to a CSS class, so unknown values cannot
// inject class names.
func severityClass(s string) string {
	for _, k := range Severities() {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	return "nosev"
}
