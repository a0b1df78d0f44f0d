package cleanse

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestSiblingsAreNotASplit: two people who share much of their look (cross
// similarity about two thirds of their own, which the old ratio rule called
// [medium] "one person") are reported as [low] look-alikes with the reason,
// lookalikes keeps them, and a real split next to them stays [high].
func TestSiblingsAreNotASplit(t *testing.T) {
	s := newSynth(7)
	cleanPeople(s, 20)
	fam := s.unit()
	ca, cb := mix(fam, s.unit(), 1, 0.7), mix(fam, s.unit(), 1, 0.7)
	for range 10 {
		s.add("Serena", s.sampleFace(ca))
		s.add("Venus", s.sampleFace(cb))
	}
	one := s.unit()
	for k := range 10 {
		s.add([]string{"Kim", "Kim (2)"}[k%2], s.sampleFace(one))
	}
	d := s.prepare(t)
	res, err := d.Audit(context.Background(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var sib, split *Finding
	for k := range res.Findings {
		f := &res.Findings[k]
		if f.Kind != SamePerson {
			continue
		}
		switch {
		case slices.Equal(f.Persons, []string{"Serena", "Venus"}):
			sib = f
		case slices.Equal(f.Persons, []string{"Kim", "Kim (2)"}):
			split = f
		}
	}
	if sib != nil {
		t.Logf("siblings: [%s] %s", sib.Severity, sib.Reason)
	}
	if sib == nil || sib.Severity != Low || !strings.Contains(sib.Reason, "siblings") {
		t.Errorf("siblings: %+v, want a [low] finding that says siblings", sib)
	}
	if split == nil || split.Severity != High {
		t.Errorf("split: %+v, want [high]", split)
	}
	lk, err := d.Lookalikes(context.Background(), testOptions(), LookalikeOptions{Top: 5, Audit: res})
	if err != nil {
		t.Fatal(err)
	}
	if len(lk.Lookalikes) == 0 || lk.Lookalikes[0].Persons != [2]string{"Serena", "Venus"} {
		t.Errorf("lookalikes %v, want Serena ~ Venus first", lk.Lookalikes)
	}
	if !slices.Contains(lk.LeftOut, [2]string{"Kim", "Kim (2)"}) {
		t.Errorf("lookalikes left out %v, want the split Kim / Kim (2) named", lk.LeftOut)
	}
}
