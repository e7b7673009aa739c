package store

import (
	"cmp"
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const clientColumns = `id, name, webhook_url, active, webhook_secret, previous_secret,
	previous_secret_until, webhook_disabled_at, rate_cents, quiet_hours, created_at, updated_at, webhook_format, dlt_required`

func scanClient(row scanner) (model.Client, error) {
	var c model.Client
	dest, done := clientDest(&c)
	err := row.Scan(dest...)
	done()
	return c, err
}

// clientDest is what a scan of clientColumns reads into c, and the step that completes c after
// the scan (a row that selects more than a client scans dest among its other columns).
func clientDest(c *model.Client) (dest []any, done func()) {
	var prevUntil, disabled, created, updated int64
	return []any{&c.ID, &c.Name, &c.WebhookURL, &c.Active, &c.WebhookSecret, &c.PreviousSecret,
			&prevUntil, &disabled, &c.RateCents, &c.QuietHours, &created, &updated, &c.WebhookFormat, &c.DLTRequired}, func() {
			c.PreviousSecretUntil, c.WebhookDisabledAt = fromMS(prevUntil), fromMS(disabled)
			c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		}
}

// Client returns the client with the given id.
func (r reader) Client(ctx context.Context, id string) (model.Client, error) {
	c, err := scanClient(r.queryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	return c, notFound(err, "client "+id)
}

// Clients lists clients by id, after the id `after` (a cursor; "" starts at the beginning).
func (r reader) Clients(ctx context.Context, after string, limit int) ([]model.Client, error) {
	rows, err := r.query(ctx, `SELECT `+clientColumns+` FROM clients WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	return collect(rows, err, "clients", scanClient)
}

// InsertClient stores a new client; an existing id is ErrConflict.
func (tx *Tx) InsertClient(ctx context.Context, c model.Client) error {
	tx.dropClient(c.ID)
	_, err := tx.exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.WebhookURL, c.Active, c.WebhookSecret, c.PreviousSecret,
		ms(c.PreviousSecretUntil), ms(c.WebhookDisabledAt), c.RateCents, c.QuietHours, ms(c.CreatedAt), ms(c.UpdatedAt),
		cmp.Or(c.WebhookFormat, model.DeliveryStandard), c.DLTRequired)
	return notFound(err, "insert client")
}

// UpdateClient saves the editable fields of a client (name, webhook URL and its disabled mark,
// active, secrets).
func (tx *Tx) UpdateClient(ctx context.Context, c model.Client) error {
	tx.dropClient(c.ID)
	return affected(tx.exec(ctx, `UPDATE clients SET name = ?, webhook_url = ?, active = ?,
		webhook_secret = ?, previous_secret = ?, previous_secret_until = ?, webhook_disabled_at = ?,
		rate_cents = ?, quiet_hours = ?, updated_at = ?, webhook_format = ?, dlt_required = ? WHERE id = ?`,
		c.Name, c.WebhookURL, c.Active, c.WebhookSecret, c.PreviousSecret, ms(c.PreviousSecretUntil),
		ms(c.WebhookDisabledAt), c.RateCents, c.QuietHours, ms(c.UpdatedAt), cmp.Or(c.WebhookFormat, model.DeliveryStandard), c.DLTRequired, c.ID))
}

// DisableWebhook marks the client's endpoint disabled (it answered 410 Gone), unless the URL
// changed since the delivery that saw the 410 started.
func (tx *Tx) DisableWebhook(ctx context.Context, clientID, url string, at time.Time) error {
	tx.dropClient(clientID)
	_, err := tx.exec(ctx, `UPDATE clients SET webhook_disabled_at = ?, updated_at = ?
		WHERE id = ? AND webhook_url = ?`, ms(at), ms(at), clientID, url)
	return err
}

// InsertAPIKey stores the hash of a new API key for a client.
func (tx *Tx) InsertAPIKey(ctx context.Context, k model.APIKey, hash string) error {
	_, err := tx.exec(ctx, `INSERT INTO api_keys (id, client_id, key_hash, prefix, created_at)
		VALUES (?, ?, ?, ?, ?)`, k.ID, k.ClientID, hash, k.Prefix, ms(k.CreatedAt))
	return err
}

// RevokeAPIKeys revokes every live key of a client (rotation).
func (tx *Tx) RevokeAPIKeys(ctx context.Context, clientID string, at time.Time) error {
	tx.dropKeys()
	_, err := tx.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE client_id = ? AND revoked_at = 0`,
		ms(at), clientID)
	return err
}

// ClientByKeyHash returns the active client owning a live API key with this hash.
func (r reader) ClientByKeyHash(ctx context.Context, hash string) (model.Client, error) {
	c, err := scanClient(r.queryRow(ctx, `SELECT `+prefixed("c.", clientColumns)+`
		FROM api_keys k JOIN clients c ON c.id = k.client_id
		WHERE k.key_hash = ? AND k.revoked_at = 0 AND c.active`, hash))
	return c, notFound(err, "api key")
}
