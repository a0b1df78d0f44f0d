package server

// The people endpoints: the paged, sorted People grid, a person's faces
// (the folder's own faces first) and the look-alikes view.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Bounds of GET /api/persons and GET /api/lookalikes.
const (
	DefaultPersonsLimit = 100
	MaxPersonsLimit     = 500
	DefaultLookalikes   = 50
	// MaxLookalikes bounds the look-alike pairs a LookalikeFinder keeps
	// and the API returns.
	MaxLookalikes = 200
)

// Lookalike is a pair of different people and how alike they look.
type Lookalike struct {
	Persons [2]string `json:"persons"`
	// Similarity is the trimmed mean of the similarities of their face
	// pairs (the ranking score); Median and Max summarise the same pairs.
	Similarity float32 `json:"similarity"`
	Median     float32 `json:"median"`
	Max        float32 `json:"max"`
	Pairs      int     `json:"pairs"`
	// Evidence: the most similar face pair, then a typical one.
	Evidence []FacePair `json:"evidence"`
}

// LookalikeFinder is implemented by a Cleanser that can rank look-alike
// people. Lookalikes returns at most MaxLookalikes pairs, most alike first;
// the implementation computes them once and caches them.
type LookalikeFinder interface {
	Lookalikes(ctx context.Context) ([]Lookalike, error)
}

// personRow is one person of GET /api/persons.
type personRow struct {
	Person
	CropURL string `json:"crop_url,omitempty"`
	// OpenFindings counts the cleansing findings naming the person that
	// are not dismissed; present when sort=findings or findings=1.
	OpenFindings *int `json:"open_findings,omitempty"`
}

// persons answers GET /api/persons?q=&sort=name|photos|findings&offset=&limit=.
// q keeps the names containing it (case-insensitive); the answer says the
// total number of people the filter keeps, so that nobody is silently cut.
func (s *Server) persons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	all, err := s.opt.Catalog.Persons(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("persons: %w", err))
		return
	}
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "name"
	}
	if sortBy != "name" && sortBy != "photos" && sortBy != "findings" {
		s.writeError(w, r, errorf(KindBadRequest, "sort=%q: want name, photos or findings", sortBy))
		return
	}
	offset, err := intParam(q.Get("offset"), "offset", 0, 0, 1<<30)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := intParam(q.Get("limit"), "limit", DefaultPersonsLimit, 1, MaxPersonsLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var open map[string]int
	if sortBy == "findings" || q.Get("findings") == "1" {
		if open, err = s.openFindings(r.Context()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	filter := strings.ToLower(q.Get("q"))
	rows := make([]personRow, 0, len(all))
	for _, p := range all {
		if filter != "" && !strings.Contains(strings.ToLower(p.Name), filter) {
			continue
		}
		row := personRow{Person: p}
		if p.FaceID > 0 {
			row.CropURL = cropURL(p.FaceID)
		}
		if open != nil {
			n := open[p.Name]
			row.OpenFindings = &n
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b personRow) int {
		switch sortBy {
		case "photos":
			if c := cmp.Compare(b.Images, a.Images); c != 0 {
				return c
			}
		case "findings":
			if c := cmp.Compare(*b.OpenFindings, *a.OpenFindings); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Name, b.Name)
	})
	total := len(rows)
	page := rows[min(offset, total):min(offset+limit, total)]
	writeJSON(w, map[string]any{"persons": page, "total": total, "offset": offset, "limit": limit, "sort": sortBy})
}

// openFindings counts the open (not dismissed) findings of each person.
func (s *Server) openFindings(ctx context.Context) (map[string]int, error) {
	if s.opt.Cleanser == nil {
		return nil, errorf(KindUnavailable, "cleansing is not available in this server: findings cannot be counted")
	}
	fs, err := s.opt.Cleanser.Findings(ctx)
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	open := map[string]int{}
	for _, f := range fs {
		if f.Dismissed {
			continue
		}
		seen := map[string]bool{}
		for _, p := range f.Persons {
			if !seen[p] {
				seen[p] = true
				open[p]++
			}
		}
	}
	return open, nil
}

// person answers GET /api/persons/{name}: the person's faces, the folder's
// own (primary) faces first, then the other faces found in its photos
// (people in the background).
func (s *Server) person(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	fs, err := s.opt.Catalog.PersonFaces(r.Context(), name)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("person %q: %w", name, err))
		return
	}
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b FaceRecord) int {
		if a.Primary != b.Primary {
			if a.Primary {
				return -1
			}
			return 1
		}
		return 0
	})
	out := make([]faceJSON, len(fs))
	primary := 0
	for i, f := range fs {
		out[i] = withURLs(f)
		if f.Primary {
			primary++
		}
	}
	writeJSON(w, map[string]any{"name": name, "faces": out, "primary_faces": primary})
}

// lookalikes answers GET /api/lookalikes?top=N&person=NAME: the pairs of
// different people that look most alike (computed once by the backend and
// cached), optionally only those naming a person (substring).
func (s *Server) lookalikes(w http.ResponseWriter, r *http.Request) {
	lf, ok := s.opt.Cleanser.(LookalikeFinder)
	if !ok || s.opt.Cleanser == nil {
		s.writeError(w, r, errorf(KindUnavailable, "look-alikes are not available in this server: run `facesearch lookalikes`"))
		return
	}
	top, err := intParam(r.URL.Query().Get("top"), "top", DefaultLookalikes, 1, MaxLookalikes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ls, err := lf.Lookalikes(r.Context())
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = fmt.Errorf("lookalikes: %w", err)
		}
		s.writeError(w, r, err)
		return
	}
	person := strings.ToLower(r.URL.Query().Get("person"))
	out := []Lookalike{}
	for _, l := range ls {
		if person != "" && !strings.Contains(strings.ToLower(l.Persons[0]), person) && !strings.Contains(strings.ToLower(l.Persons[1]), person) {
			continue
		}
		if len(out) == top {
			break
		}
		out = append(out, l)
	}
	type pairOut struct {
		A          faceJSON `json:"a"`
		B          faceJSON `json:"b"`
		Similarity float32  `json:"similarity"`
	}
	type row struct {
		Lookalike
		Evidence []pairOut `json:"evidence"`
	}
	rows := make([]row, len(out))
	for i, l := range out {
		rows[i] = row{Lookalike: l, Evidence: []pairOut{}}
		for _, p := range l.Evidence {
			rows[i].Evidence = append(rows[i].Evidence, pairOut{withURLs(p.A), withURLs(p.B), p.Similarity})
		}
	}
	writeJSON(w, map[string]any{"similarity": cleanseSimilarity(lf), "lookalikes": rows})
}
