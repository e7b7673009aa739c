package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// BenchmarkCreateMessage posts sends through the server's handler (auth, decode, checks, the
// accepting transaction, answer) from many goroutines, as a busy client does; the job runner is
// not running, so dispatch costs nothing here. allocs/op is the figure that tells whether the
// accepting path got heavier.
func BenchmarkCreateMessage(b *testing.B) { benchmarkSend(b, false) }

// BenchmarkCreateMessageTwilio is the same send through the Twilio-compatible API (a form, basic
// auth, Twilio's answer): the two side by side are the cost of the Twilio skin.
func BenchmarkCreateMessageTwilio(b *testing.B) { benchmarkSend(b, true) }

func benchmarkSend(b *testing.B, twilio bool) {
	app := ibikitest.BuildApp(b, map[string]string{"IBIKI_DATABASE_URL": ibikitest.DatabaseURL(b), "IBIKI_ADMIN_TOKEN": ibikitest.AdminToken},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	do := func(path, auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+auth)
		w := httptest.NewRecorder()
		app.Handler.ServeHTTP(w, req)
		return w
	}
	res := do("/admin/v1/clients", ibikitest.AdminToken, `{"id":"bench","name":"bench"}`)
	var c struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &c); err != nil || c.APIKey == "" {
		b.Fatalf("create client: %d %s", res.Code, res.Body)
	}
	if res := do("/admin/v1/clients/bench/credits", ibikitest.AdminToken, `{"amount_cents":100000000,"reference":"bench"}`); res.Code >= 300 {
		b.Fatalf("top up: %d %s", res.Code, res.Body)
	}
	var creds struct {
		AccountSID string `json:"account_sid"`
		AuthToken  string `json:"auth_token"`
	}
	if twilio {
		res := do("/admin/v1/clients/bench/twilio-credentials", ibikitest.AdminToken, "")
		if err := json.Unmarshal(res.Body.Bytes(), &creds); err != nil || creds.AuthToken == "" {
			b.Fatalf("twilio credentials: %d %s", res.Code, res.Body)
		}
	}
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			var req *http.Request
			want := http.StatusAccepted
			if twilio {
				body := fmt.Sprintf("To=%%2B4670%07d&Body=bench+mt+%d", n, n)
				req = httptest.NewRequest(http.MethodPost, "/2010-04-01/Accounts/"+creds.AccountSID+"/Messages.json", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(creds.AccountSID, creds.AuthToken)
				want = http.StatusCreated
			} else {
				body := fmt.Appendf(nil, `{"to":"+4670%07d","body":"bench mt %d"}`, n, n)
				req = httptest.NewRequest(http.MethodPost, "/api/v1/messages", bytes.NewReader(body))
				req.Header.Set("X-API-Key", c.APIKey)
			}
			w := httptest.NewRecorder()
			app.Handler.ServeHTTP(w, req)
			if w.Code != want {
				b.Fatalf("answer %d %s", w.Code, w.Body)
			}
		}
	})
}
