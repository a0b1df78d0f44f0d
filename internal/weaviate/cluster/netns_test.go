package cluster

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Start refuses a network namespace with interfaces beyond loopback, where
// weaviate-server would expose gRPC, its data port and pprof.
func TestStartRefusesHostNetwork(t *testing.T) {
	others, err := NonLoopback()
	if err != nil {
		t.Fatal(err)
	}
	if len(others) == 0 {
		t.Skip("this network namespace has only loopback: nothing to refuse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// /bin/true stands in for the server: Start must refuse before running it.
	c, err := Start(ctx, Options{Binary: "/bin/true", Dir: t.TempDir()})
	if err == nil {
		c.Stop()
	}
	if err == nil || !strings.Contains(err.Error(), "refusing to start") || !strings.Contains(err.Error(), others[0]) {
		t.Fatalf("Start outside a private namespace: %v; want a refusal naming %s", err, others[0])
	}
}
