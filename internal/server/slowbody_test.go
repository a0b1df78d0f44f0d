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

// TestSlowUploadsHoldNoSearchSlot: two clients sending a multipart body
// byte by byte must not keep a normal photo search from a slot (issue 15
// item 7). With one slot and a 3 s request timeout, the normal search must
// answer 200 while the slow uploads are still open.
func TestSlowUploadsHoldNoSearchSlot(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxSearches = 1; o.RequestTimeout = 3 * time.Second })
	entered := make(chan struct{}, 2)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			entered <- struct{}{}
		}
		h.srv.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, handler, ListenOptions{ShutdownTimeout: time.Second}) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ln.Addr().String()

	body, ct := multipartBody(t, nil, pngBytes(30, 30), "q.png")
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, body.Len())
		c.Write(body.Bytes()[:10]) // and then nothing: a stalled upload
	}
	<-entered
	<-entered
	time.Sleep(200 * time.Millisecond) // let both reach the slot (before the fix they took it)
	b2, ct2 := multipartBody(t, nil, pngBytes(30, 30), "q.png")
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/search", bytes.NewReader(b2.Bytes()))
	req.Header.Set("Content-Type", ct2)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("normal search beside two stalled uploads: status %d, want 200", resp.StatusCode)
	}
}
