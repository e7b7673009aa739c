package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const messageColumns = `id, client_id, conversation_id, direction, channel, from_number, to_number, body,
	status, matched_block_word, contact_first_name, contact_last_name, contact_business, provider,
	provider_message_id, routed_by, meta, received_at, created_at`

func scanMessage(row scanner) (model.Message, error) {
	var (
		m                    model.Message
		client, conv, provID sql.NullString
		received, created    int64
	)
	err := row.Scan(&m.ID, &client, &conv, &m.Direction, &m.Channel, &m.From, &m.To, &m.Body,
		&m.Status, &m.MatchedBlockWord, &m.Contact.FirstName, &m.Contact.LastName, &m.Contact.Business,
		&m.Provider, &provID, &m.RoutedBy, &m.Meta, &received, &created)
	m.ClientID, m.ConversationID, m.ProviderMessageID = client.String, conv.String, provID.String
	m.ReceivedAt, m.CreatedAt = fromMS(received), fromMS(created)
	return m, err
}

func (r reader) messages(ctx context.Context, q string, args ...any) ([]model.Message, error) {
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "messages", scanMessage)
}

// Message returns one message owned by clientID. Another client's message is ErrNotFound:
// callers cannot tell the two apart, and neither can an attacker.
func (r reader) Message(ctx context.Context, clientID, id string) (model.Message, error) {
	m, err := scanMessage(r.queryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE client_id = ? AND id = ?`, clientID, id))
	return m, notFound(err, "message "+id)
}

// MessageByID returns a message whoever owns it. It is for jobs and the operator, never for
// code that answers a client.
func (r reader) MessageByID(ctx context.Context, id string) (model.Message, error) {
	m, err := scanMessage(r.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	return m, notFound(err, "message "+id)
}

// MessagesByConversation lists a conversation's messages newest first, before the cursor id.
func (r reader) MessagesByConversation(ctx context.Context, clientID, convID, before string, limit int) ([]model.Message, error) {
	q, args := newestFirst(`SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND client_id = ?`,
		[]any{convID, clientID}, before, limit)
	return r.messages(ctx, q, args...)
}

// UnroutedMessages lists the messages no rule could route, newest first, before the cursor id.
func (r reader) UnroutedMessages(ctx context.Context, before string, limit int) ([]model.Message, error) {
	q, args := newestFirst(`SELECT `+messageColumns+` FROM messages WHERE routed_by = 'unrouted'`, nil, before, limit)
	return r.messages(ctx, q, args...)
}

// InsertInbound stores a message received from a provider, unless one with the same provider
// and provider message id exists; then it returns that one's id and inserted=false.
func (tx *Tx) InsertInbound(ctx context.Context, m model.Message) (id string, inserted bool, err error) {
	res, err := tx.exec(ctx, `INSERT INTO messages (`+messageColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, provider_message_id) DO NOTHING`,
		m.ID, nullable(m.ClientID), nullable(m.ConversationID), m.Direction, m.Channel, m.From, m.To, m.Body,
		m.Status, m.MatchedBlockWord, m.Contact.FirstName, m.Contact.LastName, m.Contact.Business, m.Provider,
		nullable(m.ProviderMessageID), m.RoutedBy, m.Meta, ms(m.ReceivedAt), ms(m.CreatedAt))
	if err != nil {
		return "", false, notFound(err, "insert message")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return m.ID, err == nil, err
	}
	err = tx.queryRow(ctx, `SELECT id FROM messages WHERE provider = ? AND provider_message_id = ?`,
		m.Provider, m.ProviderMessageID).Scan(&id)
	return id, false, notFound(err, "message by provider id")
}

// SetMessageRoute records the routing outcome of an inbound message. Only a message not yet
// routed, or unrouted, can be routed: a second run of the same job changes nothing.
func (tx *Tx) SetMessageRoute(ctx context.Context, id, clientID, convID string, by model.RoutedBy) error {
	return affected(tx.exec(ctx, `UPDATE messages SET client_id = ?, conversation_id = ?, routed_by = ?
		WHERE id = ? AND routed_by IN ('', 'unrouted')`, nullable(clientID), nullable(convID), by, id))
}

// PendingMessages lists, oldest first, messages not yet routed that were received before
// `before`: the ones whose routing a crash (or a full queue) interrupted.
func (r reader) PendingMessages(ctx context.Context, before time.Time, limit int) ([]model.Message, error) {
	return r.messages(ctx, `SELECT `+messageColumns+` FROM messages WHERE routed_by = '' AND received_at < ?
		ORDER BY id LIMIT ?`, ms(before), limit)
}
