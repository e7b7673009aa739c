package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
)

// The SMPP crash test: a client streams submit_sm into Ibiki's SMPP server (4 binds,
// window 10) while Ibiki is killed with SIGKILL, then restarted on the same database: every
// message whose submit_sm_resp gave an id reaches the provider (a repeat of an interrupted
// call carries the same idempotency key, so the provider sends it once), and no id answered
// is unknown to Ibiki.
func TestKillUnderASubmitStreamLosesNoAnsweredMessage(t *testing.T) {
	agg := &aggregator{sends: map[string]int{}}
	provider := httptest.NewServer(agg)
	t.Cleanup(provider.Close)
	file := filepath.Join(t.TempDir(), "providers.json")
	os.WriteFile(file, []byte(`{"providers":[{"name":"fake","type":"http","url":"`+provider.URL+`/send",
		"body":{"to":"{to}","message":"{body}","ref":"{id}"},"id_path":"id","idempotency_header":"Idempotency-Key"}]}`), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smppAddr := ln.Addr().String()
	ln.Close()
	db := ibikitest.DatabaseURL(t)
	env := []string{"IBIKI_JOB_LEASE=5s", "IBIKI_WEBHOOK_TIMEOUT=2s", "IBIKI_PROVIDERS_FILE=" + file, "IBIKI_SMPP_ADDR=" + smppAddr}
	srv := start(t, db, env...)
	c := createClient(t, srv, "acme", "")
	if status, body := post(srv.URL+"/admin/v1/clients/acme/credits", adminToken, map[string]any{"amount_cents": 1_000_000}); status != 200 {
		t.Fatalf("top up: %d %s", status, body)
	}
	status, body := post(srv.URL+"/admin/v1/clients/acme/smpp-password", adminToken, map[string]any{})
	var login struct{ Password string }
	if status != http.StatusOK || json.Unmarshal(body, &login) != nil {
		t.Fatalf("smpp-password: %d %s", status, body)
	}

	var (
		mu       sync.Mutex
		answered []string
		wg       sync.WaitGroup
	)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for b := range 4 {
		conn, err := net.Dial("tcp", smppAddr)
		if err != nil {
			t.Fatal(err)
		}
		s := session.New(conn, session.Options{Window: 10, Timeout: 5 * time.Second})
		t.Cleanup(s.Close)
		p, err := s.Request(ctx, &pdu.Bind{ID: pdu.BindTransmitter, SystemID: "acme", Password: login.Password, InterfaceVersion: 0x34})
		if err != nil || p.Status != pdu.StatusOK {
			t.Fatalf("bind: %v %v", p.Status, err)
		}
		for w := range 10 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					sm := &pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{TON: 1, NPI: 1, Addr: fmt.Sprintf("1555%d%d%05d", b, w, i%100000)},
						ShortMessage: []byte("stream")}
					p, err := s.Request(ctx, sm)
					if err != nil {
						return // the server is gone
					}
					if r, ok := p.Body.(*pdu.SMResp); ok && p.Status == pdu.StatusOK {
						mu.Lock()
						answered = append(answered, r.MessageID)
						mu.Unlock()
					}
				}
			})
		}
	}
	time.Sleep(1500 * time.Millisecond)
	srv.kill()
	stop()
	wg.Wait()
	mu.Lock()
	ids := append([]string(nil), answered...)
	mu.Unlock()
	if len(ids) < 100 {
		t.Fatalf("only %d submits answered before the kill", len(ids))
	}
	before, _ := agg.counts()
	again := start(t, db, env...)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		agg.mu.Lock()
		missing := 0
		for _, id := range ids {
			if agg.sends[id] == 0 {
				missing++
			}
		}
		agg.mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d messages answered with an id never reached the provider", missing, len(ids))
		}
		time.Sleep(100 * time.Millisecond)
	}
	distinct, requests := agg.counts()
	t.Logf("%d submit_sm answered before the kill (%d at the provider then); after the restart the provider has %d messages in %d requests",
		len(ids), before, distinct, requests)
	for _, id := range ids {
		var m struct{ ID string }
		getJSON(t, again.URL+"/api/v1/messages/"+id, c.APIKey, &m)
		if m.ID != id {
			t.Fatalf("message %s: %+v", id, m)
		}
	}
	agg.mu.Lock()
	defer agg.mu.Unlock()
	for id, k := range agg.sends {
		if k > 2 {
			t.Errorf("message %s was posted %d times", id, k)
		}
	}
}
