package catalog

import (
	"context"
	"path/filepath"
	"testing"
)

func openTemp(t testing.TB) *Catalog {
	t.Helper()
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func face(x float32, primary bool) Face {
	return Face{Box: [4]float32{x, x, x + 10, x + 10}, Score: 0.9, Landmarks: [][2]float32{{1, 2}, {3, 4}},
		Primary: primary, Embedding: []float32{x, 1, 2}, Model: "m1", Crop: []byte{0xff, 0xd8}}
}

func TestApplyRoundTripAndGeneration(t *testing.T) {
	ctx := context.Background()
	c := openTemp(t)
	nonUTF8 := "\x93\xfa\x96{/\x8eq.jpg" // Shift-JIS bytes
	japanese := "山田太郎/写真 1.jpg"
	steps := []struct {
		name     string
		batch    Batch
		wantGen  int64
		wantImgs []string
		wantFace int
	}{
		{"put two", Batch{Put: []Image{
			{Path: nonUTF8, Person: "\x93\xfa\x96{", Size: 10, MtimeNS: 1, Status: StatusOK, Faces: []Face{face(1, true), face(2, false)}},
			{Path: japanese, Person: "山田太郎", Size: 20, MtimeNS: 2, Status: StatusOK, Faces: []Face{face(3, true)}},
		}}, 1, []string{nonUTF8, japanese}, 3},
		{"failure only: no face change", Batch{Put: []Image{{Path: "a/bad.jpg", Person: "a", Status: StatusTruncated, Error: "unexpected EOF"}}},
			1, []string{"a/bad.jpg", nonUTF8, japanese}, 3},
		{"touch and move keep generation", Batch{Touch: []Touch{{Path: japanese, Size: 21, MtimeNS: 3}},
			Move: []Move{{From: nonUTF8, To: "b/x.jpg", Person: "b", Size: 10, MtimeNS: 1}}},
			1, []string{"a/bad.jpg", "b/x.jpg", japanese}, 3},
		{"replace faces", Batch{Put: []Image{{Path: japanese, Person: "山田太郎", Status: StatusOK, Faces: []Face{face(4, true)}}}},
			2, []string{"a/bad.jpg", "b/x.jpg", japanese}, 3},
		{"delete", Batch{Delete: []string{"b/x.jpg", "missing"}}, 3, []string{"a/bad.jpg", japanese}, 1},
	}
	for _, st := range steps {
		if err := c.Apply(ctx, &st.batch); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		g, err := c.Generation(ctx)
		if err != nil || g != st.wantGen {
			t.Errorf("%s: generation %d (%v), want %d", st.name, g, err, st.wantGen)
		}
		ims, err := c.Images(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		nf := 0
		for _, im := range ims {
			paths = append(paths, im.Path)
			nf += len(im.Faces)
			for _, f := range im.Faces {
				if len(f.Embedding) != 3 || len(f.Landmarks) != 2 || len(f.Crop) != 2 {
					t.Errorf("%s: face %d not round-tripped: %+v", st.name, f.ID, f)
				}
			}
		}
		if len(paths) != len(st.wantImgs) || nf != st.wantFace {
			t.Fatalf("%s: images %q faces %d, want %q %d", st.name, paths, nf, st.wantImgs, st.wantFace)
		}
		for i := range paths {
			if paths[i] != st.wantImgs[i] {
				t.Errorf("%s: image %d = %q, want %q", st.name, i, paths[i], st.wantImgs[i])
			}
		}
	}
	s, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Persons != 2 || s.Images != 2 || s.Faces != 1 || s.PrimaryFaces != 1 || s.ByStatus[StatusTruncated] != 1 {
		t.Errorf("stats %+v", s)
	}
	fs, err := c.Failures(ctx)
	if err != nil || len(fs) != 1 || fs[0].Path != "a/bad.jpg" || fs[0].Error != "unexpected EOF" {
		t.Errorf("failures %+v %v", fs, err)
	}
}

func TestFaceIDsNeverReused(t *testing.T) {
	ctx := context.Background()
	c := openTemp(t)
	b := Batch{Put: []Image{{Path: "p/1.jpg", Person: "p", Status: StatusOK, Faces: []Face{face(1, true)}}}}
	if err := c.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	first := b.Put[0].Faces[0].ID
	if err := c.Apply(ctx, &Batch{Delete: []string{"p/1.jpg"}}); err != nil {
		t.Fatal(err)
	}
	b = Batch{Put: []Image{{Path: "p/1.jpg", Person: "p", Status: StatusOK, Faces: []Face{face(1, true)}}}}
	if err := c.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if second := b.Put[0].Faces[0].ID; second <= first {
		t.Errorf("face id %d after deleting %d: ids must not be reused", second, first)
	}
	m, err := c.FacesByID(ctx, []int64{first, b.Put[0].Faces[0].ID})
	if err != nil || len(m) != 1 || m[b.Put[0].Faces[0].ID].Person != "p" {
		t.Errorf("FacesByID = %+v, %v", m, err)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	c := openTemp(t)
	if _, ok, err := c.Setting(ctx, KeyThreshold); ok || err != nil {
		t.Fatalf("unset setting: ok=%v err=%v", ok, err)
	}
	for _, v := range []string{"0.3", "0.31"} {
		if err := c.SetSetting(ctx, KeyThreshold, v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := c.Setting(ctx, KeyThreshold); !ok || err != nil || got != v {
			t.Errorf("setting = %q %v %v, want %q", got, ok, err, v)
		}
	}
}
