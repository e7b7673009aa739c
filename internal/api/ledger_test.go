package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// ledgerEntry is a ledger entry as GET /api/v1/ledger lists it.
type ledgerEntry struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	AmountCents  int64  `json:"amount_cents"`
	BalanceCents int64  `json:"balance_cents"`
}

// ledger walks a client's whole ledger through the API, page by page, newest first.
func ledger(t *testing.T, s *ibikitest.Server, key string, limit int) []ledgerEntry {
	t.Helper()
	var all []ledgerEntry
	path := fmt.Sprintf("/api/v1/ledger?limit=%d", limit)
	for {
		var pg struct {
			Data       []ledgerEntry `json:"data"`
			NextCursor *string       `json:"next_cursor"`
		}
		mustDo(t, s, "GET", path, key, nil, http.StatusOK).JSON(t, &pg)
		all = append(all, pg.Data...)
		if pg.NextCursor == nil {
			return all
		}
		path = fmt.Sprintf("/api/v1/ledger?limit=%d&cursor=%s", limit, *pg.NextCursor)
	}
}

// The listed ledger reads as a statement, however many sends and top-ups ran at once: each
// entry's balance is the one before it plus its amount, and the newest is the balance.
func TestLedgerReadsAsAStatement(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 100)
	const senders, sends, topUps = 8, 10, 12
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range sends {
				res := s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{
					"to": fmt.Sprintf("+1555240%04d", i*sends+j), "body": "hello"})
				if res.Status != http.StatusAccepted {
					t.Errorf("send: %d %s", res.Status, res.Body)
				}
			}
		}()
	}
	for range topUps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := s.Do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 5})
			if res.Status != http.StatusOK {
				t.Errorf("top-up: %d %s", res.Status, res.Body)
			}
		}()
	}
	wg.Wait()

	entries := ledger(t, s, acme.APIKey, 7)
	if want := 1 + senders*sends + topUps; len(entries) != want {
		t.Fatalf("the ledger lists %d entries, want %d", len(entries), want)
	}
	slices.Reverse(entries) // oldest first, as a statement reads
	var balance int64
	broken := 0
	for i, e := range entries {
		if e.BalanceCents != balance+e.AmountCents {
			broken++
			if broken <= 3 {
				t.Errorf("entry %d (%s %s %+d) shows a balance of %d after %d", i, e.ID, e.Kind, e.AmountCents, e.BalanceCents, balance)
			}
		}
		balance = e.BalanceCents
	}
	if broken > 0 {
		t.Errorf("%d of %d entries do not follow from the one before", broken, len(entries))
	}
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != balance {
		t.Errorf("the balance is %d, the newest entry says %d", b.BalanceCents, balance)
	}
}
