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
