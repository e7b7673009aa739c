package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

// A flow started through one instance continues through the other after the first is killed:
// the session lives in Redis (IBIKI_REDIS_URL), or in the shared database without it.
func TestTwoInstancesShareAServiceSession(t *testing.T) {
	if ibikitest.Engine() != store.Postgres {
		t.Skip("several instances need PostgreSQL: this test runs in the IBIKI_TEST_DATABASE=postgres pass of scripts/test")
	}
	for _, backend := range []string{"redis", "database"} {
		t.Run(backend, func(t *testing.T) {
			db := ibikitest.DatabaseURL(t)
			var env []string
			if backend == "redis" {
				env = append(env, "IBIKI_REDIS_URL="+ibikitest.RedisURL(t))
			}
			a := start(t, db, env...)
			b := start(t, db, env...)
			acme := createClient(t, a, "acme", "")
			mustPost(t, a.URL+"/admin/v1/clients/acme/credits", adminToken, map[string]any{"amount_cents": 1000}, http.StatusOK)
			mustPost(t, a.URL+"/admin/v1/numbers", adminToken, map[string]any{"number": "57675", "client_id": "acme"}, http.StatusCreated)
			mustPost(t, a.URL+"/api/v1/services", acme.APIKey, map[string]any{"number": "57675",
				"commands": []any{map[string]any{"keyword": "1", "action": map[string]any{"type": "flow", "flow": "register"}}},
				"flows": map[string]any{"register": map[string]any{
					"steps": []any{map[string]any{"id": "name", "prompt": "Reply with your full name to register",
						"expect": map[string]any{"type": "text"}, "contact": "name"}},
					"complete": map[string]any{"type": "reply", "text": "Thanks [firstname]! You are registered."}}},
			}, http.StatusCreated)
			const phone = "+919876543210"
			mustPost(t, a.URL+"/admin/v1/simulator/inbound", adminToken, map[string]string{"from": phone, "to": "57675", "body": "1"}, http.StatusAccepted)
			waitAnswer(t, a, acme.APIKey, phone, 1, "Reply with your full name to register")
			a.kill() // whatever a kept in memory is gone; the session is elsewhere
			mustPost(t, b.URL+"/admin/v1/simulator/inbound", adminToken, map[string]string{"from": phone, "to": "57675", "body": "Asha Verma"}, http.StatusAccepted)
			waitAnswer(t, b, acme.APIKey, phone, 2, "Thanks Asha! You are registered.")
		})
	}
}

func mustPost(t *testing.T, url, auth string, body any, want int) []byte {
	t.Helper()
	status, out := post(url, auth, body)
	if status != want {
		t.Fatalf("POST %s: %d %s, want %d", url, status, out, want)
	}
	return out
}

// waitAnswer waits until phone got n answers from the client, the newest being want.
func waitAnswer(t *testing.T, in *instance, key, phone string, n int, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = outbound(t, in, key, phone)
		if len(got) >= n {
			if got[0] != want {
				t.Fatalf("answer %d to %s: %q, want %q", n, phone, got[0], want)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("answer %d to %s never came (answers so far %q)", n, phone, got)
}

// outbound lists the bodies of the client's messages to phone, newest first.
func outbound(t *testing.T, in *instance, key, phone string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, in.URL+"/api/v1/messages?direction=outbound&to="+url.QueryEscape(phone), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var page struct {
		Data []struct {
			Body string `json:"body"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatalf("messages: %d %s", res.StatusCode, b)
	}
	out := make([]string, len(page.Data))
	for i, m := range page.Data {
		out[i] = m.Body
	}
	return out
}
