package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// manyPersons is a Catalog of n people over the fake library: person
// "p%05d" has (i % 7) + 1 images; each has a thumbnail face id.
type manyPersons struct {
	*fakeLib
	n int
}

func (m manyPersons) Persons(ctx context.Context) ([]Person, error) {
	out := make([]Person, m.n)
	for i := range out {
		out[i] = Person{Name: fmt.Sprintf("p%05d", i), Images: i%7 + 1, Faces: i%7 + 1, PrimaryFaces: i%7 + 1, FaceID: int64(i + 1)}
	}
	return out, nil
}

type personsPage struct {
	Persons []struct {
		Person
		CropURL      string `json:"crop_url"`
		OpenFindings *int   `json:"open_findings"`
	}
	Total, Offset, Limit int
}

func TestPersonsPaging(t *testing.T) {
	h := newHarness(t, nil)
	many := manyPersons{h.lib, 5003}
	h2 := newHarness(t, func(o *Options) { o.Catalog = many })
	tests := []struct {
		query      string
		total, len int
		first      string
	}{
		{"", 5003, DefaultPersonsLimit, "p00000"},
		{"?offset=5000&limit=500", 5003, 3, "p05000"},
		{"?offset=9999", 5003, 0, ""},
		{"?q=P0499", 10, 10, "p04990"},
		{"?sort=photos&limit=2", 5003, 2, "p00006"}, // 7 images, then by name
		{"?q=nobody", 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := decode[personsPage](t, h2.do(t, httptest.NewRequest("GET", "/api/persons"+tc.query, nil)))
			if r.Total != tc.total || len(r.Persons) != tc.len {
				t.Fatalf("total %d len %d, want %d %d", r.Total, len(r.Persons), tc.total, tc.len)
			}
			if tc.len > 0 && (r.Persons[0].Name != tc.first || r.Persons[0].CropURL != fmt.Sprintf("/api/faces/%d/crop", r.Persons[0].FaceID)) {
				t.Errorf("first %+v, want %s", r.Persons[0], tc.first)
			}
		})
	}
	for _, bad := range []string{"?sort=age", "?limit=0", "?limit=501", "?offset=-1"} {
		wantError(t, h2.do(t, httptest.NewRequest("GET", "/api/persons"+bad, nil)), 400, KindBadRequest)
	}
}

func TestPersonsByFindings(t *testing.T) {
	h := newHarness(t, nil)
	h.cl.dismissed["outlier-1"] = true
	r := decode[personsPage](t, h.do(t, httptest.NewRequest("GET", "/api/persons?sort=findings", nil)))
	// misfiled-2 names alice and bob; the dismissed outlier-1 does not count.
	if len(r.Persons) != 2 || *r.Persons[0].OpenFindings != 1 || *r.Persons[1].OpenFindings != 1 || r.Persons[0].Name != "alice" {
		t.Errorf("%+v", r.Persons)
	}
	h.cl.dismissed["misfiled-2"] = true
	r = decode[personsPage](t, h.do(t, httptest.NewRequest("GET", "/api/persons?sort=findings", nil)))
	if *r.Persons[0].OpenFindings != 0 {
		t.Errorf("after dismissal %+v", r.Persons)
	}
	h3 := newHarness(t, func(o *Options) { o.Cleanser = nil })
	wantError(t, h3.do(t, httptest.NewRequest("GET", "/api/persons?sort=findings", nil)), 503, KindUnavailable)
	if r := decode[personsPage](t, h3.do(t, httptest.NewRequest("GET", "/api/persons", nil))); r.Total != 2 || r.Persons[0].OpenFindings != nil {
		t.Errorf("without cleanser %+v", r)
	}
}

func TestPersonPrimaryFirst(t *testing.T) {
	h := newHarness(t, nil)
	f := h.lib.faces[2]
	f.Primary = false
	h.lib.faces[2] = f
	g := h.lib.faces[3]
	g.Primary = true
	h.lib.faces[3] = g
	r := decode[struct {
		Faces        []faceJSON
		PrimaryFaces int `json:"primary_faces"`
	}](t, h.do(t, httptest.NewRequest("GET", "/api/persons/bob", nil)))
	if len(r.Faces) != 2 || !r.Faces[0].Primary || r.Faces[1].Primary || r.PrimaryFaces != 1 {
		t.Errorf("%+v", r)
	}
}

type fakeLooks struct {
	*fakeCleanser
	calls int
}

func (c *fakeLooks) Lookalikes(ctx context.Context) ([]Lookalike, error) {
	c.calls++
	if c.err != nil {
		return nil, c.err
	}
	return []Lookalike{
		{Persons: [2]string{"alice", "bob"}, Similarity: 0.4, Pairs: 2, Evidence: []FacePair{{A: c.lib.faces[1], B: c.lib.faces[2], Similarity: 0.5}}},
		{Persons: [2]string{"bob", "carol"}, Similarity: 0.3, Pairs: 1},
	}, nil
}

func TestLookalikes(t *testing.T) {
	h := newHarness(t, nil)
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/lookalikes", nil)), 503, KindUnavailable)
	fl := &fakeLooks{fakeCleanser: h.cl}
	h2 := newHarness(t, func(o *Options) { o.Cleanser = fl })
	type resp struct {
		Lookalikes []struct {
			Persons  [2]string
			Evidence []struct{ A, B faceJSON }
		}
	}
	r := decode[resp](t, h2.do(t, httptest.NewRequest("GET", "/api/lookalikes", nil)))
	if len(r.Lookalikes) != 2 || r.Lookalikes[0].Evidence[0].B.CropURL != "/api/faces/2/crop" || r.Lookalikes[1].Evidence == nil {
		t.Errorf("%+v", r)
	}
	r = decode[resp](t, h2.do(t, httptest.NewRequest("GET", "/api/lookalikes?person=CAR", nil)))
	if len(r.Lookalikes) != 1 || r.Lookalikes[0].Persons[1] != "carol" {
		t.Errorf("person filter %+v", r)
	}
	r = decode[resp](t, h2.do(t, httptest.NewRequest("GET", "/api/lookalikes?top=1", nil)))
	if len(r.Lookalikes) != 1 {
		t.Errorf("top=1 %+v", r)
	}
	wantError(t, h2.do(t, httptest.NewRequest("GET", "/api/lookalikes?top=201", nil)), 400, KindBadRequest)
	// The server asks the finder once per valid request (the finder caches).
	if fl.calls != 3 {
		t.Errorf("finder called %d times for 3 valid requests", fl.calls)
	}
	// Not ready yet: 503 with the finder's Retry-After.
	fl.err = &Error{Kind: KindUnavailable, Msg: "the look-alikes are still being computed", RetryAfter: 3 * time.Second}
	w := h2.do(t, httptest.NewRequest("GET", "/api/lookalikes", nil))
	if w.Header().Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q, want 3", w.Header().Get("Retry-After"))
	}
	wantError(t, w, 503, KindUnavailable)
}

func TestFavicon(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(t, httptest.NewRequest("GET", "/favicon.ico", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}
