package store

import (
	"context"
	"database/sql"

	"github.com/ibiki/ibiki/internal/model"
)

func scanNumber(row scanner) (model.Number, error) {
	var (
		n       model.Number
		client  sql.NullString
		created int64
	)
	err := row.Scan(&n.Number, &client, &n.Provider, &created)
	n.ClientID, n.CreatedAt = client.String, fromMS(created)
	return n, err
}

// Number returns one receiving number.
func (r reader) Number(ctx context.Context, number string) (model.Number, error) {
	n, err := scanNumber(r.queryRow(ctx, `SELECT number, client_id, provider, created_at FROM numbers
		WHERE number = ?`, number))
	return n, notFound(err, "number "+number)
}

// Numbers lists receiving numbers in order, after the cursor `after`.
func (r reader) Numbers(ctx context.Context, after string, limit int) ([]model.Number, error) {
	rows, err := r.query(ctx, `SELECT number, client_id, provider, created_at FROM numbers
		WHERE number > ? ORDER BY number LIMIT ?`, after, limit)
	return collect(rows, err, "numbers", scanNumber)
}

// InsertNumber stores a receiving number; an existing number is ErrConflict.
func (tx *Tx) InsertNumber(ctx context.Context, n model.Number) error {
	tx.dropNumber(n.Number)
	_, err := tx.exec(ctx, `INSERT INTO numbers (number, client_id, provider, created_at) VALUES (?, ?, ?, ?)`,
		n.Number, nullable(n.ClientID), n.Provider, ms(n.CreatedAt))
	return notFound(err, "insert number")
}

// UpdateNumber changes the client a number is dedicated to ("" returns it to the pool).
func (tx *Tx) UpdateNumber(ctx context.Context, n model.Number) error {
	tx.dropNumber(n.Number)
	// A number given to another client (or to the pool) does not keep its former client's way
	// of answering calls.
	if _, err := tx.exec(ctx, `DELETE FROM voice_answers WHERE owner = ? AND EXISTS (SELECT 1 FROM numbers
		WHERE number = ? AND COALESCE(client_id, '') <> ?)`, NumberVoiceOwner(n.Number), n.Number, n.ClientID); err != nil {
		return err
	}
	// Nor its service: a service stays with the owner it was made for (the number's new owner
	// may put its own).
	if err := tx.dropServiceOf(ctx, n.Number, n.ClientID, true); err != nil {
		return err
	}
	return affected(tx.exec(ctx, `UPDATE numbers SET client_id = ?, provider = ? WHERE number = ?`,
		nullable(n.ClientID), n.Provider, n.Number))
}

// DeleteNumber removes a receiving number.
func (tx *Tx) DeleteNumber(ctx context.Context, number string) error {
	tx.dropNumber(number)
	if _, err := tx.exec(ctx, `DELETE FROM voice_answers WHERE owner = ?`, NumberVoiceOwner(number)); err != nil {
		return err
	}
	if err := tx.dropServiceOf(ctx, number, "", false); err != nil {
		return err
	}
	return affected(tx.exec(ctx, `DELETE FROM numbers WHERE number = ?`, number))
}

// SendingNumbers lists the numbers a client may send from: its dedicated numbers first, then
// the shared pool, each in number order.
func (r reader) SendingNumbers(ctx context.Context, clientID string) (dedicated, pool []model.Number, err error) {
	rows, err := r.query(ctx, `SELECT number, client_id, provider, created_at FROM numbers
		WHERE client_id = ? OR client_id IS NULL ORDER BY number`, clientID)
	all, err := collect(rows, err, "numbers", scanNumber)
	for _, n := range all {
		if n.ClientID == "" {
			pool = append(pool, n)
		} else {
			dedicated = append(dedicated, n)
		}
	}
	return dedicated, pool, err
}
