package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is the listen address of `facesearch serve`: loopback only.
const DefaultAddr = "127.0.0.1:8080"

// CheckBind refuses to listen beyond loopback without a token, unless
// insecure is given explicitly.
func CheckBind(addr, token string, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if loopback(host) || token != "" || insecure {
		return nil
	}
	return fmt.Errorf("listen address %q is reachable from other machines: give --token (clients send 'Authorization: Bearer TOKEN') or, knowingly, --insecure", addr)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenOptions configure Serve.
type ListenOptions struct {
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout of the
	// http.Server (defaults 10 s, 60 s, 90 s, 120 s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown (default 10 s).
	ShutdownTimeout time.Duration
	// Ready, if set, is called with the bound address once listening.
	Ready func(addr net.Addr)
}

// Serve serves h on ln until ctx is cancelled, then shuts down gracefully:
// no new connections, in-flight requests finish within ShutdownTimeout;
// connections still open then are closed, and Serve returns nil.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opt ListenOptions) error {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opt.ReadHeaderTimeout, 10*time.Second)
	def(&opt.ReadTimeout, 60*time.Second)
	def(&opt.WriteTimeout, 90*time.Second)
	def(&opt.IdleTimeout, 120*time.Second)
	def(&opt.ShutdownTimeout, 10*time.Second)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opt.ReadHeaderTimeout,
		ReadTimeout:       opt.ReadTimeout,
		WriteTimeout:      opt.WriteTimeout,
		IdleTimeout:       opt.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	if opt.Ready != nil {
		opt.Ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), opt.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Requests still running after ShutdownTimeout (a slow client):
		// the stop was asked for, so close them and end normally.
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown %s: %w", ln.Addr(), err)
	}
	return nil
}
