package library

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
)

// TestPipelineCommits: the one writer of index and import-npz commits a
// partial batch when its interval passes and a full one at once, keeping
// each result's changes in one transaction. Each case's last item waits
// until the catalog holds the earlier ones (Workers 1: items run in order),
// which happens only if the rule under test commits them.
func TestPipelineCommits(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		interval time.Duration
		items    int
	}{
		{"by time: a partial batch after the interval", 1 << 30, 5 * time.Millisecond, 2},
		{"by size: a full batch at once", 3, time.Hour, 4}, // 3 items of weight 1 fill it
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cat, err := catalog.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			committed := func() int { // called by a worker too: no t.Fatal
				st, err := cat.Stats(ctx)
				if err != nil {
					t.Error(err)
					return -1
				}
				return st.Images
			}
			var commits [][]int
			todo := make([]int, tc.items)
			for i := range todo {
				todo[i] = i
			}
			err = pipeline[int, catalog.Image]{
				Workers: 1, Size: tc.size, Interval: tc.interval,
				Do: func(ctx context.Context, i int) (catalog.Image, error) {
					if i == tc.items-1 {
						// A hang guard, not a timing assertion.
						for deadline := time.Now().Add(time.Minute); committed() < i; time.Sleep(time.Millisecond) {
							if time.Now().After(deadline) {
								return catalog.Image{}, fmt.Errorf("%d of %d earlier items committed after a minute", committed(), i)
							}
						}
					}
					return catalog.Image{Path: fmt.Sprintf("p/%d.jpg", i), Person: "p", Status: catalog.StatusNoFace, SHA256: []byte{byte(i)}}, nil
				},
				Add: func(b *catalog.Batch, im catalog.Image) int {
					b.Put = append(b.Put, im)
					return 1
				},
				Committed: func(b *catalog.Batch, ims []catalog.Image) {
					if len(b.Put) != len(ims) {
						t.Errorf("batch of %d rows for %d results", len(b.Put), len(ims))
					}
					var c []int
					for _, im := range ims {
						var i int
						fmt.Sscanf(im.Path, "p/%d.jpg", &i)
						c = append(c, i)
					}
					commits = append(commits, c)
				},
			}.run(ctx, cat, todo)
			if err != nil {
				t.Fatal(err)
			}
			if n := committed(); n != tc.items {
				t.Errorf("%d images committed, want %d", n, tc.items)
			}
			// Every item reported once, in order, in commits of at most size.
			next := 0
			for _, c := range commits {
				if len(c) > tc.size {
					t.Errorf("a commit of %d results, size %d", len(c), tc.size)
				}
				for _, i := range c {
					if i != next {
						t.Fatalf("commits %v: want items in order", commits)
					}
					next++
				}
			}
			t.Logf("commits: %v", commits)
		})
	}
}
