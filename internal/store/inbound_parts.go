package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	// KeepFor keeps the parts of the message this part completes that long, to recognise a part
	// delivered again (AddInboundPart); 0 deletes them.
	KeepFor time.Duration
}

// MissingPart stands for the parts of a message that never came, where they belong.
const MissingPart = " [...] "

// StaleInboundParts returns, for at most limit concatenated messages whose first part was held
// before before, one part naming the message (provider, phone, number, reference, total).
func (r reader) StaleInboundParts(ctx context.Context, before time.Time, limit int) ([]InboundPart, error) {
	rows, err := r.query(ctx, `SELECT provider, from_number, to_number, ref, total, MIN(received_at) FROM inbound_parts
		WHERE kept_until = 0 GROUP BY provider, from_number, to_number, ref, total HAVING MIN(received_at) < ? LIMIT ?`, ms(before), limit)
	return collect(rows, err, "stale inbound parts", func(r scanner) (p InboundPart, err error) {
		var at int64
		err = r.Scan(&p.Provider, &p.From, &p.To, &p.Ref, &p.Total, &at)
		p.ReceivedAt = fromMS(at)
		return p, err
	})
}

// AddInboundPart holds a part (the repeat of a part already held changes nothing) and, when it
// completes its message, returns the parts' texts in order. On PostgreSQL the message's parts
// are taken one transaction at a time (an advisory lock on their key), so that two parts
// arriving at once on two binds cannot each miss the other.
//
// The parts of a completed message are deleted, or, when p.KeepFor is set (a provider that gives
// messages no id), kept that long: a part delivered again meanwhile, with the same text, is a
// repeat (nothing held, nothing returned); a part with other text starts a new message on the
// reference (a sender's references come round again).
//
// A part of Seq 0 closes its message as it is (Stale found it waiting too long): bodies are the
// parts held, in order, with MissingPart where one never came, and complete is true when any
// was held.
func (tx *Tx) AddInboundPart(ctx context.Context, p InboundPart) (res PartAdded, err error) {
	key := "parts:" + p.Provider + "\x1f" + p.From + "\x1f" + p.To + "\x1f" + strconv.Itoa(p.Ref) + "/" + strconv.Itoa(p.Total)
	if err := tx.lockKey(ctx, key); err != nil {
		return res, err
	}
	rows, err := tx.query(ctx, `SELECT seq, body, kept_until FROM inbound_parts
		WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ? ORDER BY seq`,
		p.Provider, p.From, p.To, p.Ref, p.Total)
	type held struct {
		seq       int
		body      string
		keptUntil int64
	}
	parts, err := collect(rows, err, "inbound parts", func(r scanner) (h held, err error) {
		return h, r.Scan(&h.seq, &h.body, &h.keptUntil)
	})
	if err != nil {
		return res, err
	}
	if len(parts) > 0 && parts[0].keptUntil != 0 { // the parts of a message already stored
		if p.Seq == 0 {
			return res, nil // stored meanwhile
		}
		for _, h := range parts {
			if h.seq == p.Seq && h.body == p.Body && h.keptUntil >= ms(p.ReceivedAt) {
				return PartAdded{Repeat: true}, nil
			}
		}
		if err := tx.dropInboundParts(ctx, p); err != nil {
			return res, err
		}
		parts = nil
	}
	if p.Seq > 0 {
		i, found := slices.BinarySearchFunc(parts, p.Seq, func(h held, seq int) int { return cmp.Compare(h.seq, seq) })
		if !found {
			if _, err := tx.exec(ctx, `INSERT INTO inbound_parts (provider, from_number, to_number, ref, total, seq, body, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.Provider, p.From, p.To, p.Ref, p.Total, p.Seq, p.Body, ms(p.ReceivedAt)); err != nil {
				return res, fmt.Errorf("store: hold inbound part: %w", err)
			}
			parts = slices.Insert(parts, i, held{seq: p.Seq, body: p.Body})
		}
	}
	switch {
	case p.Seq == 0 && len(parts) == 0:
		return res, nil // taken meanwhile
	case p.Seq > 0 && len(parts) < p.Total:
		return res, nil
	}
	next := 1
	for _, h := range parts {
		if h.seq > next {
			res.Bodies = append(res.Bodies, MissingPart)
		}
		res.Bodies, next = append(res.Bodies, h.body), h.seq+1
	}
	if next <= p.Total {
		res.Bodies = append(res.Bodies, MissingPart)
	}
	res.Complete = true
	if p.KeepFor > 0 && p.Seq > 0 {
		_, err = tx.exec(ctx, `UPDATE inbound_parts SET kept_until = ?
			WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ?`,
			ms(p.ReceivedAt.Add(p.KeepFor)), p.Provider, p.From, p.To, p.Ref, p.Total)
		if err != nil {
			return res, fmt.Errorf("store: keep inbound parts: %w", err)
		}
		return res, nil
	}
	return res, tx.dropInboundParts(ctx, p)
}

// PartAdded is the outcome of AddInboundPart.
type PartAdded struct {
	Bodies   []string // the texts of the parts, in order, when Complete
	Complete bool     // the part completed its message
	Repeat   bool     // the part is one of a message already stored, delivered again
}

func (tx *Tx) dropInboundParts(ctx context.Context, p InboundPart) error {
	_, err := tx.exec(ctx, `DELETE FROM inbound_parts
		WHERE provider = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ?`,
		p.Provider, p.From, p.To, p.Ref, p.Total)
	if err != nil {
		return fmt.Errorf("store: drop inbound parts: %w", err)
	}
	return nil
}

// DropKeptInboundParts deletes the parts of completed messages kept until before `at`.
func (s *Store) DropKeptInboundParts(ctx context.Context, at time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM inbound_parts WHERE kept_until <> 0 AND kept_until < ?`, ms(at)); err != nil {
			return fmt.Errorf("store: drop kept inbound parts: %w", err)
		}
		return nil
	})
}
