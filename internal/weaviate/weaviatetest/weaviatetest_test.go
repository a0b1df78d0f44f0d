package weaviatetest

import (
	"testing"

	"github.com/facesearch/facesearch/internal/weaviate/cluster"
)

// A test that skips inside the private network namespace must show as
// skipped in the parent too, whether or not the parent runs with -v.
func TestInNetnsPassesSkipUp(t *testing.T) {
	if !cluster.InPrivateNetns() {
		Binary(t) // without it InNetns skips in the parent, proving nothing
	}
	var sub *testing.T
	t.Run("child", func(t *testing.T) {
		sub = t
		if InNetns(t) {
			t.Skip("reason from the child")
		}
	})
	if !sub.Skipped() {
		t.Fatal("the child skipped, the parent's test did not")
	}
}

func TestChildResult(t *testing.T) {
	out := "=== RUN   TestX\n=== RUN   TestX/child\n    x_test.go:19: reason from the child\n    --- SKIP: TestX/child (0.00s)\n--- PASS: TestX (0.01s)\nPASS\n"
	for _, tc := range []struct{ name, result, reason string }{
		{"TestX/child", "SKIP", "reason from the child"},
		{"TestX", "PASS", ""},
		{"TestY", "", ""},
	} {
		if r, why := childResult(out, tc.name); r != tc.result || why != tc.reason {
			t.Errorf("%s: %q %q, want %q %q", tc.name, r, why, tc.result, tc.reason)
		}
	}
	if got := runPattern("TestX/a.b"); got != `^TestX$/^a\.b$` {
		t.Errorf("runPattern: %s", got)
	}
}
