package eval

import (
	"context"
	"math/rand/v2"
	"testing"
)

// In a population whose different people look alike (every face shares a
// population direction), different people's folder centroids are more
// alike than a typical same-person pair of photos: the alias test must not
// take them for one person, yet must still find one person filed twice.
func TestAliasesInALookalikePopulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	const dim, people, photos = 64, 20, 20
	pop := randUnit(rng, dim)
	var groups []Group
	centres := make([][]float32, people)
	for p := range people {
		centres[p] = mix(rng, pop, 1.4, dim) // different people's centres ≈ 0.66 alike
		g := Group{Name: string(rune('a' + p))}
		for range photos {
			g.Vectors = append(g.Vectors, mix(rng, centres[p], 1, dim)) // same-person pairs ≈ 0.5
		}
		groups = append(groups, g)
	}
	// Person 0 filed a second time.
	alias := Group{Name: "a-again"}
	for range 12 {
		alias.Vectors = append(alias.Vectors, mix(rng, centres[0], 1, dim))
	}
	groups = append(groups, alias)
	l, err := ReadLabels(context.Background(), groups, CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same := samePairs(groups, l.Keep, CalibrateOptions{}.withDefaults(), rand.New(rand.NewPCG(1, 0x5eed)))
	lookalikes, taken := 0, 0
	for a := range people {
		for b := a + 1; b < people; b++ {
			if float64(Dot(l.centroids[a], l.centroids[b])) >= median(same) {
				lookalikes++
			}
			if l.Alias(a, b) {
				taken++
			}
		}
	}
	if lookalikes == 0 {
		t.Fatalf("no different-person centroid pair reaches the median same-person pair (%.3f): the population is not a lookalike one", median(same))
	}
	if taken != 0 {
		t.Errorf("%d pairs of different people taken for one person (alias threshold %.3f; %d reach the median same-person pair)", taken, l.AliasAt, lookalikes)
	}
	if !l.Alias(0, people) {
		t.Errorf("person 0 filed twice not found: centroids %.3f alike, alias threshold %.3f", Dot(l.centroids[0], l.centroids[people]), l.AliasAt)
	}
}
