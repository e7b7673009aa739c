package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const smppAccountColumns = `client_id, password_hash, allowed_ips, max_binds, mo_delivery, rate, created_at, rotated_at`

func scanSMPPAccount(row scanner) (model.SMPPAccount, error) {
	var (
		a                model.SMPPAccount
		created, rotated int64
	)
	err := row.Scan(&a.ClientID, &a.PasswordHash, &a.AllowedIPs, &a.MaxBinds, &a.MODelivery, &a.Rate, &created, &rotated)
	a.CreatedAt, a.RotatedAt = fromMS(created), fromMS(rotated)
	return a, err
}

// SMPPAccount returns a client's SMPP login, or ErrNotFound when it has none.
func (r reader) SMPPAccount(ctx context.Context, clientID string) (model.SMPPAccount, error) {
	a, err := scanSMPPAccount(r.queryRow(ctx, `SELECT `+smppAccountColumns+` FROM smpp_accounts
		WHERE client_id = ?`, clientID))
	return a, notFound(err, "smpp account of "+clientID)
}

// CachedSMPPAccount is SMPPAccount through a cache at most a second old (see cacheTTL), misses
// included: routing asks it for every inbound message, and most clients have no login. A change
// made through this process normally applies at once (PutSMPPAccount drops the entry), and any
// change within cacheTTL. Binds read the login afresh (SMPPAccount).
func (tx *Tx) CachedSMPPAccount(ctx context.Context, clientID string) (model.SMPPAccount, error) {
	c := &tx.caches.smppAccounts
	if a, err, ok := c.fresh(clientID); ok {
		return a, err
	}
	at := time.Now()
	a, err := tx.SMPPAccount(ctx, clientID)
	if err == nil || errors.Is(err, ErrNotFound) {
		// Remembered once committed: a read inside the batch may see a login another function
		// of it wrote and that never commits.
		tx.after = append(tx.after, func() { c.put(clientID, a, err, at) })
	}
	return a, err
}

// PutSMPPAccount creates or replaces a client's SMPP login.
func (tx *Tx) PutSMPPAccount(ctx context.Context, a model.SMPPAccount) error {
	tx.caches.smppAccounts.drop(a.ClientID)
	tx.after = append(tx.after, func() { tx.caches.smppAccounts.drop(a.ClientID) })
	_, err := tx.exec(ctx, `INSERT INTO smpp_accounts (`+smppAccountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_id) DO UPDATE SET password_hash = excluded.password_hash,
			allowed_ips = excluded.allowed_ips, max_binds = excluded.max_binds,
			mo_delivery = excluded.mo_delivery, rate = excluded.rate, rotated_at = excluded.rotated_at`,
		a.ClientID, a.PasswordHash, a.AllowedIPs, a.MaxBinds, a.MODelivery, a.Rate, ms(a.CreatedAt), ms(a.RotatedAt))
	return notFound(err, "put smpp account")
}

// SubmitPart is one part of a concatenated submit_sm of a client: the sender and recipient as
// submitted, the client's reference, how many parts, which this is (1-based), its text, and
// the id the whole message is to have.
type SubmitPart struct {
	ClientID, From, To string
	Ref, Total, Seq    int
	Body               string
	MessageID          string
	ReceivedAt         time.Time
}

func (p SubmitPart) where() (string, []any) {
	return `client_id = ? AND from_number = ? AND to_number = ? AND ref = ? AND total = ?`,
		[]any{p.ClientID, p.From, p.To, p.Ref, p.Total}
}

// AddSubmitPart holds a part of a client's concatenated message (the repeat of a part already
// held changes nothing). Every part of one message gets the message id of the first part held
// (p.MessageID when it is the first); parts are its texts in order once all are held (nil
// before). On PostgreSQL one message's parts are taken one transaction at a time.
func (tx *Tx) AddSubmitPart(ctx context.Context, p SubmitPart) (id string, parts []string, err error) {
	where, args := p.where()
	key := "submit:" + p.ClientID + "\x1f" + p.From + "\x1f" + p.To + "\x1f" + strconv.Itoa(p.Ref) + "/" + strconv.Itoa(p.Total)
	if err := tx.lockKey(ctx, key); err != nil {
		return "", nil, err
	}
	rows, err := tx.query(ctx, `SELECT seq, body, message_id FROM submit_parts WHERE `+where+` ORDER BY seq`, args...)
	type held struct {
		seq      int
		body, id string
	}
	have, err := collect(rows, err, "submit parts", func(r scanner) (h held, err error) {
		return h, r.Scan(&h.seq, &h.body, &h.id)
	})
	if err != nil {
		return "", nil, err
	}
	id = p.MessageID
	if len(have) > 0 {
		id = have[0].id
	}
	seen := false
	for _, h := range have {
		if h.seq == p.Seq {
			seen = true
			break
		}
	}
	if !seen {
		if _, err := tx.exec(ctx, `INSERT INTO submit_parts (client_id, from_number, to_number, ref, total, seq, body,
			message_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ClientID, p.From, p.To, p.Ref, p.Total, p.Seq, p.Body, id, ms(p.ReceivedAt)); err != nil {
			return "", nil, fmt.Errorf("store: hold submit part: %w", err)
		}
		have = append(have, held{seq: p.Seq, body: p.Body, id: id})
	}
	if len(have) < p.Total {
		return id, nil, nil
	}
	parts = make([]string, p.Total)
	for _, h := range have {
		parts[h.seq-1] = h.body
	}
	return id, parts, nil
}

// DropSubmitParts deletes the parts of p's message (sent whole, or refused).
func (tx *Tx) DropSubmitParts(ctx context.Context, p SubmitPart) error {
	where, args := p.where()
	if _, err := tx.exec(ctx, `DELETE FROM submit_parts WHERE `+where, args...); err != nil {
		return fmt.Errorf("store: drop submit parts: %w", err)
	}
	return nil
}

// DropStaleSubmitParts deletes the parts of clients' concatenated messages whose first part
// was held before before and whose other parts never came (at most limit messages' parts); it
// returns the messages dropped, with a part each (their id, client, numbers).
func (tx *Tx) DropStaleSubmitParts(ctx context.Context, before time.Time, limit int) ([]SubmitPart, error) {
	rows, err := tx.query(ctx, `SELECT client_id, from_number, to_number, ref, total, MIN(message_id), MIN(received_at)
		FROM submit_parts GROUP BY client_id, from_number, to_number, ref, total HAVING MIN(received_at) < ? LIMIT ?`, ms(before), limit)
	stale, err := collect(rows, err, "stale submit parts", func(r scanner) (p SubmitPart, err error) {
		var at int64
		err = r.Scan(&p.ClientID, &p.From, &p.To, &p.Ref, &p.Total, &p.MessageID, &at)
		p.ReceivedAt = fromMS(at)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	for _, p := range stale {
		if err := tx.DropSubmitParts(ctx, p); err != nil {
			return nil, err
		}
	}
	return stale, nil
}
