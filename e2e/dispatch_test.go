package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// aggregator is a provider fake that honours Idempotency-Key, as the http adapter is
// configured to expect: a repeated key is answered with the first id and sent nowhere. It
// counts raw requests and distinct sends.
type aggregator struct {
	mu    sync.Mutex
	sends map[string]int // Ibiki message id → requests carrying it
}

func (a *aggregator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ To, Message, Ref string }
	b, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	if json.Unmarshal(b, &in) != nil || key == "" || key != in.Ref {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.sends[key]++
	a.mu.Unlock()
	fmt.Fprintf(w, `{"id":"agg-%s"}`, key)
}

func (a *aggregator) counts() (distinct, requests int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.sends {
		distinct++
		requests += n
	}
	return distinct, requests
}

// The dispatch crash test: kill -9 while a bulk send is being dispatched, restart on
// the same database: every queued message reaches the provider exactly once (a repeat of an
// interrupted call carries the same idempotency key, so the provider sends it once), and
// nobody is charged twice.
func TestKillDuringDispatchSendsEachMessageOnceAndChargesOnce(t *testing.T) {
	agg := &aggregator{sends: map[string]int{}}
	const n = 2000
	srv, db, env, c := startBulkDispatch(t, agg, `"id_path":"id","idempotency_header":"Idempotency-Key","rate":400`, "+1555209", n)
	time.Sleep(1500 * time.Millisecond) // 400/s: some hundreds sent, most still queued
	srv.kill()
	before, _ := agg.counts()
	if before == 0 || before >= n {
		t.Fatalf("%d of %d sent before the kill: the kill did not land during dispatch", before, n)
	}
	again := start(t, db, env...)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if d, _ := agg.counts(); d == n {
			break
		}
		if time.Now().After(deadline) {
			d, r := agg.counts()
			t.Fatalf("after the restart the provider got %d of %d messages (%d requests)", d, n, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // nothing more should come
	distinct, requests := agg.counts()
	t.Logf("%d sent before the kill; %d messages reached the provider in %d requests (%d repeats of interrupted calls, recognised by their key)",
		before, distinct, requests, requests-distinct)
	if requests-distinct > 64 { // only the calls in flight at the kill (IBIKI_SEND_CONCURRENCY) repeat
		t.Errorf("%d repeated calls: more than were in flight", requests-distinct)
	}
	agg.mu.Lock()
	for id, k := range agg.sends {
		if k > 2 {
			t.Errorf("message %s was posted %d times", id, k)
		}
	}
	agg.mu.Unlock()

	var bal struct {
		BalanceCents int64 `json:"balance_cents"`
	}
	getJSON(t, again.URL+"/api/v1/balance", c.APIKey, &bal)
	if bal.BalanceCents != 100000-n {
		t.Errorf("balance = %d, want %d: charged once per message", bal.BalanceCents, 100000-n)
	}
	var ledger struct {
		Data []struct {
			AmountCents int64 `json:"amount_cents"`
		} `json:"data"`
	}
	getJSON(t, again.URL+"/api/v1/ledger?limit=100", c.APIKey, &ledger)
	var sum int64
	for _, e := range ledger.Data {
		sum += e.AmountCents
	}
	if sum != bal.BalanceCents || len(ledger.Data) != 2 {
		t.Errorf("ledger: %d entries summing to %d, balance %d", len(ledger.Data), sum, bal.BalanceCents)
	}
}

// startBulkDispatch starts a server whose one provider, of type http, is fake (settings: the
// entry's fields besides name, type, url and body), with 64 send slots and 5 s leases, and has
// client acme (credits 100,000) send a bulk of n messages to phones prefix+0000…: what the
// dispatch crash tests kill. It returns the server, its database and environment (for the
// restart) and the client.
func startBulkDispatch(t *testing.T, fake http.Handler, settings, prefix string, n int) (*instance, string, []string, createdClient) {
	t.Helper()
	provider := httptest.NewServer(fake)
	t.Cleanup(provider.Close)
	file := filepath.Join(t.TempDir(), "providers.json")
	os.WriteFile(file, []byte(`{"providers":[{"name":"fake","type":"http","url":"`+provider.URL+`/send",
		"body":{"to":"{to}","message":"{body}","ref":"{id}"},`+settings+`}]}`), 0o600)
	db := ibikitest.DatabaseURL(t)
	env := []string{"IBIKI_JOB_LEASE=5s", "IBIKI_WEBHOOK_TIMEOUT=2s", "IBIKI_SEND_CONCURRENCY=64", "IBIKI_PROVIDERS_FILE=" + file}
	srv := start(t, db, env...)
	c := createClient(t, srv, "acme", "")
	if status, body := post(srv.URL+"/admin/v1/clients/acme/credits", adminToken, map[string]any{"amount_cents": 100000}); status != 200 {
		t.Fatalf("top up: %d %s", status, body)
	}
	msgs := make([]map[string]string, n)
	for i := range n {
		msgs[i] = map[string]string{"to": fmt.Sprintf("%s%04d", prefix, i), "body": "flash sale"}
	}
	if status, body := post(srv.URL+"/api/v1/messages/bulk", c.APIKey, map[string]any{"messages": msgs}); status != http.StatusAccepted {
		t.Fatalf("bulk: %d %.300s", status, body)
	}
	return srv, db, env, c
}

func getJSON(t *testing.T, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || json.Unmarshal(b, v) != nil {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
}

// slowProvider is a provider fake that does not recognise repeats (no idempotency key): each
// request is a send. It answers after delay, so that at any moment a dispatch batch is in
// flight. It counts the requests per Ibiki message id.
type slowProvider struct {
	delay time.Duration
	mu    sync.Mutex
	sends map[string]int
}

func (p *slowProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ Ref string }
	b, _ := io.ReadAll(r.Body)
	if json.Unmarshal(b, &in) != nil || in.Ref == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.sends[in.Ref]++
	p.mu.Unlock()
	time.Sleep(p.delay)
	fmt.Fprintf(w, `{"id":"slow-%s"}`, in.Ref)
}

func (p *slowProvider) posts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.sends)
}

// Issue 12's crash test: kill -9 in the middle of a dispatch batch (the claim records the
// attempts of a whole batch in one transaction, then the calls run), against a provider that
// cannot recognise a repeat, restart on the same database: no message reaches the provider
// twice, every message ends sent or, when its call was in flight at the kill, "unknown"
// (send_in_doubt: not resent, since a repeat could reach the phone twice), and every message is
// charged once.
func TestKillInTheMiddleOfADispatchBatchSendsEachOnceAndChargesOnce(t *testing.T) {
	prov := &slowProvider{delay: 100 * time.Millisecond, sends: map[string]int{}}
	const n = 2000
	srv, db, env, c := startBulkDispatch(t, prov, `"id_path":"id"`, "+1555309", n)
	// 64 sends in flight, 100 ms each: about 640 a second, so the kill lands mid-dispatch.
	time.Sleep(1200 * time.Millisecond)
	srv.kill()
	before := len(prov.posts())
	if before == 0 || before >= n {
		t.Fatalf("%d of %d posted before the kill: the kill did not land during dispatch", before, n)
	}
	again := start(t, db, env...)
	var byStatus map[string][]string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		byStatus = messageStatuses(t, again.URL, c.APIKey)
		if len(byStatus["queued"]) == 0 && len(byStatus["sending"]) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart, messages still queued or sending: %d, %d", len(byStatus["queued"]), len(byStatus["sending"]))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // nothing more should be posted
	posts := prov.posts()
	for id, k := range posts {
		if k > 1 {
			t.Errorf("message %s was posted %d times", id, k)
		}
	}
	sent, unknown := len(byStatus["sent"]), len(byStatus["unknown"])
	t.Logf("%d posted before the kill; after the restart %d sent, %d unknown (in flight at the kill, not resent); %d posts in all",
		before, sent, unknown, len(posts))
	if sent+unknown != n {
		t.Errorf("statuses: %v counts, want %d messages sent or unknown", counts(byStatus), n)
	}
	for _, id := range byStatus["sent"] {
		if posts[id] != 1 {
			t.Errorf("message %s is sent but was posted %d times", id, posts[id])
		}
	}
	if unknown == 0 || unknown > 64 {
		t.Errorf("%d messages in doubt: want some (the kill landed with calls in flight) and at most the 64 send slots", unknown)
	}
	var bal struct {
		BalanceCents int64 `json:"balance_cents"`
	}
	getJSON(t, again.URL+"/api/v1/balance", c.APIKey, &bal)
	if bal.BalanceCents != 100000-n {
		t.Errorf("balance = %d, want %d: charged once per message, and a message in doubt is not refunded", bal.BalanceCents, 100000-n)
	}
}

// messageStatuses lists a client's messages' ids by status.
func messageStatuses(t *testing.T, url, key string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	cursor := ""
	for {
		var page struct {
			Data []struct {
				ID, Status string
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		getJSON(t, url+"/api/v1/messages?limit=100&cursor="+cursor, key, &page)
		for _, m := range page.Data {
			out[m.Status] = append(out[m.Status], m.ID)
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
}

func counts(by map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range by {
		out[k] = len(v)
	}
	return out
}
