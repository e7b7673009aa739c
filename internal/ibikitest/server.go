package ibikitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ibiki/ibiki/internal/cli"
	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/store"
)

// AdminToken is the admin token of test servers.
const AdminToken = "test-admin-token"

// Server is a whole Ibiki, wired like `ibiki serve`, on a fresh database, behind httptest.
type Server struct {
	URL   string
	Store *store.Store
	// App is the server's parts (its services), for tests that call one directly.
	App *cli.App
	t   testing.TB
}

// NewServer starts an Ibiki for the test with private webhook addresses allowed, fast retries
// (IBIKI_WEBHOOK_RETRY_SCHEDULE=50ms,50ms,50ms) and a short poll; env overrides any IBIKI_*
// setting. It stops when the test ends, and fails it if a request or an answer of its API did
// not match the OpenAPI document.
func NewServer(t testing.TB, env map[string]string) *Server {
	t.Helper()
	vars := map[string]string{
		"IBIKI_DATABASE_URL":           DatabaseURL(t),
		"IBIKI_ADMIN_TOKEN":            AdminToken,
		"IBIKI_ALLOW_PRIVATE_WEBHOOKS": "true",
		"IBIKI_WEBHOOK_RETRY_SCHEDULE": "50ms,50ms,50ms",
		"IBIKI_WEBHOOK_TIMEOUT":        "2s",
		"IBIKI_JOB_POLL":               "20ms",
		"IBIKI_SHUTDOWN_TIMEOUT":       "2s",
	}
	for k, v := range env {
		vars[k] = v
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	app := BuildApp(t, vars, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { app.Run(ctx); close(done) }()
	// The API's requests and answers are held to the OpenAPI document (openapi.go).
	hs := httptest.NewServer(new(contract).check(t, app.Handler))
	t.Cleanup(func() {
		app.Hub.Close() // end open dashboard event streams, or Close waits for them
		hs.Close()
		cancel()
		<-done
	})
	return &Server{URL: hs.URL, Store: app.Store, App: app, t: t}
}

// BuildApp builds the server from vars (its environment) without running it: no job runner,
// so a benchmark of its handler measures the request alone. Its store closes when the test
// ends, after the test's own later clean-ups.
func BuildApp(t testing.TB, vars map[string]string, log *slog.Logger) *cli.App {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	app, err := cli.Build(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { app.Store.Close() })
	return app
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// Response is an HTTP answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d %q is not JSON: %v", r.Status, r.Body, err)
	}
}

// Do sends a request; body may be a string, []byte or any value to encode as JSON (nil for
// none). auth is the bearer credential ("" for none).
func (s *Server) Do(method, path, auth string, body any) Response {
	s.t.Helper()
	return s.DoWith(method, path, auth, body, nil)
}

// DoWith is Do with extra request headers.
func (s *Server) DoWith(method, path, auth string, body any, header map[string]string) Response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// CreatedClient is what creating a client returns.
type CreatedClient struct {
	ID            string `json:"id"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// CreateClient creates a client through the admin API.
func (s *Server) CreateClient(id, webhookURL string) CreatedClient {
	s.t.Helper()
	res := s.Do("POST", "/admin/v1/clients", AdminToken, map[string]string{"id": id, "name": "Client " + id, "webhook_url": webhookURL})
	if res.Status != http.StatusCreated {
		s.t.Fatalf("create client %s: %d %s", id, res.Status, res.Body)
	}
	var c CreatedClient
	res.JSON(s.t, &c)
	return c
}
