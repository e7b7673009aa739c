package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const conversationColumns = `id, client_id, phone, channel, last_inbound_to, last_message_at, last_inbound_at,
	last_outbound_at, last_preview, message_count, unread_count, created_at`

func scanConversation(row scanner) (model.Conversation, error) {
	var (
		c                      model.Conversation
		last, in, out, created int64
	)
	err := row.Scan(&c.ID, &c.ClientID, &c.Phone, &c.Channel, &c.LastInboundTo, &last, &in, &out,
		&c.LastPreview, &c.MessageCount, &c.UnreadCount, &created)
	c.LastMessageAt, c.LastInboundAt, c.LastOutboundAt = fromMS(last), fromMS(in), fromMS(out)
	c.CreatedAt = fromMS(created)
	return c, err
}

// Conversation returns a client's conversation with a phone on a channel.
func (r reader) Conversation(ctx context.Context, clientID, phone string, ch model.Channel) (model.Conversation, error) {
	c, err := scanConversation(r.queryRow(ctx, `SELECT `+conversationColumns+` FROM conversations
		WHERE client_id = ? AND phone = ? AND channel = ?`, clientID, phone, ch))
	return c, notFound(err, "conversation")
}

// ConversationAndContact reads at once what routing an inbound message to a client needs of
// the contact's phone: the id of its conversation with the client on the channel ("" when there
// is none) and the client's contact of that phone (found false when there is none).
func (r reader) ConversationAndContact(ctx context.Context, clientID, phone string, ch model.Channel) (conv string, contact model.ContactInfo, found bool, err error) {
	var (
		id                    sql.NullString
		first, last, business sql.NullString
	)
	err = r.queryRow(ctx, `SELECT (SELECT id FROM conversations WHERE client_id = ? AND phone = ? AND channel = ?),
			c.first_name, c.last_name, c.business
		FROM (SELECT 1 AS one) AS x LEFT JOIN contacts c ON c.client_id = ? AND c.phone = ?`,
		clientID, phone, ch, clientID, phone).Scan(&id, &first, &last, &business)
	if err != nil {
		return "", contact, false, notFound(err, "conversation and contact")
	}
	contact = model.ContactInfo{FirstName: first.String, LastName: last.String, Business: business.String}
	return id.String, contact, first.Valid, nil
}

// ConversationCursor is a position in the newest-first list of conversations.
type ConversationCursor struct {
	LastMessageAt time.Time
	ID            string
}

// ConversationFilter narrows a client's conversation list: to one channel, and to the
// conversations whose contact last wrote in on one receiving number (To).
type ConversationFilter struct {
	Channel model.Channel
	To      string
}

// Conversations lists a client's conversations, most recently active first, after the cursor
// (nil = from the top). A conversation that gets a message while someone pages moves to the top.
func (r reader) Conversations(ctx context.Context, clientID string, f ConversationFilter, after *ConversationCursor, limit int) ([]model.Conversation, error) {
	q, args := `SELECT `+conversationColumns+` FROM conversations WHERE client_id = ?`, []any{clientID}
	if f.Channel != "" {
		q, args = q+` AND channel = ?`, append(args, f.Channel)
	}
	if f.To != "" {
		q, args = q+` AND last_inbound_to = ?`, append(args, f.To)
	}
	if after != nil {
		at := ms(after.LastMessageAt)
		q += ` AND (last_message_at < ? OR (last_message_at = ? AND id < ?))`
		args = append(args, at, at, after.ID)
	}
	q += ` ORDER BY last_message_at DESC, id DESC LIMIT ?`
	rows, err := r.query(ctx, q, append(args, limit)...)
	return collect(rows, err, "conversations", scanConversation)
}

// LastSender returns the active client that most recently sent to this phone.
func (r reader) LastSender(ctx context.Context, phone string) (string, error) {
	var id string
	err := r.queryRow(ctx, `SELECT cv.client_id FROM conversations cv JOIN clients c ON c.id = cv.client_id
		WHERE cv.phone = ? AND cv.last_outbound_at > 0 AND c.active
		ORDER BY cv.last_outbound_at DESC LIMIT 1`, phone).Scan(&id)
	return id, notFound(err, "last sender")
}

// ConversationOwner is a client that has a conversation with a phone.
type ConversationOwner struct {
	ClientID string
	// OnNumber: the phone last wrote to the client on the number asked about.
	OnNumber bool
}

// ConversationOwners returns up to limit active clients that have a conversation with the phone
// (on any channel), each once: those whose conversation last heard from the phone on number to
// first (none when to is ""), then the others, by client id. It reads the conversations_phone
// index.
func (r reader) ConversationOwners(ctx context.Context, phone, to string, limit int) ([]ConversationOwner, error) {
	rows, err := r.query(ctx, `SELECT cv.client_id,
			MAX(CASE WHEN cv.last_inbound_to = ? AND ? <> '' THEN 1 ELSE 0 END) AS on_number
		FROM conversations cv JOIN clients c ON c.id = cv.client_id
		WHERE cv.phone = ? AND c.active
		GROUP BY cv.client_id ORDER BY on_number DESC, cv.client_id LIMIT ?`, to, to, phone, limit)
	return collect(rows, err, "conversation owners", func(row scanner) (ConversationOwner, error) {
		var (
			o  ConversationOwner
			on int
		)
		err := row.Scan(&o.ClientID, &on)
		o.OnNumber = on == 1
		return o, err
	})
}

// TouchInbound creates or updates the conversation an inbound message belongs to and returns
// its id: the message count and unread count go up, and the number the contact wrote to is
// remembered for sticky replies. On PostgreSQL it also takes the lock of the conversation's
// deliveries (their order key is its id), which the message's delivery needs next.
func (tx *Tx) TouchInbound(ctx context.Context, clientID string, m model.Message, newID string) (string, error) {
	if tx.engine != Postgres {
		return tx.touchInboundSQLite(ctx, clientID, m, newID)
	}
	greatest := tx.greatest()
	var id string
	at := ms(m.ReceivedAt)
	idExpr, lockArgs := tx.lockedID(true, "")
	err := tx.queryRow(ctx, `INSERT INTO conversations (id, client_id, phone, channel, last_inbound_to,
		last_message_at, last_inbound_at, last_preview, message_count, unread_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)
		ON CONFLICT (client_id, phone, channel) DO UPDATE SET
			last_inbound_to = CASE WHEN excluded.last_inbound_to <> '' THEN excluded.last_inbound_to
				ELSE conversations.last_inbound_to END,
			last_message_at = `+greatest+`(conversations.last_message_at, excluded.last_message_at),
			last_inbound_at = `+greatest+`(conversations.last_inbound_at, excluded.last_inbound_at),
			last_preview = excluded.last_preview,
			message_count = conversations.message_count + 1,
			unread_count = conversations.unread_count + 1
		RETURNING `+idExpr,
		append([]any{newID, clientID, m.From, m.Channel, m.To, at, at, preview(m.Body), at}, lockArgs...)...).Scan(&id)
	if err != nil {
		return "", notFound(err, "touch conversation")
	}
	tx.took(id)
	return id, nil
}

// touchInboundSQLite is TouchInbound on SQLite: an insert that gives way to an existing
// conversation, then (when one existed) a probe and an update by id. The one writer makes them
// as good as the upsert, and none of them costs what a RETURNING clause does there (a temporary
// table at every execution). The insert comes first: TouchInbound is called for a conversation
// that routing did not find.
func (tx *Tx) touchInboundSQLite(ctx context.Context, clientID string, m model.Message, newID string) (string, error) {
	at := ms(m.ReceivedAt)
	res, err := tx.exec(ctx, `INSERT INTO conversations (id, client_id, phone, channel, last_inbound_to,
		last_message_at, last_inbound_at, last_preview, message_count, unread_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?) ON CONFLICT (client_id, phone, channel) DO NOTHING`,
		newID, clientID, m.From, m.Channel, m.To, at, at, preview(m.Body), at)
	if err != nil {
		return "", notFound(err, "touch conversation")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if err == nil {
			tx.fresh = append(tx.fresh, newID)
		}
		return newID, err
	}
	c, err := tx.Conversation(ctx, clientID, m.From, m.Channel)
	if err != nil {
		return "", err
	}
	err = affected(tx.exec(ctx, touchKnownSQLite, m.To, m.To, at, at, preview(m.Body), c.ID, clientID, m.From, m.Channel))
	return c.ID, notFound(err, "touch conversation")
}

// TouchKnownInbound is TouchInbound for a message whose conversation was found before (its id
// read beforehand): an update by id, cheaper than the upsert and its RETURNING. Should the
// conversation not be the client's, it falls back to TouchInbound, which may create it with id.
func (tx *Tx) TouchKnownInbound(ctx context.Context, clientID string, m model.Message, id string) (string, error) {
	at := ms(m.ReceivedAt)
	args := []any{m.To, m.To, at, at, preview(m.Body), id, clientID, m.From, m.Channel}
	if tx.engine != Postgres {
		// SQLite: the count of rows changed says whether it was there; a RETURNING clause would
		// cost a temporary table at every execution.
		err := affected(tx.exec(ctx, touchKnownSQLite, args...))
		switch {
		case err == nil:
			return id, nil
		case !errors.Is(err, ErrNotFound):
			return "", err
		}
		return tx.TouchInbound(ctx, clientID, m, id)
	}
	// The update returns the id so as to take the deliveries' lock on the way (TouchInbound).
	idExpr, lockArgs := tx.lockedID(true, "")
	var got string
	err := tx.queryRow(ctx, touchKnownPostgres+idExpr, append(args, lockArgs...)...).Scan(&got)
	switch {
	case err == nil:
		tx.took(got)
		return got, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", notFound(err, "touch conversation")
	}
	return tx.TouchInbound(ctx, clientID, m, id)
}

// touchKnown is TouchKnownInbound's update; %[1]s is the engine's greatest.
const touchKnown = `UPDATE conversations SET
		last_inbound_to = CASE WHEN ? <> '' THEN ? ELSE last_inbound_to END,
		last_message_at = %[1]s(last_message_at, ?),
		last_inbound_at = %[1]s(last_inbound_at, ?),
		last_preview = ?,
		message_count = message_count + 1,
		unread_count = unread_count + 1
	WHERE id = ? AND client_id = ? AND phone = ? AND channel = ?`

var (
	touchKnownSQLite   = fmt.Sprintf(touchKnown, "max")
	touchKnownPostgres = fmt.Sprintf(touchKnown, "GREATEST") + ` RETURNING `
)

// greatest names the SQL function of the larger of two values on the engine.
func (tx *Tx) greatest() string {
	if tx.engine == Postgres {
		return "GREATEST"
	}
	return "max"
}

// preview is the start of a message shown in conversation lists.
func preview(body string) string {
	const max = 140
	n := 0
	for i := range body {
		if n == max {
			return body[:i]
		}
		n++
	}
	return body
}

// TouchOutbound creates or updates the conversation a client's outbound message belongs to and
// returns its id and the number the contact last wrote to (the sticky sender, "" if none). The
// last outbound time feeds the "last sender" routing rule. When the message's send job will be
// ordered in its conversation (ordered), it also takes, on PostgreSQL, the lock of its order key
// (SendOrderKey), which the job's enqueueing needs next.
func (tx *Tx) TouchOutbound(ctx context.Context, clientID string, m model.Message, newID string, ordered bool) (id, lastInboundTo string, err error) {
	id, lastInboundTo, _, err = tx.touchOutbound(ctx, clientID, m, newID, ordered, false)
	return id, lastInboundTo, err
}

// TouchOutboundScreened is TouchOutbound that also reports, read in the same statement, whether
// the recipient is on the client's suppression list (optedOut): the caller then fails its
// function, which undoes the conversation's write. It saves the opt-out's own read, a round trip
// on PostgreSQL.
func (tx *Tx) TouchOutboundScreened(ctx context.Context, clientID string, m model.Message, newID string, ordered bool) (id, lastInboundTo string, optedOut bool, err error) {
	return tx.touchOutbound(ctx, clientID, m, newID, ordered, true)
}

func (tx *Tx) touchOutbound(ctx context.Context, clientID string, m model.Message, newID string, ordered, screen bool) (id, lastInboundTo string, optedOut bool, err error) {
	greatest := tx.greatest()
	at := ms(m.CreatedAt)
	if tx.engine != Postgres && !screen {
		return tx.touchOutboundSQLite(ctx, clientID, m, newID)
	}
	idExpr, lockArgs := tx.lockedID(ordered, SendOrderKey(""))
	args := append([]any{newID, clientID, m.To, m.Channel, at, at, preview(m.Body), at}, lockArgs...)
	screened := ", 0"
	if screen {
		screened = `, CASE WHEN EXISTS (SELECT 1 FROM optouts o WHERE o.client_id = ? AND o.phone = ?) THEN 1 ELSE 0 END`
		args = append(args, clientID, m.To)
	}
	var opted int
	err = tx.queryRow(ctx, `INSERT INTO conversations (id, client_id, phone, channel, last_message_at,
		last_outbound_at, last_preview, message_count, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (client_id, phone, channel) DO UPDATE SET
			last_message_at = `+greatest+`(conversations.last_message_at, excluded.last_message_at),
			last_outbound_at = `+greatest+`(conversations.last_outbound_at, excluded.last_outbound_at),
			last_preview = excluded.last_preview,
			message_count = conversations.message_count + 1
		RETURNING `+idExpr+`, last_inbound_to`+screened, args...).Scan(&id, &lastInboundTo, &opted)
	if err != nil {
		return "", "", false, notFound(err, "touch conversation")
	}
	if ordered {
		tx.took(SendOrderKey(id))
	}
	return id, lastInboundTo, opted == 1, nil
}

// touchOutboundSQLite is touchOutbound on SQLite, as touchInboundSQLite: for a conversation
// this process has not met yet (the cache of conversation ids, a hint only), an insert that
// gives way to an existing one first; for one it met, or when the insert gave way, a probe and
// an update by id.
func (tx *Tx) touchOutboundSQLite(ctx context.Context, clientID string, m model.Message, newID string) (id, lastInboundTo string, optedOut bool, err error) {
	at := ms(m.CreatedAt)
	key := convKey(clientID, m.To, m.Channel)
	if _, known := tx.caches.convIDs.get(key); known {
		id, lastInboundTo, err = tx.touchOutboundKnown(ctx, key, clientID, m, at)
		if !errors.Is(err, ErrNotFound) {
			return id, lastInboundTo, false, err
		}
	}
	res, err := tx.exec(ctx, `INSERT INTO conversations (id, client_id, phone, channel, last_message_at,
		last_outbound_at, last_preview, message_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (client_id, phone, channel) DO NOTHING`, newID, clientID, m.To, m.Channel, at, at, preview(m.Body), at)
	if err != nil {
		return "", "", false, notFound(err, "touch conversation")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if err == nil {
			// New: neither a delivery nor a send of it can be ahead of this function's first.
			tx.fresh, tx.freshSends = append(tx.fresh, newID), append(tx.freshSends, newID)
		}
		tx.after = append(tx.after, func() { tx.caches.convIDs.put(key, newID) })
		return newID, "", false, err
	}
	id, lastInboundTo, err = tx.touchOutboundKnown(ctx, key, clientID, m, at)
	return id, lastInboundTo, false, err
}

// touchOutboundKnown is touchOutboundSQLite's update of an existing conversation (key its
// entry in the cache of conversation ids): ErrNotFound when there is none.
func (tx *Tx) touchOutboundKnown(ctx context.Context, key, clientID string, m model.Message, at int64) (id, lastInboundTo string, err error) {
	c, err := tx.Conversation(ctx, clientID, m.To, m.Channel)
	if err != nil {
		return "", "", err
	}
	err = affected(tx.exec(ctx, `UPDATE conversations SET last_message_at = max(last_message_at, ?),
		last_outbound_at = max(last_outbound_at, ?), last_preview = ?, message_count = message_count + 1
		WHERE id = ?`, at, at, preview(m.Body), c.ID))
	if err != nil {
		return "", "", notFound(err, "touch conversation")
	}
	tx.after = append(tx.after, func() { tx.caches.convIDs.put(key, c.ID) })
	return c.ID, c.LastInboundTo, nil
}

// LastInboundNumbers returns, for those of the phones that have a conversation with the client
// on SMS, the number each last wrote to (the sticky sender). It reads in chunks, for bulk sends.
func (r reader) LastInboundNumbers(ctx context.Context, clientID string, phones []string) (map[string]string, error) {
	out := make(map[string]string)
	const chunk = 500
	for len(phones) > 0 {
		n := min(chunk, len(phones))
		args := []any{clientID, model.ChannelSMS}
		for _, p := range phones[:n] {
			args = append(args, p)
		}
		rows, err := r.query(ctx, `SELECT phone, last_inbound_to FROM conversations WHERE client_id = ? AND channel = ?
			AND last_inbound_to <> '' AND phone IN (`+placeholders(n)+`)`, args...)
		pairs, err := collect(rows, err, "conversations", func(row scanner) ([2]string, error) {
			var p [2]string
			return p, row.Scan(&p[0], &p[1])
		})
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			out[p[0]] = p[1]
		}
		phones = phones[n:]
	}
	return out, nil
}

// ConversationByID returns one of a client's conversations by id.
func (r reader) ConversationByID(ctx context.Context, clientID, id string) (model.Conversation, error) {
	c, err := scanConversation(r.queryRow(ctx, `SELECT `+conversationColumns+` FROM conversations
		WHERE client_id = ? AND id = ?`, clientID, id))
	return c, notFound(err, "conversation")
}

// SearchConversations lists a client's conversations whose phone or last message contains q,
// most recently active first.
func (r reader) SearchConversations(ctx context.Context, clientID, q string, limit int) ([]model.Conversation, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	rows, err := r.query(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE client_id = ?
		AND (phone LIKE ? ESCAPE '\' OR LOWER(last_preview) LIKE LOWER(?) ESCAPE '\')
		ORDER BY last_message_at DESC, id DESC LIMIT ?`, clientID, like, like, limit)
	return collect(rows, err, "conversations", scanConversation)
}

// MarkConversationRead sets a conversation's unread count to zero.
func (tx *Tx) MarkConversationRead(ctx context.Context, clientID, id string) error {
	_, err := tx.exec(ctx, `UPDATE conversations SET unread_count = 0 WHERE client_id = ? AND id = ? AND unread_count <> 0`, clientID, id)
	return err
}
