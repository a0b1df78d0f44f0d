package weaviate_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/weaviate"
	"github.com/facesearch/facesearch/internal/weaviate/weaviatetest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"weaviate://127.0.0.1:8080/Faces", "weaviate://127.0.0.1:8080/Faces?consistency=QUORUM&index=flat&replicas=1&shards=1", false},
		{"weaviate://h:1/F?shards=3&replicas=3&consistency=all", "weaviate://h:1/F?consistency=ALL&index=flat&replicas=3&shards=3", false},
		{"weaviate://h:1/F?shards=3&consistency=one", "weaviate://h:1/F?consistency=ONE&index=flat&replicas=1&shards=3", false},
		{"weaviate://h:1/F?replicas=3&consistency=one", "", true},
		{"weaviate://h:1/F?index=HNSW&compression=rq", "weaviate://h:1/F?compression=rq&consistency=QUORUM&index=hnsw&replicas=1&shards=1", false},
		{"http://h:1/F", "", true},
		{"weaviate://h/F", "", true},
		{"weaviate://h:1/faces", "", true},
		{"weaviate://h:1/", "", true},
		{"weaviate://h:1/F?shards=0", "", true},
		{"weaviate://h:1/F?shard=2", "", true},
		{"weaviate://u:p@h:1/F", "", true},
		{"weaviate://h:1/F?index=ivf", "", true},
	} {
		c, err := weaviate.ParseURL(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && c.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, c.String(), tc.want)
		}
	}
}

func unit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var s float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		s += float64(v[i] * v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	return v
}

// TestClusterNodeLoss runs a 3-node cluster: exact search over 3 shards ×
// 3 replicas matches brute force, survives a SIGKILLed node, and the
// restarted node catches up with writes made while it was down.
func TestClusterNodeLoss(t *testing.T) {
	if !weaviatetest.InNetns(t) {
		return
	}
	cl := weaviatetest.Start(t, 3)
	ctx := context.Background()
	cfg, err := weaviate.ParseURL("weaviate://" + cl.Host(0) + "/Smoke?shards=3&replicas=3")
	if err != nil {
		t.Fatal(err)
	}
	c := weaviate.New(weaviate.Options{Config: cfg})
	if err := c.Ensure(ctx, true); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n, dim, k = 600, 64, 10
	faces := make([]weaviate.Face, n)
	for i := range faces {
		faces[i] = weaviate.Face{ID: int64(i + 1), Person: "p", Image: "i.jpg", Digest: "d", Vector: unit(r, dim)}
	}
	if err := c.Put(ctx, faces); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, faces[:50]); err != nil { // idempotent
		t.Fatal(err)
	}
	if got, err := c.Count(ctx); err != nil || got != n {
		t.Fatalf("count %d, %v; want %d", got, err, n)
	}
	exact := func(q []float32) []int64 {
		type s struct {
			id int64
			v  float32
		}
		all := make([]s, len(faces))
		for i, f := range faces {
			var d float32
			for j := range q {
				d += q[j] * f.Vector[j]
			}
			all[i] = s{f.ID, d}
		}
		sort.Slice(all, func(a, b int) bool { return all[a].v > all[b].v })
		ids := make([]int64, k)
		for i := range ids {
			ids[i] = all[i].id
		}
		return ids
	}
	compare := func(c *weaviate.Client, when string) error {
		if err := c.Health(ctx); err != nil {
			return fmt.Errorf("%s: health: %w", when, err)
		}
		for qi := 0; qi < 20; qi++ {
			q := faces[qi*31%len(faces)].Vector
			hits, err := c.Search(ctx, q, k)
			if err != nil {
				return fmt.Errorf("%s: %w", when, err)
			}
			want := exact(q)
			if len(hits) != k {
				return fmt.Errorf("%s: %d hits, want %d", when, len(hits), k)
			}
			for i, h := range hits {
				if h.FaceID != want[i] {
					return fmt.Errorf("%s: query %d rank %d: face %d, want %d", when, qi, i, h.FaceID, want[i])
				}
			}
		}
		return nil
	}
	check := func(c *weaviate.Client, when string) {
		t.Helper()
		if err := compare(c, when); err != nil {
			t.Fatal(err)
		}
	}
	check(c, "3 nodes")
	if err := cl.Kill(2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			t.Logf("nodes: %v", err)
		}
		healthy := 0
		for _, nd := range nodes {
			if nd.Status == "HEALTHY" {
				healthy++
			}
		}
		t.Logf("nodes after kill: %+v", nodes)
		if healthy == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	check(c, "node2 killed")
	all := weaviate.New(weaviate.Options{Config: func() weaviate.Config { x := cfg; x.Consistency = weaviate.All; return x }()})
	if err := all.Health(ctx); !errors.Is(err, weaviate.ErrIncomplete) {
		t.Errorf("health at consistency ALL with a node down: %v, want ErrIncomplete", err)
	} else {
		t.Logf("ALL with a node down: %v", err)
	}
	extra := make([]weaviate.Face, 20)
	for i := range extra {
		extra[i] = weaviate.Face{ID: int64(n + 1 + i), Person: "q", Image: "j.jpg", Digest: "d", Vector: unit(r, dim)}
	}
	if err := c.Put(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if err := cl.Restart(ctx, 2); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(120 * time.Second)
	for {
		missing := 0
		for _, f := range extra {
			ok, err := c.Has(ctx, cl.Name(2), f.ID)
			if err != nil {
				t.Logf("has: %v", err)
			}
			if !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node2 still misses %d of %d faces written while it was down", missing, len(extra))
		}
		time.Sleep(time.Second)
	}
	faces = append(faces, extra...)
	check(c, "node2 restarted, read at QUORUM through node0")
	// The restarted node holds the objects (above), but its own searches
	// may lag or miss vectors its flat index lost in the crash (seen on
	// v1.35.2; the library's self-check catches that, see
	// internal/library/remote.go and e2e/weaviate_cluster_test.go):
	// reported here, not asserted.
	c2 := weaviate.New(weaviate.Options{Config: func() weaviate.Config { x := cfg; x.Host = cl.Host(2); x.Consistency = weaviate.One; return x }()})
	deadline = time.Now().Add(30 * time.Second)
	for {
		err := compare(c2, "node2 restarted, read at ONE through it")
		if err == nil {
			t.Logf("reads at ONE through the restarted node2 are exact")
			break
		}
		if time.Now().After(deadline) {
			t.Logf("after 30 s reads through the restarted node2 still differ: %v", err)
			break
		}
		time.Sleep(time.Second)
	}
}
