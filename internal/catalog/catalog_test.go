package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
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
	if n, err := c.FaceCount(ctx); err != nil || n != int64(s.Faces) {
		t.Errorf("FaceCount %d, %v; want Stats' %d", n, err, s.Faces)
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

// snapshot is a canonical form of the catalog: path → person, status and
// the first embedding value of each face, in order.
func snapshot(t testing.TB, c *Catalog) map[string]string {
	t.Helper()
	ims, err := c.Images(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, im := range ims {
		s := im.Person + " " + im.Status
		for _, f := range im.Faces {
			s += fmt.Sprintf(" %g", f.Embedding[0])
		}
		m[im.Path] = s
	}
	return m
}

func TestApplyBatches(t *testing.T) {
	img := func(path string, xs ...float32) Image {
		im := Image{Path: path, Person: strings.Split(path, "/")[0], Status: StatusOK}
		for i, x := range xs {
			im.Faces = append(im.Faces, face(x, i == 0))
		}
		if len(xs) == 0 {
			im.Status = StatusNoFace
		}
		return im
	}
	many := func(person string, n int) []Image {
		var ims []Image
		for i := range n {
			xs := make([]float32, i%4) // 0 to 3 faces
			for j := range xs {
				xs[j] = float32(1000*i + j)
			}
			ims = append(ims, img(fmt.Sprintf("%s/%04d.jpg", person, i), xs...))
		}
		return ims
	}
	want := func(ims ...Image) map[string]string {
		m := map[string]string{}
		for _, im := range ims {
			s := im.Person + " " + im.Status
			for _, f := range im.Faces {
				s += fmt.Sprintf(" %g", f.Embedding[0])
			}
			m[im.Path] = s
		}
		return m
	}
	big := many("p", 3*rowsPerInsert+5)
	tests := []struct {
		name  string
		setup []Batch
		batch Batch
		want  map[string]string
	}{
		{"more rows than one insert", nil, Batch{Put: big}, want(big...)},
		{"same path twice: the last wins", nil,
			Batch{Put: []Image{img("a/1.jpg", 1, 2), img("a/2.jpg", 3), img("a/1.jpg", 4)}},
			want(img("a/1.jpg", 4), img("a/2.jpg", 3))},
		{"replace stored images", []Batch{{Put: []Image{img("a/1.jpg", 1, 2), img("a/2.jpg", 3)}}},
			Batch{Put: []Image{img("a/2.jpg", 5, 6), img("b/1.jpg")}},
			want(img("a/1.jpg", 1, 2), img("a/2.jpg", 5, 6), img("b/1.jpg"))},
		{"delete then put the same path", []Batch{{Put: []Image{img("a/1.jpg", 1, 2)}}},
			Batch{Delete: []string{"a/1.jpg"}, Put: []Image{img("a/1.jpg", 7)}},
			want(img("a/1.jpg", 7))},
		{"move then put over the old path", []Batch{{Put: []Image{img("a/1.jpg", 1)}}},
			Batch{Move: []Move{{From: "a/1.jpg", To: "b/1.jpg", Person: "b"}}, Put: []Image{img("a/1.jpg", 8)}},
			want(img("b/1.jpg", 1), img("a/1.jpg", 8))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := openTemp(t)
			for i := range tt.setup {
				if err := c.Apply(ctx, &tt.setup[i]); err != nil {
					t.Fatal(err)
				}
			}
			g0, _ := c.Generation(ctx)
			b := tt.batch
			b.Put = append([]Image(nil), b.Put...)
			for i := range b.Put {
				b.Put[i].Faces = append([]Face(nil), b.Put[i].Faces...)
			}
			if err := c.Apply(ctx, &b); err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("catalog:\n%v\nwant:\n%v", got, tt.want)
			}
			if g, _ := c.Generation(ctx); g != g0+1 {
				t.Errorf("generation %d after %d, want one more", g, g0)
			}
			// The ids written back are the stored ones, for the surviving
			// copy of each path; face ids grow.
			ims, err := c.Images(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]Image{}
			for _, im := range b.Put {
				last[im.Path] = im
			}
			var prev int64
			for _, im := range ims {
				p, ok := last[im.Path]
				if !ok {
					continue
				}
				if p.ID != im.ID {
					t.Errorf("%s: id %d written back, %d stored", im.Path, p.ID, im.ID)
				}
				for j, f := range im.Faces {
					if p.Faces[j].ID != f.ID {
						t.Errorf("%s face %d: id %d written back, %d stored", im.Path, j, p.Faces[j].ID, f.ID)
					}
					if f.ID <= prev && strings.HasPrefix(im.Path, "p/") {
						t.Errorf("%s face %d: id %d after %d", im.Path, j, f.ID, prev)
					}
					prev = f.ID
				}
			}
		})
	}
}

func TestApplyRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	c := openTemp(t)
	if err := c.Apply(ctx, &Batch{Put: []Image{{Path: "a/1.jpg", Person: "a", Status: StatusOK, Faces: []Face{face(1, true)}}}}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, c)
	g0, _ := c.Generation(ctx)
	// A trigger makes the insert of a face with a negative score fail.
	if _, err := c.db.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON faces WHEN NEW.score < 0
		BEGIN SELECT RAISE(ABORT, 'negative score'); END`); err != nil {
		t.Fatal(err)
	}
	bad := Batch{Delete: []string{"a/1.jpg"}, Put: []Image{{Path: "b/2.jpg", Person: "b", Status: StatusOK, Faces: []Face{face(2, true)}}}}
	for i := range 2 * rowsPerInsert {
		f := face(float32(i), true)
		if i == rowsPerInsert+1 {
			f.Score = -1
		}
		bad.Put = append(bad.Put, Image{Path: fmt.Sprintf("c/%d.jpg", i), Person: "c", Status: StatusOK, Faces: []Face{f}})
	}
	if err := c.Apply(ctx, &bad); err == nil || !strings.Contains(err.Error(), "negative score") {
		t.Fatalf("Apply with a refused face: %v", err)
	}
	if got := snapshot(t, c); !reflect.DeepEqual(got, before) {
		t.Errorf("failed Apply changed the catalog: %v, was %v", got, before)
	}
	if g, _ := c.Generation(ctx); g != g0 {
		t.Errorf("failed Apply bumped the generation to %d", g)
	}
}

// TestPragmas checks the settings every connection runs with: the page size
// of a new catalog (16 KiB holds 7 embeddings of 2 KiB a page, 4 KiB only
// one), WAL with synchronous=NORMAL, foreign keys.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	c := openTemp(t)
	var conns []*sql.Conn
	for range 3 {
		conn, err := c.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns = append(conns, conn)
	}
	for i, conn := range conns {
		for _, p := range []struct{ pragma, want string }{
			{"page_size", "16384"}, {"journal_mode", "wal"}, {"synchronous", "1"}, {"foreign_keys", "1"}, {"busy_timeout", "30000"},
		} {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("connection %d: %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
	}
}
