package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"codeberg.org/sbinet/npyio/npy"
	"golang.org/x/sync/errgroup"

	"github.com/facesearch/facesearch/internal/npz"
)

// Options configures one generated dataset.
type Options struct {
	Out      string  `json:"-"`              // output directory (ROOT); created, must not hold a dataset already
	People   int     `json:"people"`         // number of distinct people
	Faces    int     `json:"faces"`          // total number of faces (exact)
	MaxFaces int     `json:"max_faces"`      // most faces one person gets
	Dim      int     `json:"dim"`            // embedding dimension
	Seed     uint64  `json:"seed"`           // random seed: equal options give byte-identical output
	Split    int     `json:"split"`          // people planted as split across two folders (<name> and <name>_dup)
	Queries  int     `json:"queries"`        // fresh faces of random people written to queries.npy
	SameCos  float64 `json:"same_cos"`       // target mean cosine of two faces of one person
	SameStd  float64 `json:"same_std"`       // target standard deviation of that cosine
	DiffStd  float64 `json:"diff_std"`       // target standard deviation of the cosine of two different people
	Japanese int     `json:"japanese_every"` // every Japanese-th person gets a Japanese folder name (0: none)
	Workers  int     `json:"-"`              // files written concurrently
}

// DefaultOptions mirrors the original benchmark: 57,637 faces of ~5,000
// people with LFW's similarity levels (same person 0.68 ± 0.12, different
// people 0.0 ± 0.1).
func DefaultOptions() Options {
	return Options{People: 5000, Faces: 57637, MaxFaces: 40, Dim: 512, Seed: 1, Queries: 100,
		SameCos: 0.68, SameStd: 0.12, DiffStd: 0.1, Japanese: 25, Workers: 2}
}

// Truth summarises a generated dataset; it is written to truth.json.
type Truth struct {
	Options    Options `json:"options"`
	Folders    int     `json:"folders"`
	Faces      int     `json:"faces"`
	SameMean   float64 `json:"same_cos_mean"`
	SameStd    float64 `json:"same_cos_std"`
	DiffMean   float64 `json:"diff_cos_mean"`
	DiffStd    float64 `json:"diff_cos_std"`
	PairSample int     `json:"pair_sample"`
	// CentreDecay is the e-folding index of the centre spectrum chosen to hit DiffStd.
	CentreDecay float64 `json:"centre_decay"`
}

// person is one generated identity before it is split into folders.
type person struct {
	name   string
	centre []float64
	faces  [][]float32
	split  int // faces [split:] go to <name>_dup when split > 0
}

func (o *Options) check() error {
	switch {
	case o.Out == "":
		return errors.New("no output directory")
	case o.People < 1 || o.Dim < 2 || o.MaxFaces < 1:
		return fmt.Errorf("need people ≥ 1, dim ≥ 2, max faces ≥ 1 (got %d, %d, %d)", o.People, o.Dim, o.MaxFaces)
	case o.Faces < o.People || o.Faces > o.People*o.MaxFaces:
		return fmt.Errorf("%d faces cannot be shared by %d people with 1..%d faces each", o.Faces, o.People, o.MaxFaces)
	case o.Split < 0 || o.Split > o.People:
		return fmt.Errorf("split %d out of range 0..%d", o.Split, o.People)
	case o.SameCos <= 0 || o.SameCos >= 1 || o.SameStd < 0 || o.DiffStd <= 0:
		return fmt.Errorf("bad similarity targets %v ± %v, diff std %v", o.SameCos, o.SameStd, o.DiffStd)
	}
	return nil
}

// faceCounts draws how many faces each person has: 1..max, right-skewed
// (log-normal), summing to exactly total.
func faceCounts(rng *rand.Rand, people, total, maxFaces int) []int {
	w := make([]float64, people)
	var sum float64
	for i := range w {
		w[i] = math.Exp(rng.NormFloat64())
		sum += w[i]
	}
	counts := make([]int, people)
	have := 0
	for i := range counts {
		c := 1 + int(float64(total-people)*w[i]/sum)
		counts[i] = min(c, maxFaces)
		have += counts[i]
	}
	// Fix the rounding (and any capping) one face at a time on random people.
	for have != total {
		i := rng.IntN(people)
		switch {
		case have < total && counts[i] < maxFaces:
			counts[i]++
			have++
		case have > total && counts[i] > 1:
			counts[i]--
			have--
		}
	}
	return counts
}

var (
	familyNames = []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"}
	givenNames  = []string{"太郎", "花子", "健", "美咲", "翔", "陽菜", "大輔", "さくら"}
)

func personName(i, japanese int, rng *rand.Rand) string {
	if japanese > 0 && i%japanese == japanese-1 {
		return fmt.Sprintf("%s%s_%05d", familyNames[rng.IntN(len(familyNames))], givenNames[rng.IntN(len(givenNames))], i)
	}
	return fmt.Sprintf("person_%05d", i)
}

// generator holds the spectrum and noise model shared by all faces.
type generator struct {
	o     Options
	scale []float64 // per-axis standard deviation of the person centres
	decay float64
}

// newGenerator picks an exponentially decaying centre spectrum whose
// participation ratio gives centre cosines the spread that, after the
// same-person shrinkage, yields DiffStd between faces of different people.
func newGenerator(o Options) *generator {
	centreStd := o.DiffStd / o.SameCos
	// Cosine std of two anisotropic Gaussian vectors ≈ sqrt(Σλ²)/Σλ.
	target := centreStd * centreStd
	lo, hi := 0.1, float64(o.Dim)*10
	g := &generator{o: o, scale: make([]float64, o.Dim)}
	ratio := func(tau float64) float64 {
		var s, s2 float64
		for k := range o.Dim {
			l := math.Exp(-float64(k) / tau)
			s += l
			s2 += l * l
		}
		return s2 / (s * s)
	}
	for range 100 { // ratio decreases with tau
		mid := (lo + hi) / 2
		if ratio(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	g.decay = (lo + hi) / 2
	for k := range g.scale {
		g.scale[k] = math.Exp(-float64(k) / g.decay / 2)
	}
	return g
}

func normalise(v []float64) {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
}

func (g *generator) centre(rng *rand.Rand) []float64 {
	c := make([]float64, g.o.Dim)
	for k := range c {
		c[k] = rng.NormFloat64() * g.scale[k]
	}
	normalise(c)
	return c
}

// face returns centre + isotropic noise, L2-normalised. Each face has its own
// quality q (its expected cosine to the centre); two faces of one person then
// have cosine ≈ q1·q2, so q's spread sets the same-person spread.
func (g *generator) face(rng *rand.Rand, centre []float64) []float32 {
	mu := math.Sqrt(g.o.SameCos)
	sd := g.o.SameStd / (math.Sqrt2 * mu)
	q := min(max(mu+sd*rng.NormFloat64(), 0.2), 0.99)
	s := math.Sqrt(1/(q*q)-1) / math.Sqrt(float64(g.o.Dim))
	v := make([]float64, g.o.Dim)
	for k := range v {
		v[k] = centre[k] + s*rng.NormFloat64()
	}
	normalise(v)
	out := make([]float32, len(v))
	for k, x := range v {
		out[k] = float32(x)
	}
	return out
}

// Generate writes the dataset described by o and returns its summary.
func Generate(ctx context.Context, log *slog.Logger, o Options) (*Truth, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if _, err := os.Stat(filepath.Join(o.Out, "truth.json")); err == nil {
		return nil, fmt.Errorf("generate: %s already holds a dataset (truth.json); use a new directory", o.Out)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	g := newGenerator(o)
	counts := faceCounts(rng, o.People, o.Faces, o.MaxFaces)
	people := make([]person, o.People)
	for i := range people {
		p := &people[i]
		p.name = personName(i, o.Japanese, rng)
		p.centre = g.centre(rng)
		p.faces = make([][]float32, counts[i])
		for j := range p.faces {
			p.faces[j] = g.face(rng, p.centre)
		}
	}
	// Plant splits on a random choice of people with at least two faces.
	var planted []int
	for _, i := range rng.Perm(o.People) {
		if len(planted) == o.Split {
			break
		}
		if n := len(people[i].faces); n >= 2 {
			people[i].split = 1 + rng.IntN(n-1)
			planted = append(planted, i)
		}
	}
	if len(planted) < o.Split {
		return nil, fmt.Errorf("generate: only %d people have two faces to split, %d asked", len(planted), o.Split)
	}
	slices.Sort(planted)
	log.Info("generated", "people", o.People, "faces", o.Faces, "split", len(planted), "centre_decay", g.decay)

	if err := writeFolders(ctx, o, people); err != nil {
		return nil, err
	}
	if err := writePlanted(o, people, planted); err != nil {
		return nil, err
	}
	if err := writeQueries(o, g, rng, people); err != nil {
		return nil, err
	}
	t := &Truth{Options: o, Folders: o.People + len(planted), Faces: o.Faces, CentreDecay: g.decay}
	t.measure(rng, people)
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, "truth.json"), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return t, nil
}

// writeFolders writes ROOT/<person>/npKnown.npz (and <person>_dup for splits).
func writeFolders(ctx context.Context, o Options, people []person) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(max(o.Workers, 1))
	write := func(folder string, faces [][]float32, first int) {
		eg.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := &npz.Person{Dim: o.Dim, Vectors: make([]float32, 0, len(faces)*o.Dim)}
			for j, f := range faces {
				p.Names = append(p.Names, fmt.Sprintf("img%04d.jpg", first+j+1))
				p.Vectors = append(p.Vectors, f...)
			}
			dir := filepath.Join(o.Out, folder)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			return npz.WriteFile(filepath.Join(dir, "npKnown.npz"), npz.DefaultKey, p)
		})
	}
	for i := range people {
		p := &people[i]
		if p.split > 0 {
			write(p.name, p.faces[:p.split], 0)
			write(p.name+"_dup", p.faces[p.split:], p.split)
		} else {
			write(p.name, p.faces, 0)
		}
	}
	return eg.Wait()
}

// writePlanted lists the split people in planted.csv (header only when none).
func writePlanted(o Options, people []person, planted []int) error {
	f, err := os.Create(filepath.Join(o.Out, "planted.csv"))
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"folder", "dup_folder", "faces", "dup_faces"})
	for _, i := range planted {
		p := &people[i]
		w.Write([]string{p.name, p.name + "_dup", strconv.Itoa(p.split), strconv.Itoa(len(p.faces) - p.split)})
	}
	w.Flush()
	if err := cmp.Or(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("generate: planted.csv: %w", err)
	}
	return nil
}

// writeQueries writes queries.npy, float32 (Q, Dim): fresh faces (not in the
// dataset) of random people, and queries.csv naming the person of each.
func writeQueries(o Options, g *generator, rng *rand.Rand, people []person) error {
	if o.Queries == 0 {
		return nil
	}
	qs := make([][]float32, o.Queries)
	rows := [][]string{{"query", "folder"}}
	for i := range qs {
		p := &people[rng.IntN(len(people))]
		qs[i] = g.face(rng, p.centre)
		rows = append(rows, []string{strconv.Itoa(i), p.name})
	}
	f, err := os.Create(filepath.Join(o.Out, "queries.npy"))
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if err := cmp.Or(npy.Write(f, qs), f.Close()); err != nil {
		return fmt.Errorf("generate: queries.npy: %w", err)
	}
	f, err = os.Create(filepath.Join(o.Out, "queries.csv"))
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	if err := cmp.Or(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("generate: queries.csv: %w", err)
	}
	return nil
}

// measure estimates the same- and different-person cosine on random pairs.
func (t *Truth) measure(rng *rand.Rand, people []person) {
	const n = 20000
	var multi []int
	for i := range people {
		if len(people[i].faces) >= 2 {
			multi = append(multi, i)
		}
	}
	var same, diff []float64
	for range n {
		if len(multi) > 0 {
			p := people[multi[rng.IntN(len(multi))]].faces
			a := rng.IntN(len(p))
			b := (a + 1 + rng.IntN(len(p)-1)) % len(p)
			same = append(same, dot(p[a], p[b]))
		}
		if len(people) > 1 {
			i := rng.IntN(len(people))
			j := (i + 1 + rng.IntN(len(people)-1)) % len(people)
			pi, pj := people[i].faces, people[j].faces
			diff = append(diff, dot(pi[rng.IntN(len(pi))], pj[rng.IntN(len(pj))]))
		}
	}
	t.SameMean, t.SameStd = meanStd(same)
	t.DiffMean, t.DiffStd = meanStd(diff)
	t.PairSample = n
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	var s, s2 float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	for _, x := range xs {
		s2 += (x - m) * (x - m)
	}
	return m, math.Sqrt(s2 / float64(len(xs)))
}
