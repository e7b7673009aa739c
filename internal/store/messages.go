package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const messageColumns = `id, client_id, conversation_id, direction, channel, from_number, to_number, body,
	status, matched_block_word, contact_first_name, contact_last_name, contact_business, provider,
	provider_message_id, routed_by, meta, segments, encoding, cost_cents, error_code, error_message,
	send_attempts, status_at, campaign_id, received_at, created_at, media, status_callback, valid_until,
	dlt_template_id, dlt_entity_id`

// messageSelect is what reads of a message select: the written columns and sent_at, which the
// send path sets (StartSend) and no insert writes.
const messageSelect = messageColumns + `, sent_at`

func scanMessage(row scanner) (model.Message, error) {
	var (
		m                    model.Message
		client, conv, provID sql.NullString
		statusAt             int64
		received, created    int64
		sent, validUntil     int64
		media                string
	)
	err := row.Scan(&m.ID, &client, &conv, &m.Direction, &m.Channel, &m.From, &m.To, &m.Body,
		&m.Status, &m.MatchedBlockWord, &m.Contact.FirstName, &m.Contact.LastName, &m.Contact.Business,
		&m.Provider, &provID, &m.RoutedBy, &m.Meta, &m.Segments, &m.Encoding, &m.CostCents, &m.ErrorCode,
		&m.ErrorMessage, &m.SendAttempts, &statusAt, &m.CampaignID, &received, &created, &media, &m.StatusCallback, &validUntil,
		&m.DLTTemplateID, &m.DLTEntityID, &sent)
	m.ClientID, m.ConversationID, m.ProviderMessageID = client.String, conv.String, provID.String
	m.StatusAt, m.ReceivedAt, m.CreatedAt, m.SentAt = fromMS(statusAt), fromMS(received), fromMS(created), fromMS(sent)
	m.ValidUntil = fromMS(validUntil)
	if err == nil {
		m.Media, err = model.DecodeMedia(media)
	}
	return m, err
}

func (r reader) messages(ctx context.Context, q string, args ...any) ([]model.Message, error) {
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "messages", scanMessage)
}

// Message returns one message owned by clientID. Another client's message is ErrNotFound:
// callers cannot tell the two apart, and neither can an attacker.
func (r reader) Message(ctx context.Context, clientID, id string) (model.Message, error) {
	m, err := scanMessage(r.queryRow(ctx, `SELECT `+messageSelect+` FROM messages
		WHERE client_id = ? AND id = ?`, clientID, id))
	return m, notFound(err, "message "+id)
}

// MessageByID returns a message whoever owns it. It is for jobs and the operator, never for
// code that answers a client.
func (r reader) MessageByID(ctx context.Context, id string) (model.Message, error) {
	m, err := scanMessage(r.queryRow(ctx, `SELECT `+messageSelect+` FROM messages WHERE id = ?`, id))
	return m, notFound(err, "message "+id)
}

// MessagesByConversation lists a conversation's messages newest first, before the cursor id.
func (r reader) MessagesByConversation(ctx context.Context, clientID, convID, before string, limit int) ([]model.Message, error) {
	q, args := newestFirst(conversationMessages, []any{convID, clientID}, before, limit)
	return r.messages(ctx, q, args...)
}

const conversationMessages = `SELECT ` + messageSelect + ` FROM messages WHERE conversation_id = ? AND client_id = ?`

// UnroutedMessages lists the messages no rule could route, newest first, before the cursor id.
func (r reader) UnroutedMessages(ctx context.Context, before string, limit int) ([]model.Message, error) {
	q, args := newestFirst(`SELECT `+messageSelect+` FROM messages WHERE routed_by = 'unrouted'`, nil, before, limit)
	return r.messages(ctx, q, args...)
}

// InsertInbound stores a message received from a provider, unless one with the same provider
// and provider message id exists; then it returns that one's id and inserted=false.
func (tx *Tx) InsertInbound(ctx context.Context, m model.Message) (id string, inserted bool, err error) {
	res, err := tx.exec(ctx, insertMessage+` ON CONFLICT (provider, provider_message_id, direction) DO NOTHING`,
		messageArgs(m)...)
	if err != nil {
		return "", false, notFound(err, "insert message")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return m.ID, err == nil, err
	}
	err = tx.queryRow(ctx, `SELECT id FROM messages WHERE provider = ? AND provider_message_id = ?
		AND direction = ?`, m.Provider, m.ProviderMessageID, m.Direction).Scan(&id)
	return id, false, notFound(err, "message by provider id")
}

// RepeatOf finds the inbound message a provider delivered under one of providerIDs and received
// between from and to (ok false: none). key names the message whatever its window (package
// inbound): on PostgreSQL its lock is taken first, so that two deliveries of one message, across
// a window's boundary, cannot each miss the other.
func (tx *Tx) RepeatOf(ctx context.Context, provider, key string, providerIDs [2]string, from, to time.Time) (id string, ok bool, err error) {
	if err := tx.lockKey(ctx, "repeat:"+provider+"\x1f"+key); err != nil {
		return "", false, err
	}
	err = tx.queryRow(ctx, `SELECT id FROM messages WHERE provider = ? AND provider_message_id IN (?, ?) AND direction = ?
		AND received_at BETWEEN ? AND ? LIMIT 1`, provider, providerIDs[0], providerIDs[1], model.Inbound, ms(from), ms(to)).Scan(&id)
	if err = notFound(err, "inbound message repeated"); errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	return id, err == nil, err
}

const insertMessage = `INSERT INTO messages (` + messageColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func messageArgs(m model.Message) []any {
	return []any{m.ID, nullable(m.ClientID), nullable(m.ConversationID), m.Direction, m.Channel, m.From, m.To,
		m.Body, m.Status, m.MatchedBlockWord, m.Contact.FirstName, m.Contact.LastName, m.Contact.Business,
		m.Provider, nullable(m.ProviderMessageID), m.RoutedBy, m.Meta, m.Segments, m.Encoding, m.CostCents,
		m.ErrorCode, m.ErrorMessage, m.SendAttempts, ms(m.StatusAt), m.CampaignID, ms(m.ReceivedAt), ms(m.CreatedAt),
		model.EncodeMedia(m.Media), m.StatusCallback, ms(m.ValidUntil), m.DLTTemplateID, m.DLTEntityID}
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
	return r.messages(ctx, `SELECT `+messageSelect+` FROM messages WHERE routed_by = '' AND received_at < ?
		ORDER BY id LIMIT ?`, ms(before), limit)
}

// StartSend marks an outbound message as being handed to its provider and counts the attempt,
// before the provider is called: a send_attempts above one tells a later run that an earlier
// call may have reached the provider. A message past "sending" is ErrNotFound.
func (tx *Tx) StartSend(ctx context.Context, id string, at time.Time) (model.Message, error) {
	// sent_at is this attempt's time, except when an attempt is already in doubt ("sending"):
	// that earlier call may be the one that reached the provider.
	m, err := scanMessage(tx.queryRow(ctx, `UPDATE messages SET status = 'sending', send_attempts = send_attempts + 1,
		status_at = ?, sent_at = CASE WHEN status = 'sending' AND sent_at <> 0 THEN sent_at ELSE ? END
		WHERE id = ? AND status IN ('queued', 'scheduled', 'sending') RETURNING `+messageSelect, ms(at), ms(at), id))
	return m, notFound(err, "start send")
}

// StartSends marks, in one statement, the queued messages among ids that may be sent at once
// as being handed to their provider (StartSend for many): those of one of the providers, whose
// validity period (if any) has not elapsed at `at`, not part of a campaign (a campaign's gate decides when its messages go) and whose recipient has
// not opted out of their client. It returns the messages it marked; the others are left as
// they were, for their send job to judge one by one.
//
// Appending an empty string to provider keeps SQLite's planner off the provider index: without
// statistics, for a long list of ids it preferred walking every message of the provider
// (measured: 130 µs a message on a table of 30,000, against 11 µs through the primary key).
func (tx *Tx) StartSends(ctx context.Context, ids, providers []string, at time.Time) ([]model.Message, error) {
	if len(ids) == 0 || len(providers) == 0 {
		return nil, nil
	}
	n := padded(len(ids))
	args := make([]any, 0, 3+n+len(providers))
	args = append(args, ms(at), ms(at))
	for i := range n {
		args = append(args, ids[min(i, len(ids)-1)])
	}
	args = append(args, ms(at))
	for _, p := range providers {
		args = append(args, p)
	}
	return tx.messages(ctx, startSendsQuery(n, len(providers)), args...)
}

func startSendsQuery(ids, providers int) string {
	return `UPDATE messages SET status = 'sending', send_attempts = send_attempts + 1, status_at = ?, sent_at = ?
		WHERE id IN (` + placeholders(ids) + `) AND status IN ('queued', 'scheduled') AND campaign_id = ''
			AND (valid_until = 0 OR valid_until > ?)
			AND provider || '' IN (` + placeholders(providers) + `)
			AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.client_id = messages.client_id AND o.phone = messages.to_number)
		RETURNING ` + messageSelect
}

// StatusChange is a move of an outbound message from one status to the next.
type StatusChange struct {
	ID                string
	From, To          model.MessageStatus
	ProviderMessageID string // kept when empty
	Sender            string // the sender number the provider reports, kept when empty
	ErrorCode         string
	ErrorMessage      string
	At                time.Time
}

// ChangeStatus applies a status change if the message is still in c.From: of two concurrent
// changes from the same status one wins and the other is ErrNotFound.
func (tx *Tx) ChangeStatus(ctx context.Context, c StatusChange) error {
	// Only the columns the change sets are assigned: an assigned column's indexes are rewritten
	// even when its value stays (on SQLite, a receipt's COALESCE of the provider id deleted and
	// inserted its entry in messages_provider_id).
	var k int
	args := make([]any, 0, 7)
	args = append(args, c.To, ms(c.At))
	if c.From == model.StatusSending && c.To == model.StatusQueued {
		k |= setUnsent // back to "queued" (the provider refused for now): not sent after all
	}
	for i, v := range [...]string{c.ProviderMessageID, c.Sender, c.ErrorCode, c.ErrorMessage} {
		if v != "" {
			k |= 2 << i
			args = append(args, v)
		}
	}
	return affected(tx.exec(ctx, changeStatusSQL[k], append(args, c.ID, c.From)...))
}

// The bits of changeStatusSQL's index: what a status change assigns besides its status.
const (
	setUnsent = 1 << iota
	setProviderID
	setSender
	setErrorCode
	setErrorMessage
)

// changeStatusSQL holds ChangeStatus's statement for each combination of assignments.
var changeStatusSQL = func() (all [32]string) {
	for k := range all {
		q := `UPDATE messages SET status = ?, status_at = ?`
		if k&setUnsent != 0 {
			q += `, sent_at = 0`
		}
		for i, col := range [...]string{"provider_message_id", "from_number", "error_code", "error_message"} {
			if k&(2<<i) != 0 {
				q += `, ` + col + ` = ?`
			}
		}
		all[k] = q + ` WHERE id = ? AND status = ?`
	}
	return all
}()

// OutboundByProviderID finds a sent message by the id its provider gave it.
func (r reader) OutboundByProviderID(ctx context.Context, provider, providerID string) (model.Message, error) {
	m, err := scanMessage(r.queryRow(ctx, `SELECT `+messageSelect+` FROM messages
		WHERE provider = ? AND provider_message_id = ? AND direction = 'outbound'`, provider, providerID))
	return m, notFound(err, "message by provider id")
}

// InsertOutboundSent stores an outbound message already handed to its provider (a reply given
// in the answer to the provider's webhook): it is not queued.
func (tx *Tx) InsertOutboundSent(ctx context.Context, m model.Message) error {
	_, err := tx.exec(ctx, insertMessage, messageArgs(m)...)
	tx.Announce(Announcement{ClientID: m.ClientID, Kind: "message", ConversationID: m.ConversationID, MessageID: m.ID})
	return notFound(err, "insert sent message")
}

// BindProviderID gives an outbound message of a provider that has no provider id yet (a reply
// given in the answer to the provider's webhook) the id the provider's first report names. It
// reports whether it did.
func (tx *Tx) BindProviderID(ctx context.Context, provider, messageID, providerID string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET provider_message_id = ? WHERE id = ? AND provider = ?
		AND direction = 'outbound' AND provider_message_id IS NULL`, providerID, messageID, provider)
	if err != nil {
		return false, notFound(err, "bind provider id")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MessageFilter narrows a client's message list.
type MessageFilter struct {
	Status    model.MessageStatus
	Direction model.Direction
	To        string
	From      string
	Channel   model.Channel
	// SentFrom and SentUntil bound when a message was sent (outbound, SentAt) or received
	// (inbound): SentFrom <= t < SentUntil; zero for no bound. A message not sent yet has no
	// such time and is left out by either bound.
	SentFrom, SentUntil time.Time
}

// ClientMessages lists a client's messages newest first, before the cursor id.
func (r reader) ClientMessages(ctx context.Context, clientID string, f MessageFilter, before string, limit int) ([]model.Message, error) {
	return r.ClientMessagesPage(ctx, clientID, f, MessagePage{Before: before, Limit: limit})
}

// MessagePage is one page of a newest-first list: the messages before the id Before, or (for
// the page before a page) the ones right after the id After, or the ones past the first Offset.
type MessagePage struct {
	Before, After string
	Offset, Limit int
}

// ClientMessagesPage lists a page of a client's messages, newest first.
func (r reader) ClientMessagesPage(ctx context.Context, clientID string, f MessageFilter, p MessagePage) ([]model.Message, error) {
	q, args := `SELECT `+messageSelect+` FROM messages WHERE client_id = ?`, []any{clientID}
	if f.Status != "" {
		q, args = q+` AND status = ?`, append(args, f.Status)
	}
	if f.Direction != "" {
		q, args = q+` AND direction = ?`, append(args, f.Direction)
	}
	if f.To != "" {
		q, args = q+` AND to_number = ?`, append(args, f.To)
	}
	if f.From != "" {
		q, args = q+` AND from_number = ?`, append(args, f.From)
	}
	if f.Channel != "" {
		q, args = q+` AND channel = ?`, append(args, f.Channel)
	}
	const sentAt = ` AND (CASE WHEN direction = 'inbound' THEN received_at ELSE sent_at END)`
	if !f.SentFrom.IsZero() || !f.SentUntil.IsZero() {
		q += ` AND (direction = 'inbound' OR sent_at <> 0)`
	}
	if !f.SentFrom.IsZero() {
		q, args = q+sentAt+` >= ?`, append(args, ms(f.SentFrom))
	}
	if !f.SentUntil.IsZero() {
		q, args = q+sentAt+` < ?`, append(args, ms(f.SentUntil))
	}
	if p.After != "" {
		// The page before: the Limit messages just newer than After, newest first.
		q = `SELECT * FROM (` + q + ` AND id > ? ORDER BY id LIMIT ?) page ORDER BY id DESC`
		return r.messages(ctx, q, append(args, p.After, p.Limit)...)
	}
	q, args = newestFirst(q, args, p.Before, p.Limit)
	if p.Offset > 0 {
		q, args = q+` OFFSET ?`, append(args, p.Offset)
	}
	return r.messages(ctx, q, args...)
}

// UnconfirmedAnswers lists outbound messages handed to their provider in the answer to its
// webhook (their meta starts with metaPrefix) that are "sent" since before `before` (and after
// `since`) with no provider id yet: their provider never said it took them.
func (r reader) UnconfirmedAnswers(ctx context.Context, metaPrefix string, since, before time.Time, limit int) ([]model.Message, error) {
	return r.messages(ctx, `SELECT `+messageSelect+` FROM messages WHERE status = 'sent' AND status_at >= ? AND status_at < ?
		AND provider_message_id IS NULL AND direction = 'outbound' AND meta LIKE ? ESCAPE '\' ORDER BY status_at LIMIT ?`,
		ms(since), ms(before), escapeLike(metaPrefix)+"%", limit)
}

// AwaitingStatus lists outbound messages sent before `before` that have no final status yet.
func (r reader) AwaitingStatus(ctx context.Context, before time.Time, limit int) ([]model.Message, error) {
	return r.messages(ctx, `SELECT `+messageSelect+` FROM messages WHERE status = 'sent' AND status_at < ?
		ORDER BY status_at LIMIT ?`, ms(before), limit)
}
