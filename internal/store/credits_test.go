package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// statement lists a client's whole ledger, newest first, limit entries a page.
func statement(t *testing.T, s *store.Store, clientID string, limit int) []model.LedgerEntry {
	t.Helper()
	var all []model.LedgerEntry
	before := ""
	for {
		page, err := s.Ledger(t.Context(), clientID, before, limit)
		ibikitest.Must(t, err)
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		before = page[len(page)-1].ID
	}
}

// chained reports the first entry of a newest-first ledger whose balance is not the older
// entry's plus its amount (-1 when they all are).
func chained(es []model.LedgerEntry) int {
	for i := range len(es) - 1 {
		if es[i].BalanceCents != es[i+1].BalanceCents+es[i].AmountCents {
			return i
		}
	}
	return -1
}

// Entries whose ids were made in one order and whose transactions reached the balance in
// another are listed in the order they changed the balance.
func TestLedgerIsListedInTheOrderOfTheBalance(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	ctx := t.Context()
	move := func(id string, amount int64) error {
		return s.InTx(ctx, func(tx *store.Tx) error {
			kind := model.LedgerCharge
			if amount > 0 {
				kind = model.LedgerTopUp
			}
			_, err := tx.MoveCredits(ctx, model.LedgerEntry{ID: id, ClientID: "acme", Kind: kind, AmountCents: amount, CreatedAt: t0})
			return err
		})
	}
	ibikitest.Must(t, move(model.NewID(model.PrefixLedger), 1000))
	const n = 60
	ids := make([]string, n) // all made before any transaction starts
	for i := range ids {
		ids[i] = model.NewID(model.PrefixLedger)
	}
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- { // started newest id first
		wg.Add(1)
		go func() {
			defer wg.Done()
			amount := int64(-3)
			if i%5 == 0 {
				amount = 7
			}
			if err := move(ids[i], amount); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	es := statement(t, s, "acme", 7)
	if len(es) != n+1 {
		t.Fatalf("%d entries listed, want %d", len(es), n+1)
	}
	if i := chained(es); i >= 0 {
		t.Errorf("entry %d (%+d) shows %d over %d", i, es[i].AmountCents, es[i].BalanceCents, es[i+1].BalanceCents)
	}
	if b, err := s.Balance(ctx, "acme"); err != nil || b != es[0].BalanceCents {
		t.Errorf("balance %d (%v), newest entry %d", b, err, es[0].BalanceCents)
	}
}

// A ledger written before entries were numbered keeps its id order, below the entries written
// since, and pages through both.
func TestLedgerFromBeforeTheMigrationIsListedBelowNewEntries(t *testing.T) {
	ctx := context.Background()
	url := ibikitest.DatabaseURL(t)
	migratedTo(t, url, 13)
	db, _ := rawDB(t, url)
	raw := []string{`INSERT INTO clients (id, name, webhook_secret, created_at, updated_at) VALUES ('acme', 'Acme', 'whsec_x', 0, 0)`,
		`INSERT INTO balances (client_id, balance_cents, updated_at) VALUES ('acme', 15, 0)`}
	for i := 1; i <= 5; i++ {
		raw = append(raw, fmt.Sprintf(`INSERT INTO ledger (id, client_id, kind, amount_cents, balance_cents, created_at)
			VALUES ('led_old%d', 'acme', 'top_up', %d, %d, 0)`, i, i, i*(i+1)/2))
	}
	for _, q := range raw {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ibikitest.Must(t, db.Close())

	s, err := store.Open(ctx, url, store.Options{})
	ibikitest.Must(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Migrate(ctx)
	ibikitest.Must(t, err)
	for i := range 3 {
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.MoveCredits(ctx, model.LedgerEntry{ID: fmt.Sprintf("led_new%d", i), ClientID: "acme",
				Kind: model.LedgerCharge, AmountCents: -1, CreatedAt: t0})
			return err
		}))
	}
	es := statement(t, s, "acme", 3)
	var got []string
	for _, e := range es {
		got = append(got, e.ID)
	}
	if want := "[led_new2 led_new1 led_new0 led_old5 led_old4 led_old3 led_old2 led_old1]"; fmt.Sprint(got) != want {
		t.Errorf("listed %v, want %s", got, want)
	}
	if i := chained(es); i >= 0 {
		t.Errorf("entry %s shows %d over %d", es[i].ID, es[i].BalanceCents, es[i+1].BalanceCents)
	}
	t.Run("a cursor that is not one of the client's entries lists nothing", func(t *testing.T) {
		if es, err := s.Ledger(ctx, "acme", "led_nope", 10); err != nil || len(es) != 0 {
			t.Errorf("Ledger after led_nope = %d entries, %v", len(es), err)
		}
	})
}

// Credit moves deferred to the commit are applied for the whole batch at its end: the functions
// whose charges the balance covers commit, the ones that would overdraw it fail alone with an
// *InsufficientCreditsError, and the ledger reads as a statement (each entry's balance is the
// one before it plus its amount, never below zero).
func TestCreditsMovedAtCommitFailOnlyTheFunctionsThatOverdraw(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	entry := func(n int, amount int64) model.LedgerEntry {
		return model.LedgerEntry{ID: fmt.Sprintf("led_%02d", n), ClientID: "acme", Kind: model.LedgerCharge,
			AmountCents: amount, Reference: "test", CreatedAt: t0}
	}
	// Two entries of one batch are written together (on PostgreSQL, one statement).
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		return errors.Join(tx.MoveCreditsAtCommit(ctx, entry(0, 60)), tx.MoveCreditsAtCommit(ctx, entry(10, 40)))
	}))
	// Hold the writers while the charges queue up, so that they share batches.
	release := make(chan struct{})
	var held sync.WaitGroup
	for range 4 {
		held.Go(func() {
			ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { <-release; return nil }))
		})
	}
	const charges = 6
	errs := make([]error, charges)
	var wg sync.WaitGroup
	for i := range charges {
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(tx *store.Tx) error { return tx.MoveCreditsAtCommit(ctx, entry(i+1, -30)) })
		})
	}
	close(release)
	wg.Wait()
	held.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		var ic *store.InsufficientCreditsError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ic):
			refused++
		default:
			t.Fatalf("charge: %v", err)
		}
	}
	if ok != 3 || refused != 3 {
		t.Fatalf("%d charges of 30 committed and %d were refused out of 100, want 3 and 3", ok, refused)
	}
	b, err := s.Balance(ctx, "acme")
	ibikitest.Must(t, err)
	sum, err := s.LedgerSum(ctx, "acme")
	ibikitest.Must(t, err)
	if b != 10 || sum != 10 {
		t.Fatalf("balance %d, ledger sum %d, want 10 and 10", b, sum)
	}
	es := statement(t, s, "acme", 3)
	if len(es) != 5 || chained(es) >= 0 || es[4].BalanceCents != 60 {
		t.Fatalf("ledger %+v: want 5 entries from 60, each the one before plus its amount", es)
	}
	for _, e := range es {
		if e.BalanceCents < 0 {
			t.Fatalf("entry %s shows a balance of %d", e.ID, e.BalanceCents)
		}
		// Entries written at the commit (on PostgreSQL, in one statement) keep every column.
		if e.ClientID != "acme" || e.Kind != model.LedgerCharge || e.Reference != "test" || !e.CreatedAt.Equal(t0) {
			t.Fatalf("entry %+v: want acme's charge \"test\" at %v", e, t0)
		}
	}
}
