package cli

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// plantedMove is one image planted in the wrong folder.
type plantedMove struct {
	File     string // base name
	From, To string // true folder, folder it was filed under
}

// plantedSet is a copy of a labelled dataset with planted problems.
type plantedSet struct {
	Root   string
	Moves  []plantedMove
	Splits [][2]string // a person split into [original, new folder]
}

// listImages returns the sorted image names of dir.
func listImages(tb testing.TB, dir string) []string {
	tb.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !e.IsDir() && strings.HasSuffix(strings.ToLower(e.Name()), ".jpg") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// linkFile symlinks from (a shared photo, read-only) at to.
func linkFile(tb testing.TB, from, to string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(from, to); err != nil {
		tb.Fatal(err)
	}
}

// plantFolders links the photos of folders (folder -> names, nil for all)
// from src into dst, filing the moves under their To folder and the second
// half (odd positions) of each split person under the split's new folder.
func plantFolders(tb testing.TB, src, dst string, folders map[string][]string, moves []plantedMove, splits [][2]string) *plantedSet {
	tb.Helper()
	moved := map[string]string{}
	for _, m := range moves {
		moved[m.From+"/"+m.File] = m.To
	}
	splitTo := map[string]string{}
	for _, s := range splits {
		splitTo[s[0]] = s[1]
	}
	for p, names := range folders {
		if names == nil {
			names = listImages(tb, filepath.Join(src, p))
		}
		for k, n := range names {
			to := p
			if m, ok := moved[p+"/"+n]; ok {
				to = m
			} else if s, ok := splitTo[p]; ok && k%2 == 1 {
				to = s
			}
			linkFile(tb, filepath.Join(src, p, n), filepath.Join(dst, to, n))
		}
	}
	return &plantedSet{Root: dst, Moves: moves, Splits: splits}
}

// plantEastAsian copies (as symlinks) the East-Asian set to dst with n images
// misfiled across folders and one person split in two folders. The choice is
// deterministic: image k of the plan comes from folder k mod folders, and
// goes to a folder a fixed stride away.
func plantEastAsian(tb testing.TB, src, dst string, n int) *plantedSet {
	tb.Helper()
	es, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	var people []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") {
			people = append(people, e.Name())
		}
	}
	sort.Strings(people)
	const split = "hguo__jungkook"
	others := slices.DeleteFunc(slices.Clone(people), func(p string) bool { return p == split })
	folders := map[string][]string{}
	for _, p := range people {
		folders[p] = listImages(tb, filepath.Join(src, p))
	}
	var moves []plantedMove
	for k := 0; k < n; k++ {
		from := others[k%len(others)]
		to := others[(k*11+5)%len(others)]
		if to == from {
			to = others[(k*11+6)%len(others)]
		}
		names := folders[from]
		moves = append(moves, plantedMove{File: names[(3+7*(k/len(others)))%len(names)], From: from, To: to})
	}
	return plantFolders(tb, src, dst, folders, moves, [][2]string{{split, split + "_2"}})
}

// plantLFWSmall copies (as symlinks) an LFW subset of small folders with
// planted traps for the evidence rules: one-photo folders (among them pairs
// that audit used to call one person), the sisters Serena and Venus Williams
// with three of Serena's photos filed under Venus, a Tony Blair photo filed
// under George W Bush, and a photo whose true folder is left with one photo.
func plantLFWSmall(tb testing.TB, lfw, dst string) *plantedSet {
	tb.Helper()
	es, err := os.ReadDir(lfw)
	if err != nil {
		tb.Fatal(err)
	}
	folders := map[string][]string{
		"Serena_Williams": nil, "Venus_Williams": nil, "Ken_Macha": nil, "Michelle_Pfeiffer": nil,
		"Buford_Blount": nil, "Jaime_Pressly": nil, "Anthony_Rackauckas": nil,
	}
	for _, p := range []string{"Tony_Blair", "George_W_Bush", "Colin_Powell"} {
		folders[p] = listImages(tb, filepath.Join(lfw, p))[:20]
	}
	ones, twos := 0, ""
	for _, e := range es {
		if !e.IsDir() || ones >= 60 && twos != "" {
			continue
		}
		if _, ok := folders[e.Name()]; ok {
			continue
		}
		names := listImages(tb, filepath.Join(lfw, e.Name()))
		switch {
		case len(names) == 1 && ones < 60:
			folders[e.Name()] = nil
			ones++
		case len(names) == 2 && twos == "":
			folders[e.Name()] = nil
			twos = e.Name()
		}
	}
	serena := listImages(tb, filepath.Join(lfw, "Serena_Williams"))
	moves := []plantedMove{
		{File: "Tony_Blair_0001.jpg", From: "Tony_Blair", To: "George_W_Bush"},
		{File: twos + "_0002.jpg", From: twos, To: "Colin_Powell"},
	}
	for _, k := range []int{2, 9, 19} {
		moves = append(moves, plantedMove{File: serena[k], From: "Serena_Williams", To: "Venus_Williams"})
	}
	return plantFolders(tb, lfw, dst, folders, moves, nil)
}

// plantedScore is how well an audit found the planted problems.
type plantedScore struct {
	Planted int // problems planted (moves with a detected face, splits)
	// Found: in the top Top findings, a misfiled finding of the moved file
	// naming its true folder, or a same-person finding of a split.
	Found int
	// Flagged: the moved file appears in the top Top findings at all (as
	// misfiled to another folder, or an outlier).
	Flagged int
	Top     int
	Missed  []string
	// Alarms counts the findings at medium or high in the top Top; Hits
	// those of them that are a planted problem (precision Hits/Alarms).
	Alarms, Hits int
}

// scorePlanted scores the top findings against the plan; withFace tells
// which moved files have a face in the library (others are not counted).
func scorePlanted(p *plantedSet, a *auditJSON, top int, withFace func(file string) bool) plantedScore {
	sc := plantedScore{Top: top}
	shown := a.Findings[:min(top, len(a.Findings))]
	for _, m := range p.Moves {
		if !withFace(m.To + "/" + m.File) {
			continue
		}
		sc.Planted++
		found, flagged := false, false
		for _, f := range shown {
			if !slices.Equal(bases(f.Files), []string{m.File}) {
				continue
			}
			flagged = true
			if f.Kind == "misfiled" && len(f.Persons) == 2 && f.Persons[0] == m.To && f.Persons[1] == m.From {
				found = true
			}
		}
		if found {
			sc.Found++
		} else {
			sc.Missed = append(sc.Missed, m.From+"/"+m.File+" filed under "+m.To)
		}
		if flagged {
			sc.Flagged++
		}
	}
	for _, s := range p.Splits {
		sc.Planted++
		hit := false
		for _, f := range shown {
			ps := slices.Clone(f.Persons)
			slices.Sort(ps)
			want := []string{s[0], s[1]}
			slices.Sort(want)
			hit = hit || f.Kind == "same-person" && slices.Equal(ps, want)
		}
		if hit {
			sc.Found++
			sc.Flagged++
		} else {
			sc.Missed = append(sc.Missed, "split "+s[0]+" / "+s[1])
		}
	}
	for _, f := range shown {
		if f.Severity == "low" {
			continue
		}
		sc.Alarms++
		ps := slices.Clone(f.Persons)
		slices.Sort(ps)
		planted := false
		for _, m := range p.Moves {
			planted = planted || f.Kind == "misfiled" && slices.Equal(bases(f.Files), []string{m.File}) && f.Persons[0] == m.To && f.Persons[1] == m.From
		}
		for _, s := range p.Splits {
			want := []string{s[0], s[1]}
			slices.Sort(want)
			planted = planted || f.Kind == "same-person" && slices.Equal(ps, want)
		}
		if planted {
			sc.Hits++
		}
	}
	return sc
}
