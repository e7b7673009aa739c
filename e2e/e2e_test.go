// Package e2e tests Ibiki across real processes: the built binary, killed with SIGKILL and
// restarted, several instances on one PostgreSQL, a webhook receiver in the test process.
// IBIKI_TEST_DATABASE selects the engine as everywhere else.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ibiki-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ibiki")
	build := exec.Command("go", "build", "-o", binary, "./cmd/ibiki")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ibiki:", err)
		os.Exit(1)
	}
	http.DefaultClient.Transport = contract
	code := m.Run()
	os.RemoveAll(dir)
	if problems := contract.report(); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "%d requests or answers of the HTTP API do not match the OpenAPI document (internal/api/openapi*.go, docs/openapi.json):\n%s\n",
			len(problems), strings.Join(problems, "\n"))
		code = 1
	}
	os.Exit(code)
}

const adminToken = "e2e-admin-token"

// instance is one `ibiki serve` process.
type instance struct {
	URL  string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start runs `ibiki serve` on dbURL with fast retries and the given extra environment, and
// waits until it is ready. It is killed when the test ends.
func start(t *testing.T, dbURL string, env ...string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.CreateTemp(t.TempDir(), "ibiki-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), "IBIKI_ADDR="+addr, "IBIKI_DATABASE_URL="+dbURL, "IBIKI_ADMIN_TOKEN="+adminToken,
		"IBIKI_ALLOW_PRIVATE_WEBHOOKS=true", "IBIKI_WEBHOOK_RETRY_SCHEDULE=100ms,100ms,100ms,100ms,100ms",
		"IBIKI_JOB_POLL=50ms", "IBIKI_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{URL: "http://" + addr, cmd: cmd, log: logf.Name(), done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(in.done) }()
	t.Cleanup(func() {
		in.kill()
		if t.Failed() {
			b, _ := os.ReadFile(in.log)
			t.Logf("log of %s:\n%s", in.URL, b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(in.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return in
			}
		}
		select {
		case <-in.done:
			b, _ := os.ReadFile(in.log)
			t.Fatalf("ibiki exited before it was ready:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ibiki at %s not ready", in.URL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown code runs.
func (in *instance) kill() {
	_ = in.cmd.Process.Kill()
	<-in.done
}

// post sends a JSON body and returns the status (0 when the request failed) and the body.
func post(url, auth string, body any) (int, []byte) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

type createdClient struct {
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
}

func createClient(t *testing.T, in *instance, id, hook string) createdClient {
	t.Helper()
	status, body := post(in.URL+"/admin/v1/clients", adminToken, map[string]string{"id": id, "name": id, "webhook_url": hook})
	if status != http.StatusCreated {
		t.Fatalf("create client: %d %s", status, body)
	}
	var c createdClient
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// extremePayload is an ExtremeSMS webhook for a client, with a unique message id.
func extremePayload(client, messageID, from string) map[string]any {
	return map[string]any{"from": from, "firstname": "John", "lastname": "Doe", "business": client,
		"message": "reply " + messageID, "status": "received", "matchedBlockWord": nil, "receiver": "+15557654321",
		"usedmodem": "M1", "port": "1", "timestamp": "2025-09-23T23:23:20.887Z", "messageId": messageID}
}

// providerIDs returns the provider message ids delivered to a receiver, once each.
func providerIDs(t *testing.T, rec *ibikitest.Receiver) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range rec.Requests() {
		var ev struct {
			Data struct {
				ProviderMessageID string `json:"provider_message_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatalf("delivery is not JSON: %s", r.Body)
		}
		out[ev.Data.ProviderMessageID]++
	}
	return out
}
