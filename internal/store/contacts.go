package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ibiki/ibiki/internal/model"
)

const contactColumns = `id, client_id, phone, first_name, last_name, business, fields, created_at, updated_at`

func scanContact(row scanner) (model.Contact, error) {
	var (
		c                model.Contact
		fields           string
		created, updated int64
	)
	if err := row.Scan(&c.ID, &c.ClientID, &c.Phone, &c.FirstName, &c.LastName, &c.Business, &fields,
		&created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	if fields != "" && fields != "{}" {
		if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
			return c, fmt.Errorf("contact %s fields: %w", c.ID, err)
		}
	}
	return c, nil
}

// Contact returns one of a client's contacts.
func (r reader) Contact(ctx context.Context, clientID, id string) (model.Contact, error) {
	c, err := scanContact(r.queryRow(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE client_id = ? AND id = ?`, clientID, id))
	return c, notFound(err, "contact "+id)
}

// ContactByPhone returns a client's contact with this phone.
func (r reader) ContactByPhone(ctx context.Context, clientID, phone string) (model.Contact, error) {
	c, err := scanContact(r.queryRow(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE client_id = ? AND phone = ?`, clientID, phone))
	return c, notFound(err, "contact by phone")
}

// Contacts lists a client's contacts newest first, before the cursor id `before` ("" = newest).
func (r reader) Contacts(ctx context.Context, clientID, before string, limit int) ([]model.Contact, error) {
	q, args := `SELECT `+contactColumns+` FROM contacts WHERE client_id = ?`, []any{clientID}
	q, args = newestFirst(q, args, before, limit)
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "contacts", scanContact)
}

// ContactOwners returns up to limit distinct active clients that have this phone as a contact.
func (r reader) ContactOwners(ctx context.Context, phone string, limit int) ([]string, error) {
	rows, err := r.query(ctx, `SELECT ct.client_id FROM contacts ct JOIN clients c ON c.id = ct.client_id
		WHERE ct.phone = ? AND c.active ORDER BY ct.client_id LIMIT ?`, phone, limit)
	if err != nil {
		return nil, notFound(err, "contact owners")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, notFound(err, "contact owners")
		}
		out = append(out, id)
	}
	return out, notFound(rows.Err(), "contact owners")
}

// InsertContact stores a new contact; a phone the client already has is ErrConflict.
func (tx *Tx) InsertContact(ctx context.Context, c model.Contact) error {
	fields := "{}"
	if len(c.Fields) > 0 {
		b, err := json.Marshal(c.Fields)
		if err != nil {
			return err
		}
		fields = string(b)
	}
	_, err := tx.exec(ctx, `INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ClientID, c.Phone, c.FirstName, c.LastName, c.Business, fields, ms(c.CreatedAt), ms(c.UpdatedAt))
	return notFound(err, "insert contact")
}

// DeleteContact removes one of a client's contacts.
func (tx *Tx) DeleteContact(ctx context.Context, clientID, id string) error {
	return affected(tx.exec(ctx, `DELETE FROM contacts WHERE client_id = ? AND id = ?`, clientID, id))
}
