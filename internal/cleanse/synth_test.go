package cleanse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// synth builds clustered unit embeddings that mimic a face model: each person
// is a random unit centre; a face is the centre plus Gaussian noise, scaled so
// that two faces of one person score about 0.65 and faces of different people
// about 0 +- 0.09 (dim 128), as the default model does on LFW.
type synth struct {
	rng   *rand.Rand
	dim   int
	sigma float64
	faces []Face
	next  int64
}

const testThreshold = 0.29

func newSynth(seed uint64) *synth {
	const dim = 128
	return &synth{
		rng:   rand.New(rand.NewPCG(seed, 42)),
		dim:   dim,
		sigma: math.Sqrt(0.54 / dim),
	}
}

func (s *synth) unit() []float32 {
	v := make([]float32, s.dim)
	var ss float64
	for k := range v {
		x := s.rng.NormFloat64()
		v[k] = float32(x)
		ss += x * x
	}
	for k := range v {
		v[k] /= float32(math.Sqrt(ss))
	}
	return v
}

// mix returns the unit vector along a*u + b*v.
func mix(u, v []float32, a, b float32) []float32 {
	out := make([]float32, len(u))
	var ss float64
	for k := range u {
		out[k] = a*u[k] + b*v[k]
		ss += float64(out[k]) * float64(out[k])
	}
	for k := range out {
		out[k] /= float32(math.Sqrt(ss))
	}
	return out
}

func (s *synth) sampleFace(centre []float32) []float32 {
	v := make([]float32, s.dim)
	for k := range v {
		v[k] = centre[k] + float32(s.sigma*s.rng.NormFloat64())
	}
	return v
}

// add files a new face of the person with the given centre under folder.
func (s *synth) add(folder string, vec []float32) int {
	s.next++
	file := fmt.Sprintf("/data/%s/%s_%04d.jpg", folder, folder, s.next)
	s.faces = append(s.faces, Face{ID: s.next, Person: folder, File: file, Hash: fmt.Sprintf("h%d", s.next), Vec: vec})
	return len(s.faces) - 1
}

// person adds n faces of a new person and returns the centre.
func (s *synth) person(folder string, n int) []float32 {
	c := s.unit()
	for range n {
		s.add(folder, s.sampleFace(c))
	}
	return c
}

func (s *synth) prepare(tb testing.TB) *Dataset {
	tb.Helper()
	d, err := Prepare(s.faces)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func testOptions() Options {
	return Options{Threshold: testThreshold, BlockSize: 64}
}
