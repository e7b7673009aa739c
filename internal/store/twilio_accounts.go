package store

import (
	"context"

	"github.com/ibiki/ibiki/internal/model"
)

const twilioAccountColumns = `client_id, account_sid, token_sha256, salt, created_at, rotated_at`

func scanTwilioAccount(row scanner) (model.TwilioAccount, error) {
	var (
		a                model.TwilioAccount
		created, rotated int64
	)
	err := row.Scan(&a.ClientID, &a.AccountSID, &a.TokenSHA256, &a.Salt, &created, &rotated)
	a.CreatedAt, a.RotatedAt = fromMS(created), fromMS(rotated)
	return a, err
}

// TwilioAccount returns a client's Twilio-compatible credentials, or ErrNotFound when it has
// none yet.
func (r reader) TwilioAccount(ctx context.Context, clientID string) (model.TwilioAccount, error) {
	a, err := scanTwilioAccount(r.queryRow(ctx, `SELECT `+twilioAccountColumns+` FROM twilio_accounts
		WHERE client_id = ?`, clientID))
	return a, notFound(err, "twilio account of "+clientID)
}

// TwilioAccountBySID returns the credentials with this Account SID and their client (active
// or not: the caller decides).
func (r reader) TwilioAccountBySID(ctx context.Context, sid string) (TwilioLogin, error) {
	var l TwilioLogin
	row := r.queryRow(ctx, `SELECT `+prefixed("t.", twilioAccountColumns)+`, `+prefixed("c.", clientColumns)+`
		FROM twilio_accounts t JOIN clients c ON c.id = t.client_id WHERE t.account_sid = ?`, sid)
	var created, rotated int64
	cdest, cdone := clientDest(&l.Client)
	err := row.Scan(append([]any{&l.Account.ClientID, &l.Account.AccountSID, &l.Account.TokenSHA256, &l.Account.Salt,
		&created, &rotated}, cdest...)...)
	cdone()
	l.Account.CreatedAt, l.Account.RotatedAt = fromMS(created), fromMS(rotated)
	return l, notFound(err, "twilio account "+sid)
}

// TwilioLogin is an Account SID's credentials with their client.
type TwilioLogin struct {
	Account model.TwilioAccount
	Client  model.Client
}

// CachedTwilioAccountBySID is TwilioAccountBySID through a cache at most a second old (every
// request to the Twilio-shaped API authenticates). A rotation or a client change made through
// this process applies at once.
func (s *Store) CachedTwilioAccountBySID(ctx context.Context, sid string) (TwilioLogin, error) {
	return s.caches.twilio.get(ctx, sid, s.TwilioAccountBySID)
}

// PutTwilioAccount stores a client's credentials, replacing its former token (a rotation keeps
// the Account SID the caller passes).
func (tx *Tx) PutTwilioAccount(ctx context.Context, a model.TwilioAccount) error {
	tx.dropKeys()
	_, err := tx.exec(ctx, `INSERT INTO twilio_accounts (`+twilioAccountColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_id) DO UPDATE SET account_sid = excluded.account_sid,
			token_sha256 = excluded.token_sha256, salt = excluded.salt, rotated_at = excluded.rotated_at`,
		a.ClientID, a.AccountSID, a.TokenSHA256, a.Salt, ms(a.CreatedAt), ms(a.RotatedAt))
	return notFound(err, "put twilio account")
}
