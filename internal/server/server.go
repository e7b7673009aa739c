// Package server builds the root HTTP handler — the mux with every transport's routes, health
// and metrics endpoints, and the middleware every request passes (recover, request id, access
// log, body limit) — and runs it with timeouts and a graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

// Options configures the handler.
type Options struct {
	Store        *store.Store
	Registry     *prometheus.Registry
	MaxBodyBytes int64
	// UploadBytes is the larger limit of the paths in UploadPaths (bulk sends, CSV uploads).
	UploadBytes int64
	UploadPaths []string
	AccessLog   bool
	Log         *slog.Logger
}

// Registrar adds routes to the mux (the API, the provider webhooks...).
type Registrar interface{ Register(mux Mux) }

// Mux is what a Registrar registers its routes on: the registration methods of http.ServeMux
// (which is one). It is an alias of an interface literal so that a transport can take the same
// literal without importing this package; Handler passes a Mux that records every pattern.
type Mux = interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Route is a pattern registered on the root mux, and who registered it: the Go type of the
// Registrar ("*api.API", "*dashboard.Dashboard"…), or "server" for the health and metrics
// endpoints. The OpenAPI test holds the document to these.
type Route struct {
	Pattern   string
	Registrar string
}

// recorder is a Mux that registers on the real mux and remembers each pattern.
type recorder struct {
	mux    *http.ServeMux
	by     string
	routes *[]Route
}

func (r recorder) Handle(pattern string, h http.Handler) {
	r.mux.Handle(pattern, h)
	*r.routes = append(*r.routes, Route{Pattern: pattern, Registrar: r.by})
}

func (r recorder) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	r.Handle(pattern, http.HandlerFunc(h))
}

// Handler returns the root handler.
func Handler(opt Options, parts ...Registrar) http.Handler {
	h, _ := HandlerWithRoutes(opt, parts...)
	return h
}

// HandlerWithRoutes is Handler, with every route registered on its mux.
func HandlerWithRoutes(opt Options, parts ...Registrar) (http.Handler, []Route) {
	var routes []Route
	root := http.NewServeMux()
	mux := recorder{mux: root, by: "server", routes: &routes}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := opt.Store.Ping(ctx); err != nil {
			opt.Log.Warn("not ready: database unreachable", "error", err)
			respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if opt.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opt.Registry, promhttp.HandlerOpts{}))
	}
	for _, p := range parts {
		p.Register(recorder{mux: root, by: fmt.Sprintf("%T", p), routes: &routes})
	}
	return recoverer(opt.Log, requestID(accessLog(opt.Log, opt.AccessLog, limitBody(opt, jsonFallback(root))))), routes
}

// jsonFallback answers unknown paths (404) and wrong methods (405, with Allow) in the JSON
// error shape instead of the mux's plain text.
func jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer is a 404 or a 405 with Allow: keep its status and header, not its
		// plain-text body.
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		e := respond.ErrNotFound
		if rec.status == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			e = &respond.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
				Message: r.Method + " is not allowed here; allowed: " + allow}
		}
		respond.Err(w, r, e)
	})
}

// statusOnly is a ResponseWriter that keeps the status and headers and drops the body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

// Run serves h on addr until ctx ends, then stops accepting, lets requests in flight finish
// (up to timeout) and returns. ready, if not nil, receives the bound address.
func Run(ctx context.Context, addr string, h http.Handler, timeout time.Duration, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
