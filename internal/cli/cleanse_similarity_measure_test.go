package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// plantCopies links copies of photos (byte-identical, another name) into
// other folders of a planted set: cross-folder duplicates.
func plantCopies(tb testing.TB, src string, p *plantedSet, copies [][3]string) [][3]string {
	tb.Helper()
	for _, c := range copies { // folder, file, folder the copy goes to
		linkFile(tb, filepath.Join(src, c[0], c[1]), filepath.Join(p.Root, c[2], "copy_"+c[1]))
	}
	return copies
}

// similarityScore is one audit scored per finding kind against the plan.
type similarityScore struct {
	Name                                string
	Threshold, Duplicate, Level         float32
	MisfiledFound, MisfiledPlanted      int
	MisfiledFalse, MisfiledFalseHigh    int // medium+ misfiled findings that are not a planted move to its true folder
	SplitFound, SplitPlanted            int
	SplitSeverity                       string
	SameFalse, SameFalseHigh            int // medium+ same-person findings that are not the split
	DupFound, DupPlanted, DupFalse      int // cross-folder duplicates at medium+
	Outliers, OutliersPlanted           int // medium+ outliers; of them moved photos
	Top                                 int
	TopFound                            int // planted problems found in the top 2×planted
	Total, Medium                       int
	PairsRank, PairsGroups              int // the split's folder pair in pairs at the match level (0: absent)
	PairsMin                            float32
	LookalikeLeftOut, LookalikeSplitPos int
}

// TestMeasureCleanseSimilarityEastAsian measures audit, pairs and
// lookalikes on the planted East-Asian copy (20 misfiled images, one person
// split in two, 3 cross-folder copies) with the raw cosine and with adapted
// similarities fitted on the planted (dirty) library, as an index run
// would: the figures of docs/ADAPTATION.md "Cleansing and the adapted
// similarity". Set FACESEARCH_MEASURE_DIR to keep (and reuse) the library.
func TestMeasureCleanseSimilarityEastAsian(t *testing.T) {
	if os.Getenv("FACESEARCH_MEASURE") == "" {
		t.Skip("a measurement (minutes of indexing): set FACESEARCH_MEASURE=1")
	}
	orttest.Manifest(t)
	dir := os.Getenv("FACESEARCH_MEASURE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	src := testenv.FacesSet(t, "east_asian")
	lib := filepath.Join(dir, "lib")
	root := filepath.Join(dir, "ea")
	var p *plantedSet
	if _, err := os.Stat(root); err == nil {
		// Reuse: replan without linking (the links exist).
		p = plantEastAsian(t, src, filepath.Join(t.TempDir(), "ea"), 20)
		p.Root = root
	} else {
		p = plantEastAsian(t, src, root, 20)
	}
	copies := [][3]string{{"bpink__jisoo", "", "kidol__irene"}, {"hguo__rm", "", "hguo__suga"}, {"kidol__sana", "", "kidol__nayeon"}}
	for k := range copies {
		copies[k][1] = listImages(t, filepath.Join(src, copies[k][0]))[1]
	}
	if _, err := os.Stat(filepath.Join(root, copies[0][2], "copy_"+copies[0][1])); err != nil {
		plantCopies(t, src, p, copies)
	}
	if _, err := os.Stat(filepath.Join(lib, "index.json")); err != nil {
		runCLI(t, "index", "--library", lib, root)
	}
	t.Run("planted", func(t *testing.T) { measureSimilarities(t, p, lib, copies) })
	// The same set unplanted: its medium+ findings are the scraped set's own
	// problems or false alarms, the baseline of the planted figures.
	cleanRoot, cleanLib := filepath.Join(dir, "clean"), filepath.Join(dir, "clean-lib")
	folders := map[string][]string{}
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			folders[e.Name()] = nil
		}
	}
	clean := &plantedSet{Root: cleanRoot}
	if _, err := os.Stat(cleanRoot); err != nil {
		clean = plantFolders(t, src, cleanRoot, folders, nil, nil)
	}
	if _, err := os.Stat(filepath.Join(cleanLib, "index.json")); err != nil {
		runCLI(t, "index", "--library", cleanLib, cleanRoot)
	}
	t.Run("unplanted", func(t *testing.T) { measureSimilarities(t, clean, cleanLib, nil) })
	// The first 20 people (where index keeps an adaptation), planted the
	// same way: the shipped `audit --similarity adapted` against raw.
	t.Run("first20", func(t *testing.T) {
		root20, lib20 := filepath.Join(dir, "ea20"), filepath.Join(dir, "lib20")
		p20 := plantFirst(t, src, filepath.Join(t.TempDir(), "ea20"), 20, 12)
		if _, err := os.Stat(root20); err != nil {
			p20 = plantFirst(t, src, root20, 20, 12)
		}
		p20.Root = root20
		if _, err := os.Stat(filepath.Join(lib20, "index.json")); err != nil {
			runCLI(t, "index", "--library", lib20, root20)
		}
		l := libOpen(t, lib20)
		a, err := l.Adaptation()
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if a == nil || !a.Kept {
			// The selection refuses it on this dirty library: keep its best
			// candidate anyway (adapt --refit --min-gain -1), as a user
			// forcing the adaptation would.
			t.Logf("index kept no adaptation on the first 20 people (%s); forcing it", a.Selection.Reason)
			runCLI(t, "adapt", "--library", lib20, "--refit", "--min-gain", "-1")
			l = libOpen(t, lib20)
			if a, err = l.Adaptation(); err != nil || a == nil || !a.Kept {
				t.Fatalf("adapt --refit --min-gain -1: %+v, %v", a, err)
			}
			l.Close()
		}
		t.Logf("the library's adaptation: %s (%s)", a.Similarity(), a.Selection.Reason)
		withFace := facesOf(t, lib20)
		for _, sim := range []string{"raw", "adapted"} {
			aj := auditFindings(t, lib20, "--similarity", sim)
			r := scoreKinds(p20, aj, nil, withFace)
			sc := scorePlanted(p20, aj, 2*(r.MisfiledPlanted+r.SplitPlanted), withFace)
			med := 0
			for k, f := range aj.Findings {
				if f.Severity != "low" {
					med++
					t.Logf("  %s %2d %-6s %-11s %s", sim, k+1, f.Severity, f.Kind, f.Reason)
				}
			}
			t.Logf("first20 %s: misfiled found %d/%d, false %d (high %d); split %d/%d %s; same-person false %d (high %d); outliers %d; top-%d found %d; medium+ %d / %d",
				sim, r.MisfiledFound, r.MisfiledPlanted, r.MisfiledFalse, r.MisfiledFalseHigh, r.SplitFound, r.SplitPlanted, r.SplitSeverity,
				r.SameFalse, r.SameFalseHigh, r.Outliers, sc.Top, sc.Found, med, len(aj.Findings))
		}
	})
}

// plantFirst links the first people folders of src (sorted) to dst with n
// images misfiled among them (the stride rule of plantEastAsian) and the
// first person split in two folders.
func plantFirst(tb testing.TB, src, dst string, people, n int) *plantedSet {
	tb.Helper()
	es, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	names = names[:people]
	split, others := names[0], names[1:]
	folders := map[string][]string{}
	for _, p := range names {
		folders[p] = listImages(tb, filepath.Join(src, p))
	}
	var moves []plantedMove
	for k := range n {
		from := others[k%len(others)]
		to := others[(k*11+5)%len(others)]
		if to == from {
			to = others[(k*11+6)%len(others)]
		}
		fs := folders[from]
		moves = append(moves, plantedMove{File: fs[(3+7*(k/len(others)))%len(fs)], From: from, To: to})
	}
	return plantFolders(tb, src, dst, folders, moves, [][2]string{{split, split + "_2"}})
}

// measureSimilarities audits lib (the planted set p) in each similarity and
// logs the table of docs/ADAPTATION.md.
func measureSimilarities(t *testing.T, p *plantedSet, lib string, copies [][3]string) {
	withFace := facesOf(t, lib)
	ctx := context.Background()
	l := libOpen(t, lib)
	a, err := l.Adaptation()
	if err != nil {
		t.Fatal(err)
	}
	if a != nil {
		t.Logf("the library's own adaptation: kept %v (%s), %s", a.Kept, a.Selection.Reason, a.Similarity())
	}
	thr, src2, err := l.Threshold(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raw threshold %.3f (%s)", thr, src2)
	libRoot, err := l.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	faces, err := loadFaces(ctx, l, libRoot, false)
	if err != nil {
		t.Fatal(err)
	}
	rawData, err := cleanse.Prepare(faces)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := l.FolderSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cands := []adapt.Params{
		{Kind: adapt.KindRaw},
		{Kind: adapt.KindCentre},
		{Kind: adapt.KindWCCN, Dim: 128, Shrink: 0.5},
		{Kind: adapt.KindWCCN, Dim: 256, Shrink: 0.3}, // the library's best candidate (not kept: +0.9 points)
		{Kind: adapt.KindWCCN, Dim: 256, Shrink: 0.5},
		{Kind: adapt.KindWCCN, Dim: 128, Shrink: 0.7},
		{Kind: adapt.KindLDA, Dim: 128, Shrink: 0.5},
	}
	var rows []similarityScore
	for _, cp := range cands {
		data := rawData
		lv := cleanse.Levels{Threshold: thr, DuplicateSim: 0.95}
		if cp.Kind != adapt.KindRaw {
			tr, err := adapt.Fit(fs.Set, cp, adapt.FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mapped := slices.Clone(faces)
			for k := range mapped {
				if mapped[k].Vec, err = tr.Apply(faces[k].Vec); err != nil {
					t.Fatal(err)
				}
			}
			if data, err = cleanse.Prepare(mapped); err != nil {
				t.Fatal(err)
			}
			if lv, err = cleanse.MatchedLevels(rawData, data, thr, 0.95); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: fitted on %d faces of %d folders (%d left out); levels %+v", cp, tr.Faces, tr.Folders, tr.Dropped, lv)
		}
		s := &cleanseSession{root: libRoot, data: data}
		opt := cleanse.Options{Threshold: lv.Threshold, DuplicateSim: lv.DuplicateSim, Index: faissidx.Builder("Flat", 0)}
		res, err := data.Audit(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := writeAuditJSON(&buf, s, res, res.Findings); err != nil {
			t.Fatal(err)
		}
		var aj auditJSON
		if err := json.Unmarshal(buf.Bytes(), &aj); err != nil {
			t.Fatal(err)
		}
		row := scoreKinds(p, &aj, copies, withFace)
		row.Name, row.Threshold, row.Duplicate, row.Level = cp.String(), lv.Threshold, lv.DuplicateSim, res.Level
		if cp.Kind == adapt.KindRaw {
			row.Name = "raw"
		}
		sc := scorePlanted(p, &aj, 2*(row.MisfiledPlanted+row.SplitPlanted), withFace)
		row.Top, row.TopFound = sc.Top, sc.Found
		row.Total = len(aj.Findings)
		for _, f := range aj.Findings {
			if f.Severity != "low" {
				row.Medium++
			}
		}
		// pairs at the match level, as `pairs` by default on an uncalibrated library.
		level, _ := data.MatchLevel(pairsMatchQuantile, 5000)
		row.PairsMin = max(lv.Threshold, level)
		pres, err := data.Pairs(ctx, opt, cleanse.PairsOptions{Min: row.PairsMin, MinSet: true})
		if err != nil {
			t.Fatal(err)
		}
		groups := data.GroupPairs(pres.Pairs)
		row.PairsGroups = len(groups)
		for k, g := range groups {
			if isSplit(p, g.Persons[:]) {
				row.PairsRank = k + 1
			}
		}
		lres, err := data.Lookalikes(ctx, opt, cleanse.LookalikeOptions{Top: -1, MinFaces: 2, Candidates: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, lo := range lres.LeftOut {
			if isSplit(p, lo[:]) {
				row.LookalikeLeftOut++
			}
		}
		for k, lk := range lres.Lookalikes {
			if isSplit(p, lk.Persons[:]) {
				row.LookalikeSplitPos = k + 1
			}
		}
		rows = append(rows, row)
		for k, f := range aj.Findings {
			if f.Severity != "low" || k < 45 {
				t.Logf("  %s %2d %-6s %-11s %s", row.Name, k+1, f.Severity, f.Kind, f.Reason)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintln(&b, "| similarity | threshold / duplicate / level | misfiled found (of planted) | misfiled false (high) | split | same-person false (high) | copies found / false | outliers (moved) | top-2N found | findings medium+ / all | pairs: split rank / folder pairs @min | lookalikes: split left out / rank |")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.3f / %.3f / %.3f | %d/%d | %d (%d) | %d/%d %s | %d (%d) | %d/%d / %d | %d (%d) | %d/%d in top %d | %d / %d | %d / %d @%.3f | %d / %d |\n",
			r.Name, r.Threshold, r.Duplicate, r.Level, r.MisfiledFound, r.MisfiledPlanted, r.MisfiledFalse, r.MisfiledFalseHigh,
			r.SplitFound, r.SplitPlanted, r.SplitSeverity, r.SameFalse, r.SameFalseHigh, r.DupFound, r.DupPlanted, r.DupFalse,
			r.Outliers, r.OutliersPlanted, r.TopFound, r.MisfiledPlanted+r.SplitPlanted, r.Top, r.Medium, r.Total,
			r.PairsRank, r.PairsGroups, r.PairsMin, r.LookalikeLeftOut, r.LookalikeSplitPos)
	}
	t.Logf("faces %d, folders %d\n%s", rawData.Len(), len(rawData.Persons()), b.String())
}

func isSplit(p *plantedSet, persons []string) bool {
	for _, s := range p.Splits {
		if slices.Contains(persons, s[0]) && slices.Contains(persons, s[1]) {
			return true
		}
	}
	return false
}

// scoreKinds counts, over all findings, the planted problems found per kind
// and the medium+ findings of each kind that are not planted.
func scoreKinds(p *plantedSet, a *auditJSON, copies [][3]string, withFace func(string) bool) similarityScore {
	var r similarityScore
	moved := map[string]plantedMove{}
	for _, m := range p.Moves {
		if withFace(m.To + "/" + m.File) {
			r.MisfiledPlanted++
			moved[m.File] = m
		}
	}
	r.SplitPlanted = len(p.Splits)
	found := map[string]bool{}
	for _, c := range copies {
		if withFace(c[0]+"/"+c[1]) && withFace(c[2]+"/copy_"+c[1]) {
			r.DupPlanted++
		}
	}
	dupFound := map[string]bool{}
	for _, f := range a.Findings {
		hi := f.Severity == "high"
		med := f.Severity != "low"
		switch f.Kind {
		case "misfiled":
			bs := bases(f.Files)
			if strings.HasPrefix(bs[0], "copy_") {
				continue // a planted copy is filed under another person too
			}
			m, ok := moved[bs[0]]
			if ok && len(bs) == 1 && f.Persons[0] == m.To && f.Persons[1] == m.From {
				if !found[m.File] {
					r.MisfiledFound++
				}
				found[m.File] = true
			} else if med {
				r.MisfiledFalse++
				if hi {
					r.MisfiledFalseHigh++
				}
			}
		case "same-person":
			if isSplit(p, f.Persons) {
				r.SplitFound, r.SplitSeverity = 1, f.Severity
			} else if med {
				r.SameFalse++
				if hi {
					r.SameFalseHigh++
				}
			}
		case "duplicate":
			if !med || len(f.Persons) < 2 {
				continue
			}
			bs := bases(f.Files)
			hit := false
			for _, c := range copies {
				if slices.Contains(bs, c[1]) && slices.Contains(bs, "copy_"+c[1]) {
					hit = true
					dupFound[c[1]] = true
				}
			}
			if !hit {
				r.DupFalse++
			}
		case "outlier":
			if med {
				r.Outliers++
				if _, ok := moved[bases(f.Files)[0]]; ok {
					r.OutliersPlanted++
				}
			}
		}
	}
	r.DupFound = len(dupFound)
	return r
}
