package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// InboundPart is one part of a concatenated inbound message: the provider, the phone and the
// number written to, the sender's reference, how many parts, which this is (1-based), its text.
type InboundPart struct {
	Provider, From, To string
	Ref, Total, Seq    int
	Body               string
	ReceivedAt         time.Time
}

// AddInboundPart holds a part (the repeat of a part already held changes nothing) and, when it
// completes its message, returns the parts' texts in order and deletes them. On PostgreSQL the
// message's parts are taken one transaction at a time (an advisory lock on their key), so that
// two parts arriving at once on two binds cannot each miss the other.
func (tx *Tx) AddInboundPart(ctx context.Context, p InboundPart) (bodies []string, complete bool, err error) {
	key := "parts:" + p.Provider + "\x1f" + p.From + "\x1f" + p.To + "\x1f" + strconv.Itoa(p.Ref) + "/" + strconv.Itoa(p.Total)
	if err := tx.lockKey(ctx, key); err != nil {
		return nil, false, err
	}
	if _, err := tx.exec(ctx, `INSERT INTO inbound_parts (provider, from_number, to_number, ref, total, seq, body, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		p.Provider, p.From, p.To, p.Ref, p.Total, p.Seq, p.Body, ms(p.ReceivedAt)); err != nil {
		return nil, false, fmt.Errorf("store: hold inbound part: %w", err)
	}
	rows, err := tx.query(ctx, `SELECT body FROM inbound_parts
		WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ? ORDER BY seq`,
		p.Provider, p.From, p.To, p.Ref, p.Total)
	bodies, err = collect(rows, err, "inbound parts", func(r scanner) (string, error) {
		var b string
		return b, r.Scan(&b)
	})
	if err != nil || len(bodies) < p.Total {
		return nil, false, err
	}
	if _, err := tx.exec(ctx, `DELETE FROM inbound_parts
		WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ?`,
		p.Provider, p.From, p.To, p.Ref, p.Total); err != nil {
		return nil, false, fmt.Errorf("store: drop inbound parts: %w", err)
	}
	return bodies, true, nil
}
