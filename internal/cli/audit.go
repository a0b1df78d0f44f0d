package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/report"
)

func cmdAudit(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "audit", "[flags]\n\nFinds folders that are one person, misfiled images, near-duplicate photos and\noutliers, judged against each folder's own similarities and the library's\n(docs/CLEANSING.md). Filing problems come first, by severity (high: act,\nmedium: look, low: for information); copies inside one folder come last.\nFindings marked \"not a problem\" in the web page are left out.\nNothing is moved or deleted; --script writes the suggested moves, commented out.")
	cf := addCleanseFlags(fs, "same-person similarity threshold (default: the library's)", 50, "write JSON (schema "+AuditSchema+") instead of text")
	script := fs.String("script", "", "write a reviewable bash script of suggested moves (all commented out) to `FILE`")
	sel := addFindingFilter(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"audit: takes no arguments"}
	}
	if err := sel.check(); err != nil {
		return err
	}
	s, err := openCleanse(ctx, env, cf)
	if err != nil {
		return err
	}
	defer s.Close()
	s.opt.Threshold = s.minOrThreshold(env.Stderr, cf, "audit")
	res, err := s.data.Audit(ctx, s.opt)
	if err != nil {
		return err
	}
	high, medium := res.Count(cleanse.High), res.Count(cleanse.Medium)
	p := printer(env)
	p.Fprintf(env.Stderr, "audit: %d findings: %d high, %d medium, %d low\n", len(res.Findings), high, medium-high, len(res.Findings)-medium)
	selected, err := sel.apply(ctx, env.Stderr, s, res)
	if err != nil {
		return err
	}
	shown := selected.Findings
	if *cf.top > 0 && len(shown) > *cf.top {
		shown = shown[:*cf.top]
	}
	res = selected // the script and the report follow the same selection
	if *cf.json {
		if err := writeAuditJSON(env.Stdout, s, res, shown); err != nil {
			return err
		}
	} else {
		writeAuditText(env.Stdout, p, s, shown)
	}
	if *script != "" {
		if err := writeFile(*script, 0o644, func(w io.Writer) error {
			return cleanse.WriteMoveScript(w, s.data, res, cleanse.Medium)
		}); err != nil {
			return fmt.Errorf("audit: script: %w", err)
		}
		p.Fprintf(env.Stderr, "audit: suggested moves written to %s (every command commented out)\n", *script)
	}
	if *cf.html != "" {
		if err := writeHTML(*cf.html, auditReport(ctx, s, res, shown)); err != nil {
			return err
		}
		p.Fprintf(env.Stderr, "audit: report written to %s\n", *cf.html)
	}
	return nil
}

// writeFile creates file and writes it with fn.
func writeFile(file string, perm os.FileMode, fn func(io.Writer) error) error {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeAuditText(w io.Writer, pr *msgPrinter, s *cleanseSession, findings []cleanse.Finding) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	if len(findings) == 0 {
		fmt.Fprintln(bw, pr.Sprintf("No problems found."))
	}
	for k, f := range findings {
		mark := ""
		if s.dismissed[s.data.Key(&f)] {
			mark = pr.Sprintf(" (dismissed: not a problem)")
		}
		sev, _ := f.Severity.MarshalText()
		pr.Fprintf(bw, "%3d. [%s] %s (score %.2f)%s\n     %s\n", k+1, pr.Sprintf(string(sev)), pr.Sprintf(string(f.Kind)), f.Score, mark, validUTF8(f.Reason))
		for _, p := range f.Evidence {
			a, b := s.data.Face(p.A), s.data.Face(p.B)
			fmt.Fprintf(bw, "     %.3f  %s  ~  %s\n", p.Similarity, validUTF8(s.rel(a.File)), validUTF8(s.rel(b.File)))
		}
	}
}

type jsonFinding struct {
	Key        string           `json:"key"`
	Dismissed  bool             `json:"dismissed,omitempty"`
	Kind       cleanse.Kind     `json:"kind"`
	Severity   cleanse.Severity `json:"severity"`
	Score      float64          `json:"score"`
	Persons    []string         `json:"persons"`
	Files      []string         `json:"files,omitempty"`
	Similarity float64          `json:"similarity"`
	Baseline   float64          `json:"baseline"`
	Reason     string           `json:"reason"`
	Evidence   []jsonEvidence   `json:"evidence"`
}

type jsonEvidence struct {
	FileA      string  `json:"file_a"` // relative to the dataset root
	PersonA    string  `json:"person_a"`
	FileB      string  `json:"file_b"`
	PersonB    string  `json:"person_b"`
	Similarity float64 `json:"similarity"`
}

func evidenceJSON(s *cleanseSession, ps []cleanse.Pair) []jsonEvidence {
	out := make([]jsonEvidence, len(ps))
	for k, p := range ps {
		a, b := s.data.Face(p.A), s.data.Face(p.B)
		out[k] = jsonEvidence{s.rel(a.File), a.Person, s.rel(b.File), b.Person, r4(p.Similarity)}
	}
	return out
}

// AuditSchema names the JSON document printed by 'audit --json'
// (docs/CLEANSING.md).
// v2: files relative to the dataset root, similarities with 4 decimals
// (docs/LIBRARY.md, JSON conventions).
const AuditSchema = "facesearch.audit/v2"

func writeAuditJSON(w io.Writer, s *cleanseSession, res *cleanse.AuditResult, shown []cleanse.Finding) error {
	out := struct {
		Schema       string        `json:"schema"`
		Similarity   string        `json:"similarity"`
		Threshold    float64       `json:"threshold"`
		DuplicateSim float64       `json:"duplicate_similarity"`
		Faces        int           `json:"faces"`
		Persons      int           `json:"persons"`
		Total        int           `json:"total"`
		Findings     []jsonFinding `json:"findings"`
	}{AuditSchema, s.similarityName(), r4(res.Threshold), r4(res.DuplicateSim), res.Faces, res.Persons, len(res.Findings), []jsonFinding{}}
	for _, f := range shown {
		jf := jsonFinding{Key: s.data.Key(&f), Dismissed: s.dismissed[s.data.Key(&f)], Kind: f.Kind, Severity: f.Severity, Score: f.Score, Persons: f.Persons,
			Similarity: r4(f.Similarity), Baseline: r4(f.Baseline), Reason: f.Reason, Evidence: evidenceJSON(s, f.Evidence)}
		for _, i := range f.Faces {
			jf.Files = append(jf.Files, s.rel(s.data.Face(i).File))
		}
		out.Findings = append(out.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("audit: write json: %w", err)
	}
	return nil
}

// auditSections are the report sections, one per kind of finding.
var auditSections = []struct {
	kind         cleanse.Kind
	title, intro string
}{
	{cleanse.SamePerson, "Folders that are one person", "Two folders whose faces match each other about as well as each folder's faces match themselves (medians, so a few misfiled images do not hide it)."},
	{cleanse.Misfiled, "Misfiled images", "Faces that match another folder far better than their own: the folder they probably belong to is named."},
	{cleanse.Duplicate, "Near-duplicate photos", "The same photo more than once: byte-identical files or faces with similarity >= the duplicate level."},
	{cleanse.Outlier, "Outliers", "Faces far from the other faces of their own folder: another person, a wrong face picked in a group photo, or a poor photo."},
}

func auditReport(ctx context.Context, s *cleanseSession, res *cleanse.AuditResult, shown []cleanse.Finding) *report.Report {
	r := &report.Report{
		Title: "facesearch audit",
		Summary: []report.Item{
			{Label: "Library", Value: s.lib.Dir()}, {Label: "Similarity", Value: s.similarityName()}, {Label: "Faces", Value: fmt.Sprint(res.Faces)},
			{Label: "Folders", Value: fmt.Sprint(res.Persons)},
			{Label: "Same-person threshold", Value: fmt.Sprintf("%.2f", res.Threshold)},
			{Label: "Findings", Value: fmt.Sprintf("%d (%d high, %d medium)", len(res.Findings), res.Count(cleanse.High), res.Count(cleanse.Medium)-res.Count(cleanse.High))},
		},
	}
	if len(shown) < len(res.Findings) {
		r.Summary = append(r.Summary, report.Item{Label: "Shown", Value: fmt.Sprintf("the first %d", len(shown))})
	}
	for _, sec := range auditSections {
		rs := report.Section{Title: sec.title, Intro: sec.intro}
		for _, f := range shown {
			if f.Kind != sec.kind {
				continue
			}
			rf := report.Finding{
				Title:    validUTF8(strings.Join(f.Persons, " / ")),
				Severity: f.Severity.String(),
				Reason:   validUTF8(f.Reason),
				Metrics:  []report.Item{{Label: "score", Value: fmt.Sprintf("%.2f", f.Score)}},
			}
			switch f.Kind {
			case cleanse.SamePerson:
				rf.Metrics = append(rf.Metrics, report.Item{Label: "median across the folders", Value: fmt.Sprintf("%.3f", f.Similarity)},
					report.Item{Label: "median within a folder", Value: fmt.Sprintf("%.3f", f.Baseline)})
			case cleanse.Misfiled:
				rf.Title = validUTF8(fmt.Sprintf("%s: filed under %s, probably %s", s.rel(s.data.Face(f.Faces[0]).File), f.Persons[0], f.Persons[1]))
				rf.Metrics = append(rf.Metrics, report.Item{Label: "median to " + validUTF8(f.Persons[1]), Value: fmt.Sprintf("%.3f", f.Similarity)},
					report.Item{Label: "median to " + validUTF8(f.Persons[0]), Value: fmt.Sprintf("%.3f", f.Baseline)})
			case cleanse.Outlier:
				rf.Metrics = append(rf.Metrics, report.Item{Label: "median to its folder", Value: fmt.Sprintf("%.3f", f.Similarity)},
					report.Item{Label: "folder's own median", Value: fmt.Sprintf("%.3f", f.Baseline)})
			}
			for k, p := range f.Evidence {
				note := ""
				switch {
				case f.Kind == cleanse.Misfiled && k == len(f.Evidence)-1 && s.data.Face(p.B).Person == f.Persons[0]:
					note = "best in own folder"
				case f.Kind == cleanse.Outlier:
					note = "best in own folder"
				}
				rf.Matches = append(rf.Matches, s.reportMatch(ctx, p, note))
			}
			rs.Findings = append(rs.Findings, rf)
		}
		r.Sections = append(r.Sections, rs)
	}
	return r
}
