package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const autoReplyColumns = `id, client_id, channel, number, text, outside_text, hours, window_ms, created_at, updated_at`

func scanAutoReply(row scanner) (model.AutoReply, error) {
	var (
		a                        model.AutoReply
		hours                    string
		window, created, updated int64
	)
	err := row.Scan(&a.ID, &a.ClientID, &a.Channel, &a.Number, &a.Text, &a.OutsideText, &hours, &window, &created, &updated)
	if err == nil && hours != "" {
		a.Hours = &model.BusinessHours{}
		if err = json.Unmarshal([]byte(hours), a.Hours); err != nil {
			err = fmt.Errorf("stored hours of %s: %w", a.ID, err)
		}
	}
	a.Window, a.CreatedAt, a.UpdatedAt = time.Duration(window)*time.Millisecond, fromMS(created), fromMS(updated)
	return a, err
}

// AutoReplies lists a client's auto-reply rules, the most general first.
func (r reader) AutoReplies(ctx context.Context, clientID string) ([]model.AutoReply, error) {
	rows, err := r.query(ctx, `SELECT `+autoReplyColumns+` FROM auto_replies WHERE client_id = ?
		ORDER BY number, channel, id`, clientID)
	return collect(rows, err, "auto replies", scanAutoReply)
}

// CachedAutoReplies is AutoReplies through a short cache: routing reads it for every message.
func (s *Store) CachedAutoReplies(ctx context.Context, clientID string) ([]model.AutoReply, error) {
	return s.caches.autoReplies.get(ctx, clientID, func(ctx context.Context, id string) ([]model.AutoReply, error) {
		return s.AutoReplies(ctx, id)
	})
}

// PutAutoReply stores a rule, replacing the client's rule for the same channel and number (which
// keeps its id and its contacts' windows). It returns the rule as stored.
func (tx *Tx) PutAutoReply(ctx context.Context, a model.AutoReply) (model.AutoReply, error) {
	hours := ""
	if a.Hours != nil {
		b, _ := json.Marshal(a.Hours) // strings only: always encodes
		hours = string(b)
	}
	tx.dropAutoReplies(a.ClientID)
	out, err := scanAutoReply(tx.queryRow(ctx, `INSERT INTO auto_replies (`+autoReplyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_id, channel, number) DO UPDATE SET text = excluded.text,
			outside_text = excluded.outside_text, hours = excluded.hours, window_ms = excluded.window_ms,
			updated_at = excluded.updated_at
		RETURNING `+autoReplyColumns, a.ID, a.ClientID, a.Channel, a.Number, a.Text, a.OutsideText, hours,
		a.Window.Milliseconds(), ms(a.CreatedAt), ms(a.UpdatedAt)))
	return out, notFound(err, "auto reply")
}

// DeleteAutoReply removes one of a client's rules; another client's is ErrNotFound.
func (tx *Tx) DeleteAutoReply(ctx context.Context, clientID, id string) error {
	tx.dropAutoReplies(clientID)
	if _, err := tx.exec(ctx, `DELETE FROM auto_reply_sent WHERE rule_id IN
		(SELECT id FROM auto_replies WHERE id = ? AND client_id = ?)`, id, clientID); err != nil {
		return err
	}
	return affected(tx.exec(ctx, `DELETE FROM auto_replies WHERE id = ? AND client_id = ?`, id, clientID))
}

// TakeAutoReplyWindow records that phone gets rule's reply at `at`, unless it got one within
// window: false then, and nothing changes. Check and record are one statement, so two messages
// of one contact racing each other get one reply.
func (tx *Tx) TakeAutoReplyWindow(ctx context.Context, ruleID, phone string, at time.Time, window time.Duration) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO auto_reply_sent (rule_id, phone, sent_at) VALUES (?, ?, ?)
		ON CONFLICT (rule_id, phone) DO UPDATE SET sent_at = excluded.sent_at
		WHERE auto_reply_sent.sent_at <= ?`, ruleID, phone, ms(at), ms(at.Add(-window)))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// dropAutoReplies forgets a client's cached rules now and again after the commit.
func (tx *Tx) dropAutoReplies(clientID string) {
	tx.caches.autoReplies.drop(clientID)
	tx.after = append(tx.after, func() { tx.caches.autoReplies.drop(clientID) })
}
