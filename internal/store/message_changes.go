package store

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// unfinished are the statuses of a message still on its way out: it cannot be redacted or
// deleted (its body is still to be sent).
const unfinished = `('queued', 'scheduled', 'sending')`

// CancelScheduled cancels a client's scheduled message that no send run has claimed yet and
// takes it out of the queue. It is ErrNotFound when there is no such message in that state.
func (tx *Tx) CancelScheduled(ctx context.Context, clientID, id string, at time.Time) (model.Message, error) {
	m, err := scanMessage(tx.queryRow(ctx, `UPDATE messages SET status = 'canceled', status_at = ?, q_state = '',
			q_lease_until = 0, q_locked_by = ''
		WHERE client_id = ? AND id = ? AND status = 'scheduled' AND q_state = 'queued' RETURNING `+messageSelect,
		ms(at), clientID, id))
	return m, notFound(err, "cancel scheduled message "+id)
}

// RedactMessage empties the body and attachments of a client's message that is no longer on its
// way out, and the preview of its conversation when it is the conversation's latest message. It
// is ErrNotFound when there is no such message in such a state.
func (tx *Tx) RedactMessage(ctx context.Context, clientID, id string) (model.Message, error) {
	m, err := scanMessage(tx.queryRow(ctx, `UPDATE messages SET body = '', media = ''
		WHERE client_id = ? AND id = ? AND status NOT IN `+unfinished+` RETURNING `+messageSelect, clientID, id))
	if err != nil {
		return m, notFound(err, "redact message "+id)
	}
	return m, tx.blankPreview(ctx, m)
}

// DeleteMessage deletes a client's message that is no longer on its way out (its ledger entries
// stay: they are the account's history). It is ErrNotFound when there is no such message.
func (tx *Tx) DeleteMessage(ctx context.Context, clientID, id string) (model.Message, error) {
	m, err := scanMessage(tx.queryRow(ctx, `DELETE FROM messages
		WHERE client_id = ? AND id = ? AND status NOT IN `+unfinished+` RETURNING `+messageSelect, clientID, id))
	if err != nil {
		return m, notFound(err, "delete message "+id)
	}
	tx.Announce(Announcement{ClientID: m.ClientID, Kind: "message", ConversationID: m.ConversationID, MessageID: m.ID})
	return m, tx.blankPreview(ctx, m)
}

// blankPreview empties the preview of m's conversation when no later message was added to it.
func (tx *Tx) blankPreview(ctx context.Context, m model.Message) error {
	if m.ConversationID == "" {
		return nil
	}
	at := m.CreatedAt
	if m.ReceivedAt.After(at) {
		at = m.ReceivedAt
	}
	_, err := tx.exec(ctx, `UPDATE conversations SET last_preview = '' WHERE id = ? AND last_message_at <= ?`,
		m.ConversationID, ms(at))
	return err
}
