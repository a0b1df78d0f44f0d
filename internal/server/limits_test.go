package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestUploadsBeingReceivedAreBounded: with one search slot, at most
// UploadsPerSearch stalled uploads are buffered at once; the next one is
// refused with 503 and Retry-After before its body is read (review finding
// 4: before, any number of slow clients each held up to MaxUpload bytes).
func TestUploadsBeingReceivedAreBounded(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxSearches = 1; o.RequestTimeout = 5 * time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h.srv, ListenOptions{ShutdownTimeout: time.Second}) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ln.Addr().String()

	body, ct := multipartBody(t, nil, pngBytes(30, 30), "q.png")
	for range UploadsPerSearch {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, body.Len())
		c.Write(body.Bytes()[:10]) // and then nothing: a stalled upload
	}
	// The stalled uploads reach bufferBody asynchronously: ask until the
	// bound shows (before the fix it never did: every request got 200).
	for try := 0; ; try++ {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/search", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			return
		}
		if try == 40 {
			t.Fatalf("beside %d stalled uploads the next upload got %d, want 503", UploadsPerSearch, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLimitsSharedAcrossServers: two Servers given the same Limits (serve
// replaces its Server on a reload) share one search slot pool (review
// finding 6: each reload used to get a fresh pool).
func TestLimitsSharedAcrossServers(t *testing.T) {
	lim := NewLimits(1)
	a := newHarness(t, func(o *Options) { o.Limits = lim; o.RequestTimeout = time.Second })
	b := newHarness(t, func(o *Options) { o.Limits = lim; o.RequestTimeout = time.Second })
	a.srv.slots <- struct{}{} // a search running on the old server
	req, _ := http.NewRequestWithContext(context.Background(), "POST", "/", nil)
	ctx, cancel := context.WithCancel(req.Context())
	cancel()
	if err := b.srv.acquire(req.WithContext(ctx)); err == nil {
		t.Error("the new server took a slot the old one holds")
		b.srv.release()
	}
	<-a.srv.slots
	if err := b.srv.acquire(req); err != nil {
		t.Errorf("free slot: %v", err)
	} else {
		b.srv.release()
	}
}
