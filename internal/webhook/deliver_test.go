package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

const admin = ibikitest.AdminToken

// delivery is a delivery as GET /api/v1/webhook/deliveries shows it.
type delivery struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	MessageID      *string `json:"message_id"`
	AttemptCount   int     `json:"attempt_count"`
	LastStatusCode *int    `json:"last_status_code"`
	LastError      *string `json:"last_error"`
	Attempts       []struct {
		StatusCode *int   `json:"status_code"`
		URL        string `json:"url"`
	} `json:"attempts"`
	Payload json.RawMessage `json:"payload"`
}

// send posts an ExtremeSMS message tagged with the client and returns the message id.
func send(t *testing.T, s *ibikitest.Server, from, client, body string) string {
	t.Helper()
	res := s.Do("POST", "/webhooks/extremesms", "", map[string]any{"from": from, "business": client, "message": body,
		"receiver": "+15557654321", "messageId": fmt.Sprintf("%s-%s-%d", from, body, time.Now().UnixNano())})
	var out struct{ ID string }
	if res.JSON(t, &out); res.Status != http.StatusOK || out.ID == "" {
		t.Fatalf("inbound: %d %s", res.Status, res.Body)
	}
	return out.ID
}

// deliveryOf waits until the message's delivery has the status, and returns it.
func deliveryOf(t *testing.T, s *ibikitest.Server, key, messageID, status string) delivery {
	t.Helper()
	var found delivery
	eventually(t, "a "+status+" delivery of "+messageID, func() bool {
		var page struct{ Data []delivery }
		s.Do("GET", "/api/v1/webhook/deliveries", key, nil).JSON(t, &page)
		i := slices.IndexFunc(page.Data, func(d delivery) bool { return d.MessageID != nil && *d.MessageID == messageID })
		if i < 0 || page.Data[i].Status != status {
			return false
		}
		found = page.Data[i]
		return true
	})
	return found
}

func statuses(d delivery) []int {
	var out []int
	for _, a := range d.Attempts {
		if a.StatusCode == nil {
			out = append(out, 0)
		} else {
			out = append(out, *a.StatusCode)
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bodyID returns the message id in a delivered event.
func bodyID(t *testing.T, b []byte) string {
	t.Helper()
	var ev struct{ Data struct{ ID, Body string } }
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("event %s: %v", b, err)
	}
	return ev.Data.ID
}

func TestDeliveryRetriesServerErrorsWithOneWebhookID(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	rcv.Answer(500, 500)
	c := s.CreateClient("acme", rcv.URL)
	id := send(t, s, "+15551234567", "acme", "hello")
	d := deliveryOf(t, s, c.APIKey, id, "succeeded")
	got := rcv.Requests()
	if len(got) != 3 {
		t.Fatalf("receiver got %d attempts, want exactly 3", len(got))
	}
	wh, err := standardwebhooks.NewWebhook(c.WebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r.Header.Get("webhook-id") != d.ID {
			t.Errorf("attempt %d has webhook-id %q, want %q", i+1, r.Header.Get("webhook-id"), d.ID)
		}
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("attempt %d does not verify with the client's secret: %v", i+1, err)
		}
		if !bytes.Equal(r.Body, got[0].Body) || bodyID(t, r.Body) != id {
			t.Errorf("attempt %d sent another body: %s", i+1, r.Body)
		}
	}
	if st := statuses(d); d.AttemptCount != 3 || !slices.Equal(st, []int{500, 500, 200}) {
		t.Errorf("delivery log: %d attempts with statuses %v, want 500, 500, 200", d.AttemptCount, st)
	}
	t.Run("one delivery shows its exact payload", func(t *testing.T) {
		var one delivery
		s.Do("GET", "/api/v1/webhook/deliveries/"+d.ID, c.APIKey, nil).JSON(t, &one)
		if !bytes.Equal(one.Payload, got[0].Body) || len(one.Attempts) != 3 || one.Attempts[0].URL != rcv.URL {
			t.Errorf("delivery %+v", one)
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var (
		mu  sync.Mutex
		arr []time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		arr = append(arr, time.Now())
		if len(arr) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(srv.Close)
	s := ibikitest.NewServer(t, nil) // retries after 50 ms unless the receiver asks for longer
	c := s.CreateClient("acme", srv.URL)
	d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "acme", "slow down"), "succeeded")
	mu.Lock()
	defer mu.Unlock()
	if len(arr) != 2 || !slices.Equal(statuses(d), []int{429, 200}) {
		t.Fatalf("%d arrivals, statuses %v; want 429 then 200", len(arr), statuses(d))
	}
	// Without Retry-After the retry would come after about 50 ms; the bound leaves slack for a
	// slow machine between the scheduling and the first arrival.
	if gap := arr[1].Sub(arr[0]); gap < 700*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestGoneDisablesTheEndpointUntilItsURLIsSaved(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	rcv.Answer(410)
	c := s.CreateClient("acme", rcv.URL)
	clientDisabled := func() bool {
		var cl struct {
			WebhookDisabledAt *string `json:"webhook_disabled_at"`
		}
		s.Do("GET", "/admin/v1/clients/acme", admin, nil).JSON(t, &cl)
		return cl.WebhookDisabledAt != nil
	}

	d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "acme", "one"), "failed")
	if d.AttemptCount != 1 || d.LastStatusCode == nil || *d.LastStatusCode != 410 {
		t.Errorf("delivery after 410: %+v", d)
	}
	if !clientDisabled() {
		t.Fatal("the client's webhook is not disabled after a 410")
	}
	t.Run("the next delivery fails at once with the reason", func(t *testing.T) {
		d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "acme", "two"), "failed")
		if d.AttemptCount != 0 || d.LastError == nil || !strings.Contains(*d.LastError, "disabled") {
			t.Errorf("delivery to a disabled endpoint: %+v", d)
		}
		if n := len(rcv.Requests()); n != 1 {
			t.Errorf("the disabled endpoint got %d requests, want 1", n)
		}
	})
	t.Run("saving the URL again enables the endpoint", func(t *testing.T) {
		if res := s.Do("PATCH", "/admin/v1/clients/acme", admin, map[string]string{"webhook_url": rcv.URL}); res.Status != 200 {
			t.Fatalf("PATCH: %d %s", res.Status, res.Body)
		}
		if clientDisabled() {
			t.Fatal("still disabled after PATCH")
		}
		id := send(t, s, "+15551234567", "acme", "three")
		deliveryOf(t, s, c.APIKey, id, "succeeded")
		if got := rcv.Requests(); bodyID(t, got[len(got)-1].Body) != id {
			t.Errorf("the last request was not the new message")
		}
	})
}

func TestPermanentAnswersFailAfterOneAttempt(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	for _, tt := range []struct {
		name   string
		status int
	}{
		{"400 Bad Request is the receiver's considered answer", 400},
		{"404 Not Found is not retried", 404},
		{"a redirect is not followed", 302},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rcv := ibikitest.NewReceiver(t)
			rcv.Answer(tt.status)
			id := fmt.Sprintf("c%d", tt.status)
			c := s.CreateClient(id, rcv.URL)
			d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", id, "bad"), "failed")
			if d.AttemptCount != 1 || !slices.Equal(statuses(d), []int{tt.status}) || len(rcv.Requests()) != 1 {
				t.Errorf("delivery %+v; receiver got %d requests, want 1", d, len(rcv.Requests()))
			}
		})
	}
}

func TestTimeoutsAndRefusedConnectionsAreRetried(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_WEBHOOK_TIMEOUT": "300ms"})
	t.Run("an attempt that times out is retried", func(t *testing.T) {
		var (
			mu sync.Mutex
			n  int
		)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				select { // hang past the timeout
				case <-release:
				case <-r.Context().Done():
				}
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c := s.CreateClient("sleepy", srv.URL)
		d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "sleepy", "wake up"), "succeeded")
		if st := statuses(d); !slices.Equal(st, []int{0, 200}) {
			t.Errorf("attempt statuses %v, want a timeout (no status) then 200", st)
		}
	})
	t.Run("a refused connection is retried until the schedule ends", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close() // its port now refuses connections
		c := s.CreateClient("gone", closed.URL)
		d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "gone", "anyone?"), "failed")
		if d.AttemptCount != 4 || !slices.Equal(statuses(d), []int{0, 0, 0, 0}) || d.LastError == nil {
			t.Errorf("delivery %+v, want 4 attempts without a status", d)
		}
	})
}

func TestPrivateAddressIsRefusedAtConnectTime(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_ALLOW_PRIVATE_WEBHOOKS": "false"})
	rcv := ibikitest.NewReceiver(t)
	c := s.CreateClient("acme", "")
	// A URL that passed the check when it was saved (a public name that now resolves to a
	// private address, DNS rebinding) is written straight to the store.
	ibikitest.Must(t, s.Store.InTx(context.Background(), func(tx *store.Tx) error {
		cl, err := tx.Client(context.Background(), "acme")
		if err != nil {
			return err
		}
		cl.WebhookURL = rcv.URL
		return tx.UpdateClient(context.Background(), cl)
	}))
	d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "acme", "hi"), "failed")
	if d.AttemptCount != 1 || d.LastError == nil || !strings.Contains(*d.LastError, "non-public") {
		t.Errorf("delivery %+v, want one refused attempt naming the non-public address", d)
	}
	if n := len(rcv.Requests()); n != 0 {
		t.Errorf("the private endpoint got %d requests", n)
	}
}

func TestExhaustedDeliveryIsListedAndReplayed(t *testing.T) {
	s := ibikitest.NewServer(t, nil) // a schedule of 3 retries: 4 attempts
	rcv := ibikitest.NewReceiver(t)
	rcv.Answer(500, 503, 502, 500)
	c := s.CreateClient("acme", rcv.URL)
	d := deliveryOf(t, s, c.APIKey, send(t, s, "+15551234567", "acme", "persistent"), "failed")
	if !slices.Equal(statuses(d), []int{500, 503, 502, 500}) || len(rcv.Requests()) != 4 {
		t.Fatalf("attempts %v, receiver got %d; want 4 failures", statuses(d), len(rcv.Requests()))
	}
	listed := func(status string) bool {
		var page struct{ Data []delivery }
		res := s.Do("GET", "/admin/v1/deliveries?status="+status, admin, nil)
		res.JSON(t, &page)
		return slices.ContainsFunc(page.Data, func(x delivery) bool { return x.ID == d.ID })
	}
	if !listed("failed") || listed("succeeded") || listed("pending") {
		t.Error("the failed delivery is not listed under failed only")
	}
	if res := s.Do("GET", "/admin/v1/deliveries?status=lost", admin, nil); res.Status != 400 || !strings.Contains(string(res.Body), `"param":"status"`) {
		t.Errorf("a bad status filter: %d %s", res.Status, res.Body)
	}

	t.Run("a replay delivers it with the same webhook-id", func(t *testing.T) {
		if res := s.Do("POST", "/admin/v1/deliveries/"+d.ID+"/replay", admin, nil); res.Status != http.StatusAccepted {
			t.Fatalf("replay: %d %s", res.Status, res.Body)
		}
		got := rcv.WaitFor(t, 5)[4]
		if got.Header.Get("webhook-id") != d.ID {
			t.Errorf("replay webhook-id %q, want %q", got.Header.Get("webhook-id"), d.ID)
		}
		deliveryOf(t, s, c.APIKey, *d.MessageID, "succeeded")
	})
	t.Run("replaying an unknown delivery is not found", func(t *testing.T) {
		if res := s.Do("POST", "/admin/v1/deliveries/evt_nope/replay", admin, nil); res.Status != http.StatusNotFound {
			t.Errorf("replay: %d %s", res.Status, res.Body)
		}
	})
}

func TestReplayOfPendingDeliveryIsConflict(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_WEBHOOK_RETRY_SCHEDULE": "1h"})
	rcv := ibikitest.NewReceiver(t)
	rcv.Answer(500)
	c := s.CreateClient("acme", rcv.URL)
	id := send(t, s, "+15551234567", "acme", "wait")
	var d delivery
	eventually(t, "the first attempt", func() bool { d = deliveryOf(t, s, c.APIKey, id, "pending"); return d.AttemptCount == 1 })
	res := s.Do("POST", "/admin/v1/deliveries/"+d.ID+"/replay", admin, nil)
	if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), `"code":"delivery_pending"`) {
		t.Errorf("replay of a pending delivery: %d %s", res.Status, res.Body)
	}
}

func TestDeliveriesKeepConversationOrder(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	rcv.Answer(500) // the first message's first attempt fails: the others must wait for it
	s.CreateClient("acme", rcv.URL)
	var want []string
	for i := range 5 {
		want = append(want, send(t, s, "+15551234567", "acme", fmt.Sprintf("m%d", i+1)))
	}
	got := rcv.WaitFor(t, 6)
	var order []string
	for _, r := range got[1:] { // every request after the first got 200
		if id := bodyID(t, r.Body); !slices.Contains(order, id) {
			order = append(order, id)
		}
	}
	if first := bodyID(t, got[0].Body); first != want[0] || !slices.Equal(order, want) {
		t.Errorf("failed first %s, then arrivals %v; want %s, then %v", first, order, want[0], want)
	}
}

func TestSlowClientDoesNotDelayAnother(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{
		"IBIKI_WEBHOOK_CLIENT_CONCURRENCY": "2",
		"IBIKI_WEBHOOK_TIMEOUT":            "30s",
		"IBIKI_JOB_LEASE":                  "70s",
	})
	var (
		mu               sync.Mutex
		hanging, through int
	)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hanging++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		hanging, through = hanging-1, through+1
		mu.Unlock()
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the handlers
	fast := ibikitest.NewReceiver(t)
	s.CreateClient("slow", slow.URL)
	s.CreateClient("fast", fast.URL)

	for i := range 4 { // four conversations, so only the per-client cap holds them back
		send(t, s, fmt.Sprintf("+1555200000%d", i), "slow", "are you there")
	}
	eventually(t, "the slow client's endpoint to hang on 2 requests", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return hanging == 2
	})
	for i := range 5 {
		send(t, s, fmt.Sprintf("+1555300000%d", i), "fast", "quick")
	}
	fast.WaitFor(t, 5)
	mu.Lock()
	defer mu.Unlock()
	if hanging != 2 || through != 0 {
		t.Errorf("slow endpoint: %d hanging, %d through; want 2 hanging (the per-client cap) and none through", hanging, through)
	}
}

func TestDeliveriesOfADeactivatedClientWaitUntilItIsActiveAgain(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rec := ibikitest.NewReceiver(t)
	c := s.CreateClient("acme", rec.URL)
	rec.Answer(http.StatusInternalServerError) // the first attempt fails; the retry finds the client inactive
	id := send(t, s, "+15551230001", "acme", "held")
	rec.WaitFor(t, 1)
	if res := s.Do("PATCH", "/admin/v1/clients/acme", ibikitest.AdminToken, map[string]any{"active": false}); res.Status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	time.Sleep(500 * time.Millisecond) // ten retry intervals of the test schedule
	if n := len(rec.Requests()); n != 1 {
		t.Fatalf("an inactive client got %d requests, want only the first attempt", n)
	}
	if res := s.Do("PATCH", "/admin/v1/clients/acme", ibikitest.AdminToken, map[string]any{"active": true}); res.Status != http.StatusOK {
		t.Fatalf("activate: %d %s", res.Status, res.Body)
	}
	got := rec.WaitFor(t, 2)
	if bodyID(t, got[1].Body) != id {
		t.Fatalf("the held delivery did not go out after reactivation")
	}
	d := deliveryOf(t, s, c.APIKey, id, "succeeded")
	if d.AttemptCount != 2 {
		t.Fatalf("attempt_count = %d, want 2: holding spends no attempts", d.AttemptCount)
	}
}
