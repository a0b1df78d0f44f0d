package vecindex

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

var (
	ivfRe = regexp.MustCompile(`IVF(\d*)`)
	pqRe  = regexp.MustCompile(`PQ(\d+)(?:x(\d+))?`)
)

// MinPointsPerList is the fewest training vectors per IVF list that
// IVFLists allows (faiss warns below 39).
const MinPointsPerList = 39

// IVFLists is the IVF list count chosen for n training vectors: 4·√n
// rounded to the nearest integer, capped so that each list has at least
// MinPointsPerList training points, and at least 1.
func IVFLists(n int) int {
	nlist := int(math.Round(4 * math.Sqrt(float64(n))))
	nlist = min(nlist, n/MinPointsPerList)
	return max(nlist, 1)
}

// ListCount returns the IVF list count written in a resolved factory string
// ("IVF460,Flat" → 460), or 0 when it has none.
func ListCount(factory string) int {
	m := ivfRe.FindStringSubmatch(factory)
	if m == nil || m[1] == "" {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// ResolveFactory adapts and validates a faiss factory string for n
// training vectors of dimension dim (0: unknown). "IVF" without a list
// count gets IVFLists(n) lists; an explicit count must not exceed n; a
// product quantizer must divide dim and have enough vectors to train its
// codebooks.
func ResolveFactory(f string, n, dim int) (string, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return "", errors.New("empty index type")
	}
	if strings.ContainsAny(f, " \t\n") {
		return "", fmt.Errorf("index type %q: no spaces allowed (faiss factory string, e.g. Flat, IVF,Flat, IVF256,PQ32, HNSW32)", f)
	}
	if m := ivfRe.FindStringSubmatchIndex(f); m != nil {
		if m[2] == m[3] { // no number: choose
			f = f[:m[3]] + strconv.Itoa(IVFLists(n)) + f[m[3]:]
		} else {
			nlist, _ := strconv.Atoi(f[m[2]:m[3]])
			if nlist < 1 {
				return "", fmt.Errorf("index type %q: nlist must be ≥ 1", f)
			}
			if nlist > n {
				return "", fmt.Errorf("index type %q needs at least %d faces to train, the library has %d (use a smaller list count, or \"IVF,...\" to choose it)", f, nlist, n)
			}
		}
	}
	if m := pqRe.FindStringSubmatch(f); m != nil {
		bits := 8
		if m[2] != "" {
			bits, _ = strconv.Atoi(m[2])
		}
		msub, _ := strconv.Atoi(m[1])
		if msub < 1 || (dim > 0 && dim%msub != 0) {
			return "", fmt.Errorf("index type %q: %d sub-quantizers do not divide the dimension %d", f, msub, dim)
		}
		if need := 1 << bits; n < need {
			return "", fmt.Errorf("index type %q needs at least %d faces to train its %d-bit codebooks, the library has %d", f, need, bits, n)
		}
	}
	return f, nil
}

// Exact reports whether a resolved factory string is an exact index.
func Exact(factory string) bool { return factory == "Flat" || factory == "IDMap2,Flat" }

// Recall measures s against exact search over the vectors it holds (vecs,
// rows of dim values, with ids): up to 200 of the vectors, evenly spaced,
// are the queries, and the result is the mean recall@10 (k = min(10, n))
// with the number of queries.
func Recall(s Searcher, vecs []float32, ids []int64, dim int, p Params) (float64, int, error) {
	n := len(ids)
	if n == 0 {
		return 0, 0, nil
	}
	nq := min(200, n)
	k := min(10, n)
	q := make([]float32, 0, nq*dim)
	for i := 0; i < nq; i++ {
		j := i * n / nq
		q = append(q, vecs[j*dim:(j+1)*dim]...)
	}
	_, got, err := s.Search(q, k, p)
	if err != nil {
		return 0, 0, fmt.Errorf("measure recall: %w", err)
	}
	if len(got) != nq*k {
		return 0, 0, fmt.Errorf("measure recall: %d results for %d queries, k=%d", len(got), nq, k)
	}
	hit := 0
	for i := 0; i < nq; i++ {
		exact := BruteForce(vecs, ids, dim, q[i*dim:(i+1)*dim], k)
		want := make(map[int64]bool, k)
		for _, h := range exact {
			want[h.ID] = true
		}
		for _, id := range got[i*k : (i+1)*k] {
			if want[id] {
				hit++
			}
		}
	}
	return float64(hit) / float64(nq*k), nq, nil
}
