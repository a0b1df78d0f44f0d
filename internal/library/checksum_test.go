package library

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDamagedFlatFileIsRebuilt damages vectors.f32 with its size and header
// intact (zeros, NaNs, random bytes, a shuffled id table): opening it must
// notice (ErrIndexDamaged from VerifyIndex) and a search must rebuild it from
// the catalog and answer as before (issue 15 item 4).
func TestDamagedFlatFileIsRebuilt(t *testing.T) {
	ctx := context.Background()
	damages := []struct {
		name string
		fn   func(b []byte, idsOff int)
	}{
		{"zeroed vectors", func(b []byte, idsOff int) { clear(b[flatHeaderSize:idsOff]) }},
		{"one NaN", func(b []byte, idsOff int) {
			binary.LittleEndian.PutUint32(b[flatHeaderSize+4*3:], math.Float32bits(float32(math.NaN())))
		}},
		{"random page", func(b []byte, idsOff int) {
			for i := flatHeaderSize; i < min(idsOff, flatHeaderSize+64); i++ {
				b[i] = byte(i * 131)
			}
		}},
		{"shuffled ids", func(b []byte, idsOff int) {
			a, c := b[idsOff:idsOff+8], b[idsOff+8:idsOff+16]
			var tmp [8]byte
			copy(tmp[:], a)
			copy(a, c)
			copy(c, tmp[:])
		}},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, map[string]string{
				"alice/1.jpg": fakeSpec(0, 1, 1), "alice/2.jpg": fakeSpec(0, 2, 1),
				"bob/1.jpg": fakeSpec(2, 3, 1), "bob/2.jpg": fakeSpec(2, 4, 1), "carol/1.jpg": fakeSpec(4, 5, 1),
			})
			f := newFixture(t, root)
			if _, err := f.index(t, ctx, nil); err != nil {
				t.Fatal(err)
			}
			q := fakeVector(2, 3, 0)
			want := searchIDs(t, f.lib, q)
			if err := f.lib.VerifyIndex(ctx); err != nil {
				t.Fatalf("fresh index: %v", err)
			}
			path := filepath.Join(f.lib.Dir(), FlatFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			idsOff, _ := flatLayout(fakeDim, 5)
			d.fn(b, int(idsOff))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := f.lib.VerifyIndex(ctx); !errors.Is(err, ErrIndexDamaged) {
				t.Fatalf("VerifyIndex of a damaged file: %v, want ErrIndexDamaged", err)
			}
			if got := searchIDs(t, f.lib, q); !reflect.DeepEqual(got, want) {
				t.Errorf("search after damage %v, want %v (rebuilt)", got, want)
			}
			if err := f.lib.VerifyIndex(ctx); err != nil {
				t.Errorf("after the rebuild: %v", err)
			}
			// 'index' on the unchanged catalog repairs it too (review
			// finding 2: it used to report the damaged index up to date).
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := f.index(t, ctx, nil)
			if err != nil {
				t.Fatalf("index over a damaged index: %v", err)
			}
			if !rep.Rebuilt {
				t.Error("index over a damaged index: not rebuilt (reported up to date)")
			}
			if err := f.lib.VerifyIndex(ctx); err != nil {
				t.Errorf("after index: %v", err)
			}
		})
	}
}

// TestIndexCountAgainstCatalog: an index whose face count differs from the
// catalog's (same generation) is damaged.
func TestIndexCountAgainstCatalog(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1), "bob/1.jpg": fakeSpec(2, 3, 1)})
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	info, _, err := f.lib.IndexStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.lib.checkCatalogCount(ctx, "x", info.Count); err != nil {
		t.Fatal(err)
	}
	if err := f.lib.checkCatalogCount(ctx, "x", info.Count+1); !errors.Is(err, ErrIndexDamaged) {
		t.Errorf("count+1: %v, want ErrIndexDamaged", err)
	}
}

func searchIDs(t *testing.T, lib *Library, q []float32) []int64 {
	t.Helper()
	s, err := lib.Searcher(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hits, err := s.Search(context.Background(), q, SearchOptions{K: 5, Min: -1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, h := range hits {
		ids = append(ids, h.FaceID)
	}
	return ids
}

// BenchmarkOpenFlatVerified measures opening (mapping) the vector file of
// the bench dataset's size, 57,637 faces × 512-d (118 MB), with and without
// its checksum verified: the cost item 4 of issue 15 adds to a cold search.
func BenchmarkOpenFlatVerified(b *testing.B) {
	const n, dim = 57637, 512
	vecs := make([]float32, n*dim)
	ids := make([]int64, n)
	for i := range vecs {
		vecs[i] = float32(i%977) / 977
	}
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	path := filepath.Join(b.TempDir(), FlatFile)
	sum, err := writeFlat(path, dim, 1, vecs, ids)
	if err != nil {
		b.Fatal(err)
	}
	stamp := statStamp(path)
	for _, c := range []struct {
		name, sum string
		stamp     *FileStamp
	}{{"verified", sum, nil}, {"stamped", sum, stamp}, {"unverified", "", nil}} {
		b.Run(c.name, func(b *testing.B) {
			info := IndexInfo{Dim: dim, Count: n, Generation: 1, Checksum: c.sum, Stamp: c.stamp}
			for b.Loop() {
				x, err := openFlat(path, info, nil)
				if err != nil {
					b.Fatal(err)
				}
				x.Close()
			}
		})
	}
}

// TestStampSkipsOnlyUnchangedFiles: index records the flat file's stamp; a
// file rewritten in place with its modification time set back still differs
// in its status-change time, so a search checksums it, finds the damage and
// rebuilds (the stamp only lets an untouched file skip the checksum pass).
// An index.json without a stamp (older versions) gets one from the next
// 'index' that verified the file.
func TestStampSkipsOnlyUnchangedFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"alice/1.jpg": fakeSpec(0, 1, 1), "alice/2.jpg": fakeSpec(0, 2, 1),
		"bob/1.jpg": fakeSpec(2, 3, 1), "bob/2.jpg": fakeSpec(2, 4, 1),
	})
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	info, _, err := f.lib.IndexStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.lib.Dir(), FlatFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if platformStamp(fi) != nil && !sameStamp(info.Stamp, fi) {
		t.Fatalf("index.json stamp %+v does not match the file just written", info.Stamp)
	}
	q := fakeVector(2, 3, 0)
	want := searchIDs(t, f.lib, q)

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idsOff, _ := flatLayout(fakeDim, 4)
	clear(b[flatHeaderSize:idsOff])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, f.lib, q); !reflect.DeepEqual(got, want) {
		t.Errorf("search after in-place damage with the mtime restored: %v, want %v (rebuilt)", got, want)
	}
	if err := f.lib.VerifyIndex(ctx); err != nil {
		t.Errorf("after the search's rebuild: %v", err)
	}

	// An older index.json without a stamp: 'index' verifies and stamps it.
	info, _, err = f.lib.IndexStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info.Stamp = nil
	if err := writeJSONAtomic(filepath.Join(f.lib.Dir(), IndexMetaFile), info); err != nil {
		t.Fatal(err)
	}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	info, _, err = f.lib.IndexStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if platformStamp(fi) != nil && info.Stamp == nil {
		t.Error("index over an unstamped fresh index did not record the stamp")
	}
}
