package review

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/server"
)

func TestThumbnail(t *testing.T) {
	s := &snapshot{faces: map[int64]server.FaceRecord{}, vecs: map[int64][]float32{}, byName: map[string][]int64{}}
	add := func(id int64, person string, primary bool, v ...float32) {
		s.faces[id] = server.FaceRecord{ID: id, Person: person, Primary: primary}
		s.vecs[id] = v
		s.byName[person] = append(s.byName[person], id)
	}
	// ann: three alike faces and a misfiled one; the background face
	// (not primary) is ignored.
	add(1, "ann", true, 0, 1)
	add(2, "ann", true, 0.6, 0.8)
	add(3, "ann", true, 0.1, 0.995)
	add(4, "ann", true, 1, 0)
	add(5, "ann", false, 0.35, 0.94)
	add(6, "bob", false, 1, 0)
	tests := []struct {
		person string
		want   int64
	}{{"ann", 2}, {"bob", 0}, {"nobody", 0}}
	for _, tc := range tests {
		if got := s.thumbnail(tc.person); got != tc.want {
			t.Errorf("thumbnail(%s) = %d, want %d", tc.person, got, tc.want)
		}
	}
}

// TestLookalikeCache: the look-alikes are computed once, in the background
// on the server's context (a request's deadline never cancels them); until
// they are ready a request gets "unavailable" with a Retry-After; a failure
// is cached and retried only after its backoff.
func TestLookalikeCache(t *testing.T) {
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	c := &lookalikeCache{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	bg := context.Background()
	var calls atomic.Int32
	release := make(chan error)
	compute := func(ctx context.Context) ([]server.Lookalike, error) {
		calls.Add(1)
		select {
		case err := <-release:
			if err != nil {
				return nil, err
			}
			return []server.Lookalike{{Persons: [2]string{"ann", "bob"}}}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	unavailable := func(err error, what string) time.Duration {
		t.Helper()
		var e *server.Error
		if !errors.As(err, &e) || e.Kind != server.KindUnavailable || e.RetryAfter <= 0 {
			t.Fatalf("%s: got %v, want unavailable with a Retry-After", what, err)
		}
		return e.RetryAfter
	}

	// A request whose context ends at once: unavailable, and the
	// computation (on bg) is not cancelled with it.
	req, cancel := context.WithCancel(bg)
	cancel()
	_, err := c.get(req, bg, time.Hour, compute)
	unavailable(err, "first request")
	_, err = c.get(bg, bg, time.Millisecond, compute)
	unavailable(err, "while running")
	release <- errors.New("disk on fire")
	c.wait()
	if calls.Load() != 1 {
		t.Fatalf("computations = %d, want 1 (one at a time)", calls.Load())
	}

	// The failure is cached until its backoff has passed.
	_, err = c.get(bg, bg, time.Millisecond, compute)
	if ra := unavailable(err, "after a failure"); ra > lookalikeBackoff(1) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("after a failure: %v (Retry-After %v), want the cause and at most %v", err, ra, lookalikeBackoff(1))
	}
	c.wait()
	if calls.Load() != 1 {
		t.Fatalf("a cached failure was retried before its backoff (%d computations)", calls.Load())
	}
	advance(lookalikeBackoff(1) + time.Second)
	go func() { release <- nil }()
	got, err := c.get(bg, bg, time.Hour, compute)
	if err != nil || len(got) != 1 || calls.Load() != 2 {
		t.Fatalf("after the backoff: %v, %v, %d computations; want 1 pair from a 2nd computation", got, err, calls.Load())
	}
	for range 3 {
		if got, err := c.get(bg, bg, time.Millisecond, compute); err != nil || len(got) != 1 {
			t.Fatalf("cached: %v, %v", got, err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("computations = %d after the result was cached, want 2", calls.Load())
	}
	if lookalikeBackoff(2) <= lookalikeBackoff(1) || lookalikeBackoff(100) != lookalikeBackoffMax {
		t.Errorf("backoff does not grow to its bound: %v %v %v", lookalikeBackoff(1), lookalikeBackoff(2), lookalikeBackoff(100))
	}
}
