package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

func TestHealthAndReadiness(t *testing.T) {
	srv := ibikitest.NewServer(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		if res := srv.Do("GET", path, "", nil); res.Status != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, res.Status, res.Body)
		}
	}
}

// The operations metrics the issue names: inbound by provider and routing rule, deliveries by
// outcome, delivery latency, queue depth and age.
func TestMetricsCountTheTrafficTheyDescribe(t *testing.T) {
	srv := ibikitest.NewServer(t, nil)
	rec := ibikitest.NewReceiver(t)
	srv.CreateClient("acme", rec.URL)
	res := srv.Do("POST", "/webhooks/extremesms", "", map[string]any{"from": "+15551230001", "message": "hi",
		"business": "acme", "messageId": "metrics-1"})
	if res.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", res.Status, res.Body)
	}
	rec.WaitFor(t, 1)
	key := srv.CreateClient("metrics-send", "").APIKey
	srv.Do("POST", "/admin/v1/clients/metrics-send/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 10})
	if res := srv.Do("POST", "/api/v1/messages", key, map[string]any{"to": "+15551230002", "body": "hi"}); res.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", res.Status, res.Body)
	}
	want := []string{
		`ibiki_outbound_accepted_total{provider="simulator"}`,
		`ibiki_outbound_sends_total{outcome="sent",provider="simulator"}`,
		`ibiki_outbound_status_total{provider="simulator",status="delivered"}`,
		`ibiki_inbound_accepted_total{duplicate="false",provider="extremesms"}`,
		`ibiki_inbound_routed_total{provider="extremesms",rule="business"}`,
		`ibiki_webhook_attempts_total{outcome="succeeded"}`,
		`ibiki_webhook_deliveries_total{outcome="succeeded"}`,
		`ibiki_webhook_delivery_latency_seconds_bucket`,
		`ibiki_queue_jobs{kind="webhook",state="queued"}`,
		`ibiki_queue_oldest_job_age_seconds{kind="webhook",state="queued"}`,
		`ibiki_store_commits_total`,
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := string(srv.Do("GET", "/metrics", "", nil).Body)
		var missing []string
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %v", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
