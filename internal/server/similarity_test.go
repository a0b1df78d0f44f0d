package server

import (
	"net/http/httptest"
	"testing"
)

// adaptedLib is a Searcher whose scores are in an adapted similarity.
type adaptedLib struct{ *fakeLib }

func (adaptedLib) SearchSimilarity() string { return "adapted:wccn-d16-s0.5-1a2b3c4d" }

// namedLooks is a Cleanser (with look-alikes) naming its similarity.
type namedLooks struct{ *fakeLooks }

func (namedLooks) CleanseSimilarity() string { return "adapted:wccn-d16-s0.5-1a2b3c4d" }

// TestResponsesNameTheSimilarity: the search, findings, pairs and
// look-alikes responses carry a top-level "similarity": the one the backend
// names, "raw" when it names none.
func TestResponsesNameTheSimilarity(t *testing.T) {
	type doc struct{ Similarity string }
	const adapted = "adapted:wccn-d16-s0.5-1a2b3c4d"
	for _, tc := range []struct {
		name           string
		mod            func(*Options)
		search, others string
	}{
		{"unnamed", func(o *Options) { o.Cleanser = &fakeLooks{fakeCleanser: o.Cleanser.(*fakeCleanser)} }, "raw", "raw"},
		{"named", func(o *Options) {
			o.Searcher = adaptedLib{o.Searcher.(*fakeLib)}
			o.Cleanser = namedLooks{&fakeLooks{fakeCleanser: o.Cleanser.(*fakeCleanser)}}
		}, adapted, adapted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.mod)
			if d := decode[doc](t, h.do(t, searchReq(t, "", nil, pngBytes(30, 20)))); d.Similarity != tc.search {
				t.Errorf("POST /api/search: similarity %q, want %q", d.Similarity, tc.search)
			}
			for _, path := range []string{"/api/findings", "/api/pairs?min=0.7", "/api/lookalikes"} {
				if d := decode[doc](t, h.do(t, httptest.NewRequest("GET", path, nil))); d.Similarity != tc.others {
					t.Errorf("GET %s: similarity %q, want %q", path, d.Similarity, tc.others)
				}
			}
		})
	}
}
