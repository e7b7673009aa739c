package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/provider"
)

// A Twilio entry without status_callback asks Twilio for delivery reports at
// IBIKI_PUBLIC_URL/webhooks/<name>/status.
func TestTwilioStatusCallbackDefaultsToThePublicURL(t *testing.T) {
	var form url.Values
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(b))
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM1","status":"queued"}`)
	}))
	defer fake.Close()
	file := filepath.Join(t.TempDir(), "providers.json")
	err := os.WriteFile(file, []byte(`{"providers":[{"name":"tw-us","type":"twilio","account_sid":"AC1","auth_token":"tok","base_url":"`+
		fake.URL+`"}]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := load(config.Config{ProvidersFile: file, PublicURL: "https://sms.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := reg.Get("tw-us")
	if _, err := s.Send(context.Background(), provider.Outbound{From: "+15550001", To: "+15550002", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got, want := form.Get("StatusCallback"), "https://sms.example.com/webhooks/tw-us/status"; got != want {
		t.Errorf("StatusCallback = %q, want %q", got, want)
	}
}

// load builds the providers of cfg as the server does, with an HTTP client of its own.
func load(cfg config.Config) (*provider.Registry, error) {
	reg := provider.NewRegistry()
	env := provider.Env{HTTP: &http.Client{}, Region: "US", PublicURL: cfg.PublicURL, Log: slog.New(slog.DiscardHandler)}
	return reg, loadProviders(reg, cfg, env)
}
