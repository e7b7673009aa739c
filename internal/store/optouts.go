package store

import (
	"context"

	"github.com/ibiki/ibiki/internal/model"
)

// UpsertOptOut records that a phone opted out of a client's messages; a repeat keeps the first
// record's time and takes the latest source and keyword.
func (tx *Tx) UpsertOptOut(ctx context.Context, o model.OptOut) error {
	_, err := tx.exec(ctx, `INSERT INTO optouts (client_id, phone, source, keyword, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (client_id, phone) DO UPDATE SET source = excluded.source, keyword = excluded.keyword`,
		o.ClientID, o.Phone, o.Source, o.Keyword, ms(o.CreatedAt))
	return err
}

// OptOut returns a client's opt-out record for a phone.
func (r reader) OptOut(ctx context.Context, clientID, phone string) (model.OptOut, error) {
	var (
		o       model.OptOut
		created int64
	)
	err := r.queryRow(ctx, `SELECT client_id, phone, source, keyword, created_at FROM optouts
		WHERE client_id = ? AND phone = ?`, clientID, phone).Scan(&o.ClientID, &o.Phone, &o.Source, &o.Keyword, &created)
	o.CreatedAt = fromMS(created)
	return o, notFound(err, "opt-out")
}

// DeleteOptOut removes a phone from a client's suppression list; it reports whether it was there.
func (tx *Tx) DeleteOptOut(ctx context.Context, clientID, phone string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM optouts WHERE client_id = ? AND phone = ?`, clientID, phone)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// OptOuts lists a client's suppression list by phone, after the cursor phone.
func (r reader) OptOuts(ctx context.Context, clientID, after string, limit int) ([]model.OptOut, error) {
	rows, err := r.query(ctx, `SELECT client_id, phone, source, keyword, created_at FROM optouts
		WHERE client_id = ? AND phone > ? ORDER BY phone LIMIT ?`, clientID, after, limit)
	return collect(rows, err, "opt-outs", func(row scanner) (model.OptOut, error) {
		var (
			o       model.OptOut
			created int64
		)
		err := row.Scan(&o.ClientID, &o.Phone, &o.Source, &o.Keyword, &created)
		o.CreatedAt = fromMS(created)
		return o, err
	})
}

// OptedOutAmong reports which of phones are on a client's suppression list.
func (r reader) OptedOutAmong(ctx context.Context, clientID string, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(phones) == 0 {
		return out, nil
	}
	args := []any{clientID}
	for _, p := range phones {
		args = append(args, p)
	}
	rows, err := r.query(ctx, `SELECT phone FROM optouts WHERE client_id = ? AND phone IN (`+placeholders(len(phones))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out[p] = true
	}
	return out, rows.Err()
}
