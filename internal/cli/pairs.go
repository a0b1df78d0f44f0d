package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/report"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

func cmdPairs(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "pairs", "[flags]\n\nLists the pairs of person folders whose faces match across the folders with\nsimilarity >= --min: per folder pair the number of face pairs, the best and the\nmedian similarity, most pairs first. --faces lists the face pairs themselves,\neach once, most similar first, as CSV (file_a,person_a,file_b,person_b,similarity).\nThe search is exact unless --approx is given.")
	cf := addCleanseFlags(fs, "lowest similarity listed (default: the library's match level, see docs/CLEANSING.md)", 0, "write JSON (schema "+PairsSchema+") instead of text/CSV")
	approx := fs.Bool("approx", false, "approximate search (faiss IVF); prints the measured recall")
	nprobe := fs.Int("nprobe", 8, "IVF lists visited per query with --approx")
	faces := fs.Bool("faces", false, "list the face pairs (CSV, or in the JSON), not only the folder pairs")
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
	po := cleanse.PairsOptions{Min: s.pairsMin(ctx, env.Stderr, cf), MinSet: true, Top: *cf.top}
	if *approx {
		po.Approx = faissidx.Builder("IVF", *nprobe)
	}
	res, err := s.data.Pairs(ctx, s.opt, po)
	if err != nil {
		return err
	}
	pr := printer(env)
	pr.Fprintf(env.Stderr, "pairs: %d cross-folder pairs >= %.2f", res.Total, res.Min)
	if res.Exact {
		pr.Fprintf(env.Stderr, " (exact search)\n")
	} else {
		pr.Fprintf(env.Stderr, " (approximate search, nprobe %d: measured recall %.3f over %d faces)\n", *nprobe, res.Recall, res.RecallQueries)
	}
	groups := s.data.GroupPairs(res.Pairs)
	pr.Fprintf(env.Stderr, "pairs: %d folder pairs\n", len(groups))
	switch {
	case *cf.json:
		if err := writePairsJSON(env.Stdout, s, res, groups, *faces); err != nil {
			return err
		}
	case *faces:
		if err := cleanse.WritePairsCSV(env.Stdout, s.data, res.Pairs); err != nil {
			return err
		}
	default:
		rows := [][]string{{"pairs", "best", "median", "folders"}}
		for _, g := range groups {
			rows = append(rows, []string{strconv.Itoa(g.Count), fmt.Sprintf("%.3f", g.Best), fmt.Sprintf("%.3f", g.Median), g.Persons[0] + " ~ " + g.Persons[1]})
		}
		printTable(env.Stdout, rows)
	}
	if *cf.html != "" {
		const maxGroups, perGroup = 200, 3
		sec := report.Section{
			Title: "Folder pairs whose faces match",
			Intro: fmt.Sprintf("Pairs of person folders with face pairs of similarity >= %.2f, most face pairs first; each shows its best %d face pairs.", res.Min, perGroup),
		}
		if len(groups) > maxGroups {
			sec.Intro += fmt.Sprintf(" Only the first %d of %d folder pairs are shown; --faces --json lists them all.", maxGroups, len(groups))
		}
		for _, g := range groups[:min(len(groups), maxGroups)] {
			f := report.Finding{
				Title: fmt.Sprintf("%s ~ %s", validUTF8(g.Persons[0]), validUTF8(g.Persons[1])),
				Metrics: []report.Item{{Label: "face pairs", Value: fmt.Sprint(g.Count)},
					{Label: "best / median", Value: fmt.Sprintf("%.3f / %.3f", g.Best, g.Median)}},
			}
			for _, p := range g.Pairs[:min(len(g.Pairs), perGroup)] {
				f.Matches = append(f.Matches, s.reportMatch(ctx, p, ""))
			}
			sec.Findings = append(sec.Findings, f)
		}
		r := &report.Report{
			Title: "facesearch pairs",
			Summary: []report.Item{
				{Label: "Library", Value: s.lib.Dir()}, {Label: "Similarity", Value: s.similarityName()}, {Label: "Faces", Value: fmt.Sprint(s.data.Len())},
				{Label: "Minimum similarity", Value: fmt.Sprintf("%.2f", res.Min)}, {Label: "Face pairs", Value: fmt.Sprint(res.Total)}, {Label: "Folder pairs", Value: fmt.Sprint(len(groups))},
			},
			Sections: []report.Section{sec},
		}
		if err := writeHTML(*cf.html, r); err != nil {
			return err
		}
		pr.Fprintf(env.Stderr, "pairs: report written to %s\n", *cf.html)
	}
	return nil
}

// PairsSchema names the JSON document printed by 'pairs --json'
// (docs/CLEANSING.md).
// v2: face_id (was id), files relative to the dataset root,
// best_similarity (was best), similarities with 4 decimals (docs/LIBRARY.md,
// JSON conventions).
const PairsSchema = "facesearch.pairs/v2"

func writePairsJSON(w io.Writer, s *cleanseSession, res *cleanse.PairsResult, groups []cleanse.FolderPair, faces bool) error {
	type jsonFace struct {
		ID     int64  `json:"face_id"`
		File   string `json:"file"`
		Person string `json:"person"`
	}
	type jsonPair struct {
		A          jsonFace `json:"a"`
		B          jsonFace `json:"b"`
		Similarity float64  `json:"similarity"`
	}
	type jsonGroup struct {
		PersonA string     `json:"person_a"`
		PersonB string     `json:"person_b"`
		Count   int        `json:"count"`
		Best    float64    `json:"best_similarity"`
		Median  float64    `json:"median"`
		Pairs   []jsonPair `json:"pairs,omitempty"`
	}
	out := struct {
		Schema     string      `json:"schema"`
		Similarity string      `json:"similarity"`
		Min        float64     `json:"min"`
		Exact      bool        `json:"exact"`
		Recall     float64     `json:"recall"`
		Total      int         `json:"total"`
		Folders    []jsonGroup `json:"folder_pairs"`
	}{PairsSchema, s.similarityName(), r4(res.Min), res.Exact, res.Recall, res.Total, make([]jsonGroup, len(groups))}
	for k, g := range groups {
		jg := jsonGroup{PersonA: g.Persons[0], PersonB: g.Persons[1], Count: g.Count, Best: r4(g.Best), Median: r4(g.Median)}
		if faces {
			for _, p := range g.Pairs {
				a, b := s.data.Face(p.A), s.data.Face(p.B)
				jg.Pairs = append(jg.Pairs, jsonPair{jsonFace{a.ID, s.rel(a.File), a.Person}, jsonFace{b.ID, s.rel(b.File), b.Person}, r4(p.Similarity)})
			}
		}
		out.Folders[k] = jg
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("pairs: write json: %w", err)
	}
	return nil
}

// pairsMatchQuantile is the quantile of the library's same-folder face
// medians that sets the default pairs cut-off.
const pairsMatchQuantile = 0.25

// pairsMin returns --min, or by default the library's `match` operating
// point of its open-set calibration (a pair at or above it is as close as a
// stranger's best match comes only at the match FPIR); when the library is
// uncalibrated, the match level: the higher of the same-person threshold
// and the 25th percentile of how well each face matches its own folder (a
// cross-folder pair above it is as close as three faces in four are to
// their own folder). The pairwise threshold alone floods: it accepts a large
// share of different-person pairs.
func (s *cleanseSession) pairsMin(ctx context.Context, w io.Writer, cf *cleanseFlags) float32 {
	if *cf.min != 0 {
		return s.minOrThreshold(w, cf, "pairs")
	}
	s.printSimilarity(w, "pairs")
	if c, fresh, err := s.lib.Calibration(ctx); err == nil && fresh && c.Calibrated() && c.Similarity == s.similarityName() {
		used := max(s.threshold, c.Match.Threshold)
		fmt.Fprintf(w, "pairs: %d faces of %d folders, similarity >= %.2f (the library's match operating point: FPIR %g over %d non-mated searches)\n",
			s.data.Len(), len(s.data.Persons()), used, c.Match.FPIR, c.NonMatedSearches)
		return used
	}
	level, n := s.data.MatchLevel(pairsMatchQuantile, 5000)
	used, src := s.threshold, "the "+s.source+"; no folder has two faces to measure a match level"
	if n > 0 {
		used, src = max(s.threshold, level), fmt.Sprintf("match level: the higher of the threshold %.2f (%s) and the 25th percentile %.2f of %d faces' median similarity to their own folder", s.threshold, s.source, level, n)
	}
	fmt.Fprintf(w, "pairs: %d faces of %d folders, similarity >= %.2f (%s)\n", s.data.Len(), len(s.data.Persons()), used, src)
	return used
}
