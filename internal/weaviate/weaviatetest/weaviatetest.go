// Package weaviatetest gives tests a local Weaviate cluster in a private
// network namespace. The server binary is FACESEARCH_HOME/bin/weaviate-server
// (built by 'make setup' / 'make cluster'); when it is missing the test is
// skipped, or fails under CI=true.
package weaviatetest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/weaviate/cluster"
)

// Binary returns the weaviate-server binary.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(model.Home(os.Getenv), "bin", "weaviate-server")
	if _, err := os.Stat(bin); err != nil {
		testenv.Missing(tb, "%s not found (run 'make cluster-server' to build it, ~10 min the first time)", bin)
	}
	return bin
}

// InNetns runs test t in a private network namespace: in the parent process
// it re-runs just this test in a child and returns false (the caller
// returns); in the child it brings loopback up and returns true.
func InNetns(t *testing.T) bool {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: a Weaviate cluster test (-short)")
	}
	if cluster.InPrivateNetns() {
		if err := cluster.LoopbackUp(); err != nil {
			t.Fatal(err)
		}
		return true
	}
	Binary(t) // skip here, not silently in the child
	args := []string{"-test.run=^" + t.Name() + "$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := cluster.Reexec(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stdout, &out), os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s in a private network namespace: %v", t.Name(), err)
	}
	if strings.Contains(out.String(), "--- SKIP: "+t.Name()+" ") {
		t.Skip("skipped in the private network namespace (see above)")
	}
	return false
}

// Start starts an n-node cluster in a temporary directory, stopped when the
// test ends.
func Start(tb testing.TB, n int) *cluster.Cluster {
	tb.Helper()
	c, err := cluster.Start(context.Background(), cluster.Options{Binary: Binary(tb), Dir: tb.TempDir(), Nodes: n})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Stop)
	return c
}
