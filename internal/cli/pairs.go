package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/report"
)

func cmdPairs(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "pairs", "[flags]\n\nLists every pair of faces from different person folders with similarity >= --min,\neach pair once, most similar first, as CSV (file_a,person_a,file_b,person_b,similarity)\nor JSON. The search is exact unless --approx is given.")
	cf := addCleanseFlags(fs, "lowest similarity listed (default: the library's same-person threshold)", 0)
	approx := fs.Bool("approx", false, "approximate search (faiss IVF); prints the measured recall")
	nprobe := fs.Int("nprobe", 8, "IVF lists visited per query with --approx")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"pairs: takes no arguments"}
	}
	s, err := openCleanse(ctx, env, cf)
	if err != nil {
		return err
	}
	defer s.Close()
	po := cleanse.PairsOptions{Min: s.minOrThreshold(env.Stderr, cf, "pairs"), Top: *cf.top}
	if *approx {
		po.Approx = cleanseFaiss("IVF", *nprobe)
	}
	res, err := s.data.Pairs(ctx, s.opt, po)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "pairs: %d cross-folder pairs >= %.2f", res.Total, res.Min)
	if res.Exact {
		fmt.Fprintf(env.Stderr, " (exact search)\n")
	} else {
		fmt.Fprintf(env.Stderr, " (approximate search, nprobe %d: measured recall %.3f over %d faces)\n", *nprobe, res.Recall, res.RecallQueries)
	}
	if *cf.json {
		type jsonFace struct {
			ID     int64  `json:"id"`
			File   string `json:"file"`
			Person string `json:"person"`
		}
		type jsonPair struct {
			A          jsonFace `json:"a"`
			B          jsonFace `json:"b"`
			Similarity float32  `json:"similarity"`
		}
		out := struct {
			Min    float32    `json:"min"`
			Exact  bool       `json:"exact"`
			Recall float64    `json:"recall"`
			Total  int        `json:"total"`
			Pairs  []jsonPair `json:"pairs"`
		}{res.Min, res.Exact, res.Recall, res.Total, make([]jsonPair, len(res.Pairs))}
		for k, p := range res.Pairs {
			a, b := s.data.Face(p.A), s.data.Face(p.B)
			out.Pairs[k] = jsonPair{jsonFace{a.ID, a.File, a.Person}, jsonFace{b.ID, b.File, b.Person}, p.Similarity}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("pairs: write json: %w", err)
		}
	} else if err := cleanse.WritePairsCSV(env.Stdout, s.data, res.Pairs); err != nil {
		return err
	}
	if *cf.html != "" {
		const maxHTML = 500
		sec := report.Section{
			Title: "Pairs of faces from different folders",
			Intro: fmt.Sprintf("Faces filed under different people with similarity >= %.2f, most similar first.", res.Min),
		}
		if len(res.Pairs) > maxHTML {
			sec.Intro += fmt.Sprintf(" Only the first %d of %d are shown; the CSV has them all.", maxHTML, len(res.Pairs))
		}
		for _, p := range res.Pairs[:min(len(res.Pairs), maxHTML)] {
			a, b := s.data.Face(p.A), s.data.Face(p.B)
			sec.Findings = append(sec.Findings, report.Finding{
				Title:   fmt.Sprintf("%s ~ %s", validUTF8(a.Person), validUTF8(b.Person)),
				Matches: []report.Match{s.reportMatch(ctx, p, "")},
			})
		}
		r := &report.Report{
			Title: "facesearch pairs",
			Summary: []report.Item{
				{Label: "Library", Value: s.lib.Dir()}, {Label: "Faces", Value: fmt.Sprint(s.data.Len())},
				{Label: "Minimum similarity", Value: fmt.Sprintf("%.2f", res.Min)}, {Label: "Pairs", Value: fmt.Sprint(res.Total)},
			},
			Sections: []report.Section{sec},
		}
		if err := writeHTML(*cf.html, r); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "pairs: report written to %s\n", *cf.html)
	}
	return nil
}
