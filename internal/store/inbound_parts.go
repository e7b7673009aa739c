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

// MissingPart stands for the parts of a message that never came, where they belong.
const MissingPart = " [...] "

// StaleInboundParts returns, for at most limit concatenated messages whose first part was held
// before before, one part naming the message (provider, phone, number, reference, total).
func (r reader) StaleInboundParts(ctx context.Context, before time.Time, limit int) ([]InboundPart, error) {
	rows, err := r.query(ctx, `SELECT provider, from_number, to_number, ref, total, MIN(received_at) FROM inbound_parts
		GROUP BY provider, from_number, to_number, ref, total HAVING MIN(received_at) < ? LIMIT ?`, ms(before), limit)
	return collect(rows, err, "stale inbound parts", func(r scanner) (p InboundPart, err error) {
		var at int64
		err = r.Scan(&p.Provider, &p.From, &p.To, &p.Ref, &p.Total, &at)
		p.ReceivedAt = fromMS(at)
		return p, err
	})
}

// AddInboundPart holds a part (the repeat of a part already held changes nothing) and, when it
// completes its message, returns the parts' texts in order and deletes them. On PostgreSQL the
// message's parts are taken one transaction at a time (an advisory lock on their key), so that
// two parts arriving at once on two binds cannot each miss the other.
//
// A part of Seq 0 closes its message as it is (Stale found it waiting too long): bodies are the
// parts held, in order, with MissingPart where one never came, and complete is true when any
// was held.
func (tx *Tx) AddInboundPart(ctx context.Context, p InboundPart) (bodies []string, complete bool, err error) {
	key := "parts:" + p.Provider + "\x1f" + p.From + "\x1f" + p.To + "\x1f" + strconv.Itoa(p.Ref) + "/" + strconv.Itoa(p.Total)
	if err := tx.lockKey(ctx, key); err != nil {
		return nil, false, err
	}
	if p.Seq > 0 {
		if _, err := tx.exec(ctx, `INSERT INTO inbound_parts (provider, from_number, to_number, ref, total, seq, body, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.Provider, p.From, p.To, p.Ref, p.Total, p.Seq, p.Body, ms(p.ReceivedAt)); err != nil {
			return nil, false, fmt.Errorf("store: hold inbound part: %w", err)
		}
	}
	rows, err := tx.query(ctx, `SELECT seq, body FROM inbound_parts
		WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ? ORDER BY seq`,
		p.Provider, p.From, p.To, p.Ref, p.Total)
	type held struct {
		seq  int
		body string
	}
	parts, err := collect(rows, err, "inbound parts", func(r scanner) (h held, err error) {
		return h, r.Scan(&h.seq, &h.body)
	})
	switch {
	case err != nil:
		return nil, false, err
	case p.Seq == 0 && len(parts) == 0:
		return nil, false, nil // taken meanwhile
	case p.Seq > 0 && len(parts) < p.Total:
		return nil, false, nil
	}
	next := 1
	for _, h := range parts {
		if h.seq > next {
			bodies = append(bodies, MissingPart)
		}
		bodies, next = append(bodies, h.body), h.seq+1
	}
	if next <= p.Total {
		bodies = append(bodies, MissingPart)
	}
	if _, err := tx.exec(ctx, `DELETE FROM inbound_parts
		WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ?`,
		p.Provider, p.From, p.To, p.Ref, p.Total); err != nil {
		return nil, false, fmt.Errorf("store: drop inbound parts: %w", err)
	}
	return bodies, true, nil
}
