package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/facesearch/facesearch/internal/imgio"
)

// Kind is an API error code, sent as error.code.
type Kind string

// Error kinds. statusOf maps each to its HTTP status.
const (
	KindBadRequest   Kind = "bad_request"  // malformed parameters or body
	KindNotImage     Kind = "not_image"    // the upload is not a decodable image
	KindTooLarge     Kind = "too_large"    // body or image over the limits
	KindNoFace       Kind = "no_face"      // no face found in the photo
	KindNotFound     Kind = "not_found"    // unknown id, name or path
	KindUnauthorized Kind = "unauthorized" // missing or wrong token
	KindForbidden    Kind = "forbidden"    // Host or Origin not served without a token
	KindGone         Kind = "gone"         // an image file changed or removed since indexing
	KindMethod       Kind = "method_not_allowed"
	KindUnavailable  Kind = "unavailable" // a feature that is not set up (no audit)
	KindTimeout      Kind = "timeout"     // the request ran out of time
	KindInternal     Kind = "internal"
)

// statusOf is THE table from error kinds to HTTP statuses.
var statusOf = map[Kind]int{
	KindBadRequest:   http.StatusBadRequest,
	KindNotImage:     http.StatusUnsupportedMediaType,
	KindTooLarge:     http.StatusRequestEntityTooLarge,
	KindNoFace:       http.StatusUnprocessableEntity,
	KindNotFound:     http.StatusNotFound,
	KindUnauthorized: http.StatusUnauthorized,
	KindForbidden:    http.StatusForbidden,
	KindGone:         http.StatusGone,
	KindMethod:       http.StatusMethodNotAllowed,
	KindUnavailable:  http.StatusServiceUnavailable,
	KindTimeout:      http.StatusServiceUnavailable,
	KindInternal:     http.StatusInternalServerError,
}

// ErrNotFound is wrapped by Catalog and Cleanser implementations for unknown
// ids and names.
var ErrNotFound = errors.New("not found")

// Error is an error with an API kind.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // cause, may be nil
	// RetryAfter, when positive, is sent as the Retry-After header (whole
	// seconds, rounded up): the request may succeed after that long.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// kindOf classifies any error.
func kindOf(err error) Kind {
	var e *Error
	var mb *http.MaxBytesError
	var ie *imgio.Error // an upload's own fault, by its kind
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.As(err, &mb):
		return KindTooLarge
	case errors.As(err, &ie) && errors.Is(ie.Kind, imgio.ErrTooLarge):
		return KindTooLarge
	case errors.As(err, &ie):
		return KindNotImage
	case errors.Is(err, ErrNotFound):
		return KindNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	}
	return KindInternal
}

type errorBody struct {
	Error struct {
		Code    Kind   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError sends err as a JSON error. Internal errors are logged and their
// details kept from the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	k := kindOf(err)
	var b errorBody
	b.Error.Code = k
	b.Error.Message = err.Error()
	status, ok := statusOf[k]
	if !ok {
		status = http.StatusInternalServerError
	}
	if k == KindInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		b.Error.Message = "internal error (see the server log)"
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", k, "err", err)
	}
	if k == KindUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="facesearch"`)
	}
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSONStatus(w, status, b)
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
