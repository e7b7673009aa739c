package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/cli"
	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTwilioProviderEndToEnd(t *testing.T) {
	const sid, token = "AC00000000000000000000000000000001", "tw-secret-token"
	var (
		mu   sync.Mutex
		sent []url.Values
	)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != sid || p != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(b))
		mu.Lock()
		sent = append(sent, f)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM0001","status":"queued"}`)
	}))
	defer fake.Close()
	const callback = "https://ibiki.example/webhooks/tw/status"
	file := writeFile(t, `{"default":"tw","providers":[
		{"name":"tw","type":"twilio","account_sid":"`+sid+`","auth_token":"`+token+`","base_url":"`+fake.URL+`",
		 "status_callback":"`+callback+`","rate":50},
		{"name":"sim","type":"simulator","latency":"10ms"}]}`)
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000031", "provider": "tw"}, http.StatusCreated)

	m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "+15552080001", "body": "hello from twilio"})
	if m.Provider != "tw" || m.From != "+15550000031" {
		t.Fatalf("answer = %+v", m)
	}
	got := waitStatus(t, s, acme.APIKey, m.ID, "sent")
	if got.ProviderID == nil || *got.ProviderID != "SM0001" {
		t.Errorf("provider id = %v", got.ProviderID)
	}
	mu.Lock()
	f := sent[0]
	mu.Unlock()
	if f.Get("To") != "+15552080001" || f.Get("From") != "+15550000031" || f.Get("Body") != "hello from twilio" || f.Get("StatusCallback") != callback {
		t.Errorf("Twilio got %v", f)
	}

	status := url.Values{"MessageSid": {"SM0001"}, "MessageStatus": {"delivered"}, "AccountSid": {sid}}
	post := func(sig string) ibikitest.Response {
		return s.DoWith("POST", "/webhooks/tw/status", "", status.Encode(), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
	}
	t.Run("an unsigned status callback is refused with a 403, as Twilio's own middleware does", func(t *testing.T) {
		wantError(t, post("bad"), http.StatusForbidden, "forbidden", "")
	})
	t.Run("a signed status callback for an id that is not text is answered, and matches no message", func(t *testing.T) {
		for _, id := range []string{"SM0001\x00", "SM0001\xff", "\xc3("} {
			bad := url.Values{"MessageSid": {id}, "MessageStatus": {"undelivered"}, "ErrorCode": {"300\x0007\xff"}, "AccountSid": {sid}}
			res := s.DoWith("POST", "/webhooks/tw/status", "", bad.Encode(), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twilio.Signature(token, callback, bad)})
			if res.Status != http.StatusOK {
				t.Errorf("callback for %q: %d %s", id, res.Status, res.Body)
			}
		}
		if got := waitStatus(t, s, acme.APIKey, m.ID, "sent"); got.ErrorCode != nil {
			t.Errorf("message = %+v, want it sent without an error", got)
		}
	})
	t.Run("a signed status callback moves the message to delivered", func(t *testing.T) {
		if res := post(twilio.Signature(token, callback, status)); res.Status != http.StatusOK {
			t.Fatalf("callback: %d %s", res.Status, res.Body)
		}
		waitStatus(t, s, acme.APIKey, m.ID, "delivered")
	})
	t.Run("providers are listed without their secrets", func(t *testing.T) {
		res := mustDo(t, s, "GET", "/admin/v1/providers", admin, nil, http.StatusOK)
		if strings.Contains(string(res.Body), token) || !strings.Contains(string(res.Body), `"status_callback_path":"/webhooks/tw/status"`) ||
			!strings.Contains(string(res.Body), `"simulator":true`) {
			t.Errorf("providers = %s", res.Body)
		}
	})
	t.Run("a provider without status callbacks has no status endpoint", func(t *testing.T) {
		wantError(t, s.Do("POST", "/webhooks/sim/status", "", "{}"), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("POST", "/webhooks/nobody/status", "", "{}"), http.StatusNotFound, "not_found", "")
	})
}

func TestBadProvidersFileStopsStart(t *testing.T) {
	for name, body := range map[string]string{
		"an unknown type":      `{"providers":[{"name":"x","type":"pigeon"}]}`,
		"a misspelled field":   `{"providers":[{"name":"x","type":"twilio","acount_sid":"AC1","auth_token":"t"}]}`,
		"a bad name":           `{"providers":[{"name":"X Y","type":"simulator"}]}`,
		"an unknown default":   `{"default":"y","providers":[{"name":"x","type":"simulator"}]}`,
		"no providers":         `{"providers":[]}`,
		"a duplicate name":     `{"providers":[{"name":"x","type":"simulator"},{"name":"x","type":"simulator"}]}`,
		"twilio without token": `{"providers":[{"name":"x","type":"twilio","account_sid":"AC1"}]}`,
		"not JSON":             `providers: x`,
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"IBIKI_DATABASE_URL": ibikitest.DatabaseURL(t), "IBIKI_PROVIDERS_FILE": writeFile(t, body)}
			cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			app, err := cli.Build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err == nil {
				app.Store.Close()
				t.Fatalf("Build accepted %s", body)
			}
			if !strings.Contains(err.Error(), "IBIKI_PROVIDERS_FILE") {
				t.Errorf("error %q does not name the setting", err)
			}
		})
	}
}
