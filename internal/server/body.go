package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// uploadRetry is the Retry-After of a request refused because too many
// uploads are being received.
const uploadRetry = 2 * time.Second

// bufferBody reads the whole request body (already bounded by
// MaxBytesReader) into memory before the request takes a search slot, under
// a read deadline of RequestTimeout: a client sending its upload slowly
// holds a connection and at most MaxUpload bytes, never a slot that photo
// searches wait for.
//
// At most cap(s.uploads) bodies are buffered at once; beyond that the
// request is refused at once with 503 and Retry-After, before its body is
// read, so that many slow clients cannot hold unbounded memory.
func (s *Server) bufferBody(w http.ResponseWriter, r *http.Request) error {
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	default:
		return &Error{Kind: KindUnavailable, Msg: fmt.Sprintf("the server is busy: %d uploads are being received", cap(s.uploads)), RetryAfter: uploadRetry}
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.opt.RequestTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			return fmt.Errorf("upload over %d bytes: %w", s.opt.MaxUpload, err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return &Error{Kind: KindTimeout, Msg: fmt.Sprintf("the upload was not received within %s", s.opt.RequestTimeout), Err: err}
		}
		return &Error{Kind: KindBadRequest, Msg: "reading the upload: " + err.Error(), Err: err}
	}
	rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}
