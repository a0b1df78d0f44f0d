package server

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServeStopsCleanlyWithRequestInFlight: a stop (SIGTERM cancels the
// context) while a request is still running past ShutdownTimeout ends Serve
// without an error, so the process exits 0 (issue 15 item 15).
func TestServeStopsCleanlyWithRequestInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // a request that never finishes by itself
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, ListenOptions{ShutdownTimeout: 200 * time.Millisecond}) }()
	go http.Get("http://" + ln.Addr().String() + "/")
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after a stop with a request in flight: %v, want nil", err)
	}
}
