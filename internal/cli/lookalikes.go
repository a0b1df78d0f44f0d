package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/report"
)

func cmdLookalikes(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "lookalikes", "[flags]\n\nRanks pairs of different people by how alike they look: the 20% trimmed mean of\nthe similarities of all their face pairs (misfiled and outlying faces left out).\nPairs of folders that audit calls one person with high severity are left out\n(and named on stderr and in the JSON).")
	cf := addCleanseFlags(fs, "same-person similarity threshold for the audit step (default: the library's)", 50, "write JSON (schema "+LookalikesSchema+") instead of text")
	minFaces := fs.Int("min-faces", 2, "people need at least this many usable faces")
	cands := fs.Int("candidates", 10, "nearest people per person examined exactly")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"lookalikes: takes no arguments"}
	}
	s, err := openCleanse(ctx, env, cf)
	if err != nil {
		return err
	}
	defer s.Close()
	s.opt.Threshold = s.minOrThreshold(env.Stderr, cf, "lookalikes")
	top := *cf.top
	if top == 0 {
		top = -1
	}
	res, err := s.data.Lookalikes(ctx, s.opt, cleanse.LookalikeOptions{Top: top, MinFaces: *minFaces, Candidates: *cands})
	if err != nil {
		return err
	}
	pr := printer(env)
	pr.Fprintf(env.Stderr, "lookalikes: %d people with >= %d faces, %d candidate pairs examined, %d left out as the same person\n",
		res.Persons, *minFaces, res.Candidates, res.SamePerson)
	for _, p := range res.LeftOut {
		pr.Fprintf(env.Stderr, "lookalikes: left out (audit: one person, high): %s ~ %s\n", validUTF8(p[0]), validUTF8(p[1]))
	}
	if *cf.json {
		type jsonLookalike struct {
			PersonA    string         `json:"person_a"`
			PersonB    string         `json:"person_b"`
			Similarity float64        `json:"similarity"`
			Median     float64        `json:"median"`
			Max        float64        `json:"max"`
			Pairs      int            `json:"pairs"`
			Evidence   []jsonEvidence `json:"evidence"`
		}
		type jsonLeftOut struct {
			PersonA string `json:"person_a"`
			PersonB string `json:"person_b"`
		}
		out := struct {
			Schema     string          `json:"schema"`
			Similarity string          `json:"similarity"`
			Threshold  float64         `json:"threshold"`
			Persons    int             `json:"persons"`
			Candidates int             `json:"candidates"`
			Lookalikes []jsonLookalike `json:"lookalikes"`
			SamePerson []jsonLeftOut   `json:"left_out_same_person"`
		}{Schema: LookalikesSchema, Similarity: s.similarityName(), Threshold: r4(s.opt.Threshold), Persons: res.Persons, Candidates: res.Candidates,
			Lookalikes: []jsonLookalike{}, SamePerson: []jsonLeftOut{}}
		for _, l := range res.Lookalikes {
			out.Lookalikes = append(out.Lookalikes, jsonLookalike{l.Persons[0], l.Persons[1], r4(l.Similarity), r4(l.Median), r4(l.Max), l.Pairs, evidenceJSON(s, l.Evidence)})
		}
		for _, p := range res.LeftOut {
			out.SamePerson = append(out.SamePerson, jsonLeftOut{p[0], p[1]})
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("lookalikes: write json: %w", err)
		}
	} else {
		rows := [][]string{{"rank", "score", "median", "max", "pairs", "people"}}
		for k, l := range res.Lookalikes {
			rows = append(rows, []string{strconv.Itoa(k + 1), fmt.Sprintf("%.3f", l.Similarity), fmt.Sprintf("%.3f", l.Median),
				fmt.Sprintf("%.3f", l.Max), strconv.Itoa(l.Pairs), l.Persons[0] + " ~ " + l.Persons[1]})
		}
		printTable(env.Stdout, rows)
	}
	if *cf.html != "" {
		sec := report.Section{
			Title: "Look-alikes",
			Intro: "Pairs of different people, most alike first. Score: the 20% trimmed mean of the similarities of all their face pairs. Shown: the most similar pair and a typical pair.",
		}
		for k, l := range res.Lookalikes {
			f := report.Finding{
				Title: fmt.Sprintf("%d. %s ~ %s", k+1, validUTF8(l.Persons[0]), validUTF8(l.Persons[1])),
				Metrics: []report.Item{
					{Label: "score (trimmed mean)", Value: fmt.Sprintf("%.3f", l.Similarity)},
					{Label: "median / max", Value: fmt.Sprintf("%.3f / %.3f", l.Median, l.Max)},
					{Label: "face pairs", Value: fmt.Sprintf("%d (%d x %d faces)", l.Pairs, l.Faces[0], l.Faces[1])},
				},
			}
			for n, p := range l.Evidence {
				note := "most similar"
				if n > 0 {
					note = "typical"
				}
				f.Matches = append(f.Matches, s.reportMatch(ctx, p, note))
			}
			sec.Findings = append(sec.Findings, f)
		}
		r := &report.Report{
			Title: "facesearch lookalikes",
			Summary: []report.Item{
				{Label: "Library", Value: s.lib.Dir()}, {Label: "Similarity", Value: s.similarityName()}, {Label: "People", Value: fmt.Sprint(res.Persons)},
				{Label: "Same-person threshold", Value: fmt.Sprintf("%.2f", s.opt.Threshold)},
			},
			Sections: []report.Section{sec},
		}
		if err := writeHTML(*cf.html, r); err != nil {
			return err
		}
		pr.Fprintf(env.Stderr, "lookalikes: report written to %s\n", *cf.html)
	}
	return nil
}

// LookalikesSchema names the JSON document printed by 'lookalikes --json'
// (docs/CLEANSING.md).
// v2: evidence files relative to the dataset root, similarities with 4
// decimals (docs/LIBRARY.md, JSON conventions).
const LookalikesSchema = "facesearch.lookalikes/v2"
