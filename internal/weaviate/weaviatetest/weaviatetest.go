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
	"regexp"
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
	// The child always runs verbosely: without -test.v it prints no
	// "--- SKIP" line, and a skip there would show here as a pass.
	cmd := cluster.Reexec("-test.run="+runPattern(t.Name()), "-test.count=1", "-test.v")
	var out bytes.Buffer
	if testing.Verbose() {
		cmd.Stdout = io.MultiWriter(os.Stdout, &out)
	} else {
		cmd.Stdout = &out
	}
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	result, reason := childResult(out.String(), t.Name())
	switch {
	case err != nil:
		t.Fatalf("%s in a private network namespace: %v\n%s", t.Name(), err, quiet(out.String()))
	case result == "SKIP":
		t.Skipf("skipped in the private network namespace: %s", reason)
	case result != "PASS":
		t.Fatalf("%s in a private network namespace: the child ran no such test\n%s", t.Name(), quiet(out.String()))
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

// runPattern is a -test.run pattern matching exactly the test named name
// (subtests included: each level is anchored).
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// childResult finds the verbose result line of test name in out ("PASS",
// "SKIP", "FAIL" or "" when the test did not run) and, for a skip, the last
// message the test logged before it (the reason given to t.Skip).
func childResult(out, name string) (result, reason string) {
	lines := strings.Split(out, "\n")
	prefix := "--- "
	for i, line := range lines {
		l := strings.TrimSpace(line)
		for _, r := range []string{"PASS", "SKIP", "FAIL"} {
			if !strings.HasPrefix(l, prefix+r+": "+name+" (") {
				continue
			}
			result = r
			if r == "SKIP" {
				for j := i - 1; j >= 0 && reason == ""; j-- {
					if m := logLine.FindStringSubmatch(lines[j]); m != nil {
						reason = m[1]
					}
				}
			}
			return result, reason
		}
	}
	return "", ""
}

// logLine matches a t.Log line of verbose test output: "    file.go:12: msg".
var logLine = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)

// quiet is the child's output for a failure message when it was not
// already printed (the parent not verbose).
func quiet(out string) string {
	if testing.Verbose() {
		return "(output above)"
	}
	return out
}
