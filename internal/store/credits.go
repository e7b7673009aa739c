package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/ibiki/ibiki/internal/model"
)

// InsufficientCreditsError is returned when a charge exceeds the client's balance. Nothing was
// charged.
type InsufficientCreditsError struct {
	BalanceCents int64
	NeededCents  int64
}

func (e *InsufficientCreditsError) Error() string {
	return fmt.Sprintf("insufficient credits: balance %d cents, needed %d", e.BalanceCents, e.NeededCents)
}

// MoveCredits applies one ledger entry: it changes the balance by e.AmountCents and records the
// entry with the balance after it, in the caller's transaction, so the balance always equals the
// sum of the ledger. A debit larger than the balance is an *InsufficientCreditsError and changes
// nothing. It returns the entry as recorded.
//
// The balance row also numbers the client's entries (seq), in the same statement that moves
// the money: whoever holds the row's lock takes the next number, so the ledger listed by seq
// reads as a statement even when concurrent transactions made their entries' ids in another
// order. It costs no extra statement.
func (tx *Tx) MoveCredits(ctx context.Context, e model.LedgerEntry) (model.LedgerEntry, error) {
	balance, seq, err := tx.moveBalance(ctx, e.ClientID, e.AmountCents, 1, ms(e.CreatedAt))
	if errors.Is(err, errOverdrawn) {
		return e, tx.insufficient(ctx, e)
	}
	if err != nil {
		return e, err
	}
	e.BalanceCents = balance
	return e, tx.insertLedger(ctx, e, seq)
}

// moveBalance changes a client's balance by amount and takes n numbers for its ledger entries,
// and returns the balance after it and the last number taken. A debit the balance cannot cover
// is errOverdrawn and changes nothing: the condition in the UPDATE is the check, so two
// concurrent charges cannot both pass it.
func (tx *Tx) moveBalance(ctx context.Context, client string, amount int64, n int, at int64) (balance, seq int64, err error) {
	if amount < 0 {
		err = tx.queryRow(ctx, `UPDATE balances SET balance_cents = balance_cents + ?, seq = seq + ?, updated_at = ?
			WHERE client_id = ? AND balance_cents + ? >= 0 RETURNING balance_cents, seq`,
			amount, n, at, client, amount).Scan(&balance, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, errOverdrawn
		}
	} else {
		err = tx.queryRow(ctx, `INSERT INTO balances (client_id, balance_cents, seq, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (client_id) DO UPDATE SET balance_cents = balances.balance_cents + excluded.balance_cents,
				seq = balances.seq + excluded.seq, updated_at = excluded.updated_at
			RETURNING balance_cents, seq`, client, amount, n, at).Scan(&balance, &seq)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: move credits of %s: %w", client, err)
	}
	return balance, seq, nil
}

// MoveCreditsAtCommit is MoveCredits for a caller that needs nothing back but an error: the
// entry is applied at the end of the batch of transactions it commits with, together with the
// other entries of its client (applyCredits). A charge the balance cannot cover still fails the
// function with an *InsufficientCreditsError (the batch then runs again with every entry applied
// where it was asked, as MoveCredits does). A client's balance row is the one row all of its
// sends write: taken at the end, it is held for one statement and the commit, rather than from
// the first send of a batch to its commit, and on PostgreSQL writers no longer queue behind it.
//
// Lock order on PostgreSQL: a transaction that moves credits this way takes the balance row
// after the order locks it takes (a send's conversation, a failed send's finished job).
func (tx *Tx) MoveCreditsAtCommit(ctx context.Context, e model.LedgerEntry) error {
	if !tx.atCommit {
		_, err := tx.MoveCredits(ctx, e)
		return err
	}
	tx.credits = append(tx.credits, e)
	return nil
}

// applyCredits applies the entries a batch deferred to its end, client by client in the order
// of their ids (so that writers lock balances in one order): one statement moves the balance by
// their sum and takes as many numbers (seq), then the entries are written with the balance after
// each, credits before debits (so that no entry shows a balance below the one the batch ends
// with), otherwise in the order they were asked. A client whose balance the sum would overdraw
// is errOverdrawn.
func (tx *Tx) applyCredits(ctx context.Context, entries []model.LedgerEntry) error {
	entries = slices.Clone(entries)
	debit := func(e model.LedgerEntry) int {
		if e.AmountCents < 0 {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(entries, func(a, b model.LedgerEntry) int {
		return cmp.Or(cmp.Compare(a.ClientID, b.ClientID), cmp.Compare(debit(a), debit(b)))
	})
	for len(entries) > 0 {
		n := 1
		for n < len(entries) && entries[n].ClientID == entries[0].ClientID {
			n++
		}
		if err := tx.applyClientCredits(ctx, entries[:n]); err != nil {
			return err
		}
		entries = entries[n:]
	}
	return nil
}

func (tx *Tx) applyClientCredits(ctx context.Context, entries []model.LedgerEntry) error {
	var total, at int64
	for _, e := range entries {
		total += e.AmountCents
		at = max(at, ms(e.CreatedAt))
	}
	client := entries[0].ClientID
	balance, seq, err := tx.moveBalance(ctx, client, total, len(entries), at)
	if err != nil {
		return err
	}
	balance -= total
	first := seq - int64(len(entries)) + 1
	for i := range entries {
		balance += entries[i].AmountCents
		entries[i].BalanceCents = balance
	}
	if tx.engine != Postgres || len(entries) == 1 {
		for i, e := range entries {
			if err := tx.insertLedger(ctx, e, first+int64(i)); err != nil {
				return err
			}
		}
		return nil
	}
	// PostgreSQL: the entries in one statement (one round trip), as arrays of their columns.
	n := len(entries)
	ids, clients, kinds, refs, msgs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	amounts, balances, ats, seqs := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, e := range entries {
		ids[i], clients[i], kinds[i], refs[i], msgs[i] = e.ID, e.ClientID, string(e.Kind), e.Reference, e.MessageID
		amounts[i], balances[i], ats[i], seqs[i] = e.AmountCents, e.BalanceCents, ms(e.CreatedAt), first+int64(i)
	}
	_, err = tx.exec(ctx, `INSERT INTO ledger (id, client_id, kind, amount_cents, balance_cents, reference,
		message_id, created_at, seq)
		SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]),
			CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]))`,
		ids, clients, kinds, amounts, balances, refs, msgs, ats, seqs)
	return notFound(err, "ledger entries")
}

// insertLedger records a ledger entry with its number in the client's statement.
func (tx *Tx) insertLedger(ctx context.Context, e model.LedgerEntry, seq int64) error {
	_, err := tx.exec(ctx, `INSERT INTO ledger (id, client_id, kind, amount_cents, balance_cents, reference,
		message_id, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ClientID, e.Kind, e.AmountCents, e.BalanceCents, e.Reference, e.MessageID, ms(e.CreatedAt), seq)
	return notFound(err, "ledger entry")
}

// insufficient is the error of a charge e that the balance could not cover.
func (tx *Tx) insufficient(ctx context.Context, e model.LedgerEntry) error {
	bal, err := tx.Balance(ctx, e.ClientID)
	if err != nil {
		return err
	}
	return &InsufficientCreditsError{BalanceCents: bal, NeededCents: -e.AmountCents}
}

// Balance returns a client's credit balance in cents (0 before the first top-up).
func (r reader) Balance(ctx context.Context, clientID string) (int64, error) {
	var b int64
	err := r.queryRow(ctx, `SELECT balance_cents FROM balances WHERE client_id = ?`, clientID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return b, err
}

// LedgerSum returns the sum of a client's ledger: always equal to its balance.
func (r reader) LedgerSum(ctx context.Context, clientID string) (int64, error) {
	var s int64
	err := r.queryRow(ctx, `SELECT COALESCE(SUM(amount_cents), 0) FROM ledger WHERE client_id = ?`, clientID).Scan(&s)
	return s, err
}

func scanLedger(row scanner) (model.LedgerEntry, error) {
	var (
		e  model.LedgerEntry
		at int64
	)
	err := row.Scan(&e.ID, &e.ClientID, &e.Kind, &e.AmountCents, &e.BalanceCents, &e.Reference, &e.MessageID, &at)
	e.CreatedAt = fromMS(at)
	return e, err
}

// Ledger lists a client's ledger as a statement, newest first (by seq; the entries from before
// seq existed have 0, and come last in id order), after the entry whose id is before (the
// cursor; an id that is not one of the client's entries lists nothing).
func (r reader) Ledger(ctx context.Context, clientID, before string, limit int) ([]model.LedgerEntry, error) {
	q, args := `SELECT id, client_id, kind, amount_cents, balance_cents, reference, message_id, created_at
		FROM ledger WHERE client_id = ?`, []any{clientID}
	if before != "" {
		q += ` AND (seq, id) < (SELECT seq, id FROM ledger WHERE client_id = ? AND id = ?)`
		args = append(args, clientID, before)
	}
	q += ` ORDER BY seq DESC, id DESC LIMIT ?`
	rows, err := r.query(ctx, q, append(args, limit)...)
	return collect(rows, err, "ledger", scanLedger)
}
