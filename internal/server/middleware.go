package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/respond"
)

// requestID gives every request an id, echoed in X-Request-Id and in error logs. A sane id
// from the caller (a proxy's) is kept so logs can be followed across hops.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r)
	})
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// recoverer turns a panic in a handler into a logged 500 instead of a dropped connection.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic in handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				respond.JSON(w, http.StatusInternalServerError, map[string]*respond.Error{"error": respond.ErrInternal})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps every request body; reading past the cap fails with *http.MaxBytesError,
// which the handlers answer with 413. Upload paths have their own, larger cap.
func limitBody(opt Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := opt.MaxBodyBytes
		if opt.UploadBytes > limit && slices.Contains(opt.UploadPaths, r.URL.Path) {
			limit = opt.UploadBytes
		}
		if r.ContentLength > limit {
			if strings.Contains(r.Header.Get("Accept"), "text/html") { // a person's browser (the dashboard)
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				fmt.Fprintf(w, "<!doctype html><html lang=\"en\"><title>Too large · Ibiki</title><h1>Too large</h1><p>The upload is too large: at most %d MB. Go back and choose a smaller file.</p></html>", limit>>20)
				return
			}
			respond.Err(w, r, respond.ErrTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer (flushing a Server-Sent Events
// stream, lifting its write deadline).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs each request at info when enabled; server errors are always logged.
func accessLog(log *slog.Logger, all bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if !all && sw.status < 500 {
			return
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(r.Context(), level, "http request", slog.String("method", r.Method),
			slog.String("path", logPath(r.URL.Path)), slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", w.Header().Get("X-Request-Id")))
	})
}

// logPath is a request path as the log shows it: invitation links carry a secret token, which
// stays out of the log.
func logPath(p string) string {
	if strings.HasPrefix(p, "/invite/") {
		return "/invite/…"
	}
	return p
}
