package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/vecindex"
)

const fakeDim = 8

// fakeImage is what fakeDecode returns: the text of a fake image file,
// "PERSON_AXIS SEED NFACES" (e.g. "3 17 2").
type fakeImage struct {
	*image.Gray
	axis, seed, nfaces int
}

// fakeDecode reads a fake image file: "bad" is not an image, "trunc" is
// truncated, anything else must parse as "AXIS SEED NFACES".
func fakeDecode(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(b))
	switch s {
	case "bad":
		return nil, &DecodeError{Status: catalog.StatusNotImage, Err: fmt.Errorf("decode %s: not an image", path)}
	case "trunc":
		return nil, &DecodeError{Status: catalog.StatusTruncated, Err: fmt.Errorf("decode %s: unexpected EOF", path)}
	}
	var im fakeImage
	if _, err := fmt.Sscan(s, &im.axis, &im.seed, &im.nfaces); err != nil {
		return nil, &DecodeError{Status: catalog.StatusNotImage, Err: fmt.Errorf("decode %s: %v", path, err)}
	}
	im.Gray = image.NewGray(image.Rect(0, 0, 100, 100))
	return im, nil
}

// fakeDetector makes nfaces faces; face 0 (primary) lies near the person
// axis, the others near axis+1. It counts its calls and can cancel a
// context after a number of calls.
type fakeDetector struct {
	calls       atomic.Int64
	cancelAfter int64
	cancel      context.CancelFunc
}

func fakeVector(axis, seed, face int) []float32 {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(face)))
	v := make([]float32, fakeDim)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * 0.3
	}
	v[(axis+face)%fakeDim] += 1
	if err := Normalize(v); err != nil {
		panic(err)
	}
	return v
}

func (d *fakeDetector) Detect(ctx context.Context, img image.Image) ([]DetectedFace, int, error) {
	n := d.calls.Add(1)
	if d.cancel != nil && n == d.cancelAfter {
		d.cancel()
	}
	im, ok := img.(fakeImage)
	if !ok {
		return nil, -1, errors.New("not a fake image")
	}
	if im.nfaces < 0 { // an image the detector refuses for its shape
		err := errors.New("image 1x1: too small to hold a face")
		return nil, -1, &DecodeError{Status: catalog.StatusNoFace, Reason: err.Error(), Err: err}
	}
	var faces []DetectedFace
	for i := 0; i < im.nfaces; i++ {
		x := float32(10 * i)
		faces = append(faces, DetectedFace{
			Box: [4]float32{x, x, x + 20, x + 20}, Score: 0.9, Landmarks: [][2]float32{{x + 5, x + 5}},
			Crop: image.NewRGBA(image.Rect(0, 0, 4, 4)), Embedding: fakeVector(im.axis, im.seed, i),
		})
	}
	primary := -1
	if len(faces) > 0 {
		primary = 0
	}
	return faces, primary, nil
}

func (d *fakeDetector) ModelID() string { return "fake-model" }

// fakeBackend is a brute-force VectorIndex "factory" that counts builds.
type fakeBackend struct {
	mu     sync.Mutex
	builds int
}

func (b *fakeBackend) New(dim int, factory string) (VectorIndex, error) {
	b.mu.Lock()
	b.builds++
	b.mu.Unlock()
	if strings.Contains(factory, "bogus") {
		return nil, fmt.Errorf("factory %q: unknown", factory)
	}
	return &fakeIndex{D: dim, Approx: factory != "Flat"}, nil
}

func (b *fakeBackend) Read(path string) (VectorIndex, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ix fakeIndex
	return &ix, json.Unmarshal(data, &ix)
}

type fakeIndex struct {
	D       int
	Vecs    []float32
	IDs     []int64
	Approx  bool // drops the 3rd result unless nprobe ≥ 4 or efSearch ≥ 128, to make recall < 1
	Trained bool
}

func (x *fakeIndex) Dim() int                   { return x.D }
func (x *fakeIndex) Ntotal() int64              { return int64(len(x.IDs)) }
func (x *fakeIndex) IsTrained() bool            { return !x.Approx || x.Trained }
func (x *fakeIndex) Train(vecs []float32) error { x.Trained = true; return nil }
func (x *fakeIndex) Close() error               { return nil }
func (x *fakeIndex) Add(vecs []float32, ids []int64) error {
	x.Vecs = append(x.Vecs, vecs...)
	x.IDs = append(x.IDs, ids...)
	return nil
}
func (x *fakeIndex) Search(q []float32, k int, p SearchParams) ([]float32, []int64, error) {
	nq := len(q) / x.D
	scores := make([]float32, nq*k)
	ids := make([]int64, nq*k)
	for i := 0; i < nq; i++ {
		hits := vecindex.BruteForce(x.Vecs, x.IDs, x.D, q[i*x.D:(i+1)*x.D], k)
		for j := 0; j < k; j++ {
			ids[i*k+j], scores[i*k+j] = -1, float32(math.Inf(-1))
			if j < len(hits) && !(x.Approx && j == 2 && p.NProbe < 4 && p.EfSearch < 128) {
				ids[i*k+j], scores[i*k+j] = hits[j].ID, hits[j].Score
			}
		}
	}
	return scores, ids, nil
}
func (x *fakeIndex) Write(path string) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func fakeSpec(axis, seed, nfaces int) string {
	return strconv.Itoa(axis) + " " + strconv.Itoa(seed) + " " + strconv.Itoa(nfaces)
}
