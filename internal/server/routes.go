package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// routes registers every endpoint. Methods are checked by handle (not by the
// mux patterns) so that a wrong method gets a JSON error too.
func (s *Server) routes() {
	s.handle("/api/health", s.health, "GET")
	s.handle("/api/stats", s.stats, "GET")
	s.handle("/api/search", s.search, "POST")
	s.handle("/api/faces/{id}", s.face, "GET")
	s.handle("/api/faces/{id}/crop", s.faceCrop, "GET")
	s.handle("/api/persons", s.persons, "GET")
	s.handle("/api/persons/{name}", s.person, "GET")
	s.handle("/api/images/{id}", s.image, "GET")
	s.handle("/api/images/{id}/file", s.imageFile, "GET")
	s.handle("/api/findings", s.findings, "GET")
	s.handle("/api/findings.csv", s.findingsCSV, "GET")
	s.handle("/api/findings/{key}/dismissed", s.dismiss, "PUT", "DELETE")
	s.handle("/api/pairs", s.pairs, "GET")
	s.handle("/api/lookalikes", s.lookalikes, "GET")
	s.handle("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(KindNotFound, "no API endpoint %s", r.URL.Path))
	}, "GET", "POST", "PUT", "DELETE")

	// The page: index.html at "/" and its assets; nothing else.
	files := http.FileServerFS(s.static)
	s.mux.HandleFunc("/{$}", s.page(files))
	s.mux.HandleFunc("/assets/", s.page(files))
	// Browsers ask for /favicon.ico whatever the page links: answer with
	// the page's icon rather than a logged 404.
	s.mux.HandleFunc("/favicon.ico", s.page(files))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(KindNotFound, "no page %s", r.URL.Path))
	})
}

// page serves the embedded static files with strict headers.
func (s *Server) page(files http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.writeError(w, r, errorf(KindMethod, "method %s not allowed on %s", r.Method, r.URL.Path))
			return
		}
		securityHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		if r.URL.Path == "/favicon.ico" {
			b, err := fs.ReadFile(s.static, "assets/favicon.svg")
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "image/svg+xml")
			http.ServeContent(w, r, "favicon.svg", time.Time{}, bytes.NewReader(b))
			return
		}
		if r.URL.Path == "/" {
			b, err := fs.ReadFile(s.static, "index.html")
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(b))
			return
		}
		files.ServeHTTP(w, r)
	}
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'")
}

// handle registers an API endpoint: method check, token check (or, without
// a token, Host and Origin checks), per-request deadline and security
// headers.
func (s *Server) handle(pattern string, h http.HandlerFunc, methods ...string) {
	allow := strings.Join(methods, ", ")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		ok := false
		for _, m := range methods {
			if r.Method == m || (m == "GET" && r.Method == http.MethodHead) {
				ok = true
			}
		}
		if !ok {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, errorf(KindMethod, "method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
			return
		}
		if !s.authorized(r) {
			s.writeError(w, r, errorf(KindUnauthorized, "a valid bearer token is required"))
			return
		}
		if err := s.checkOrigin(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.RequestTimeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	})
}

// TokenCookie is the cookie the page sets to carry the token for <img> loads.
// Its value is the token URL-escaped (JavaScript's encodeURIComponent).
const TokenCookie = "facesearch_token"

func (s *Server) authorized(r *http.Request) bool {
	if s.opt.Token == "" {
		return true
	}
	got := ""
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got = strings.TrimSpace(a[len("Bearer "):])
	} else if c, err := r.Cookie(TokenCookie); err == nil {
		got = c.Value
		if u, err := url.PathUnescape(c.Value); err == nil {
			got = u
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opt.Token)) == 1
}

// checkOrigin guards a server without a token against DNS rebinding and
// cross-site requests: the Host header must name a loopback IP,
// "localhost", the listen host or one of Options.Hosts, and a request that
// changes state (POST, PUT, DELETE) carrying an Origin header must come from
// that same host; requests a browser marks Sec-Fetch-Site: cross-site are
// refused whatever their method. With a token set the token is the guard.
func (s *Server) checkOrigin(r *http.Request) error {
	if s.opt.Token != "" {
		return nil
	}
	host := hostOnly(r.Host)
	if !s.hostAllowed(host) {
		return errorf(KindForbidden, "host %q is not served without a token: use http://127.0.0.1 or http://localhost, or start the server with --allow-host %s (or a --token)", r.Host, host)
	}
	// Browsers label every request with Sec-Fetch-Site: another site's page
	// must not make this server start work (an audit, a pairs search) or
	// load faces, even when it cannot read the answer.
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return errorf(KindForbidden, "cross-site %s refused", r.Method)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
		return errorf(KindForbidden, "cross-origin %s from %q refused", r.Method, origin)
	}
	return nil
}

// hostAllowed reports whether host (no port, lower case) may be served
// without a token.
func (s *Server) hostAllowed(host string) bool {
	if host == "" {
		return false
	}
	if host == "localhost" || host == s.bindHost {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() || s.bindAny {
			return true
		}
		if b := net.ParseIP(s.bindHost); b != nil && b.Equal(ip) {
			return true
		}
		return false
	}
	for _, h := range s.opt.Hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// hostOnly returns the host of a Host header or listen address, without
// port or brackets, lower case, without a trailing dot.
func hostOnly(hostport string) string {
	h := hostport
	if x, _, err := net.SplitHostPort(hostport); err == nil {
		h = x
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// pathID parses the {id} path value: a positive decimal integer.
func pathID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != v {
		return 0, errorf(KindBadRequest, "id %q is not a positive integer", v)
	}
	return id, nil
}

// intParam parses an optional integer query or form value within [lo, hi].
func intParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errorf(KindBadRequest, "%s=%q: want an integer in [%d, %d]", name, v, lo, hi)
	}
	return n, nil
}
