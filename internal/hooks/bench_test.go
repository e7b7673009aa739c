package hooks_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// BenchmarkExtremeSMSWebhook posts ExtremeSMS webhooks through the server's handler (read,
// verify, parse, accept and commit, answer) from many goroutines, as a busy provider does; the
// router is not running, so routing costs nothing here. allocs/op is the figure that tells
// whether the webhook layer got heavier.
func BenchmarkExtremeSMSWebhook(b *testing.B) {
	app := ibikitest.BuildApp(b, map[string]string{"IBIKI_DATABASE_URL": ibikitest.DatabaseURL(b), "IBIKI_ADMIN_TOKEN": ibikitest.AdminToken},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			body := fmt.Appendf(nil, `{"from":"+1555%07d","message":"hi","receiver":"+15557654321","business":"acme","messageId":"b-%d"}`, n%10000, n)
			req := httptest.NewRequest(http.MethodPost, "/webhooks/extremesms", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			app.Handler.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("answer %d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkGenericWebhook is BenchmarkExtremeSMSWebhook for the generic entry's JSON with its
// default names: the path that configurable names and encodings must leave as fast as it was.
func BenchmarkGenericWebhook(b *testing.B) {
	app := ibikitest.BuildApp(b, map[string]string{"IBIKI_DATABASE_URL": ibikitest.DatabaseURL(b), "IBIKI_ADMIN_TOKEN": ibikitest.AdminToken},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			body := fmt.Appendf(nil, `{"from":"+1555%07d","body":"hi","to":"+15557654321","business":"acme","message_id":"b-%d"}`, n%10000, n)
			req := httptest.NewRequest(http.MethodPost, "/webhooks/generic", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			app.Handler.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("answer %d %s", w.Code, w.Body)
			}
		}
	})
}
