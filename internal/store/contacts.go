package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

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

// ContactFilter narrows a contact list: Q matches the phone, names or business (case
// insensitive, anywhere in the text); Tag keeps the contacts with that tag.
type ContactFilter struct {
	Q, Tag string
}

// Contacts lists a client's contacts newest first, before the cursor id `before` ("" = newest),
// with their tags.
func (r reader) Contacts(ctx context.Context, clientID string, f ContactFilter, before string, limit int) ([]model.Contact, error) {
	q, args := `SELECT `+contactColumns+` FROM contacts WHERE client_id = ?`, []any{clientID}
	if f.Tag != "" {
		q, args = q+` AND id IN (SELECT contact_id FROM contact_tags WHERE client_id = ? AND tag = ?)`, append(args, clientID, f.Tag)
	}
	if f.Q != "" {
		like := "%" + escapeLike(strings.ToLower(f.Q)) + "%"
		q += ` AND (phone LIKE ? ESCAPE '\' OR LOWER(first_name) LIKE ? ESCAPE '\' OR LOWER(last_name) LIKE ? ESCAPE '\'
			OR LOWER(business) LIKE ? ESCAPE '\')`
		args = append(args, like, like, like, like)
	}
	q, args = newestFirst(q, args, before, limit)
	rows, err := r.query(ctx, q, args...)
	cs, err := collect(rows, err, "contacts", scanContact)
	if err != nil || len(cs) == 0 {
		return cs, err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	tags, err := r.ContactTags(ctx, clientID, ids)
	for i := range cs {
		cs[i].Tags = tags[cs[i].ID]
	}
	return cs, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ContactTags returns the tags of some of a client's contacts, by contact id, sorted.
func (r reader) ContactTags(ctx context.Context, clientID string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{clientID}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := r.query(ctx, `SELECT contact_id, tag FROM contact_tags WHERE client_id = ? AND contact_id IN (`+
		placeholders(len(ids))+`) ORDER BY contact_id, tag`, args...)
	pairs, err := collect(rows, err, "contact tags", func(row scanner) ([2]string, error) {
		var p [2]string
		return p, row.Scan(&p[0], &p[1])
	})
	for _, p := range pairs {
		out[p[0]] = append(out[p[0]], p[1])
	}
	return out, err
}

// SetContactTags replaces the tags of one of a client's contacts.
func (tx *Tx) SetContactTags(ctx context.Context, clientID, id string, tags []string) error {
	if _, err := tx.exec(ctx, `DELETE FROM contact_tags WHERE client_id = ? AND contact_id = ?`, clientID, id); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := tx.exec(ctx, `INSERT INTO contact_tags (client_id, tag, contact_id) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, clientID, t, id); err != nil {
			return notFound(err, "tag contact")
		}
	}
	return nil
}

// UpdateContact saves a contact's editable fields (phone, names, business, custom fields); a
// phone the client already has on another contact is ErrConflict.
func (tx *Tx) UpdateContact(ctx context.Context, c model.Contact) error {
	fields, err := fieldsJSON(c.Fields)
	if err != nil {
		return err
	}
	return affected(tx.exec(ctx, `UPDATE contacts SET phone = ?, first_name = ?, last_name = ?, business = ?, fields = ?,
		origin = '', updated_at = ? WHERE client_id = ? AND id = ?`, c.Phone, c.FirstName, c.LastName, c.Business, fields,
		ms(c.UpdatedAt), c.ClientID, c.ID))
}

func fieldsJSON(f map[string]string) (string, error) {
	if len(f) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(f)
	return string(b), err
}

// ContactFieldNames returns the custom field names used by a client's contacts ("" = every
// client), sorted: the columns of an export.
func (r reader) ContactFieldNames(ctx context.Context, clientID string) ([]string, error) {
	q, args := `SELECT fields FROM contacts WHERE fields <> '{}'`, []any(nil)
	if clientID != "" {
		q, args = q+` AND client_id = ?`, []any{clientID}
	}
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, notFound(err, "contact fields")
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var f map[string]string
		if json.Unmarshal([]byte(raw), &f) == nil {
			for k := range f {
				seen[k] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	slices.Sort(names)
	return names, notFound(rows.Err(), "contact fields")
}

// EachContact calls fn for every contact of a client ("" = every client), by client and
// phone, with its tags, reading row by row (exports stream; memory does not grow with the list).
func (r reader) EachContact(ctx context.Context, clientID string, fn func(model.Contact) error) error {
	agg := `group_concat(t.tag, '` + tagSep + `')`
	if r.engine == Postgres {
		agg = `string_agg(t.tag, '` + tagSep + `' ORDER BY t.tag)`
	}
	where, args := "", []any(nil)
	if clientID != "" {
		where, args = `WHERE c.client_id = ?`, []any{clientID}
	}
	rows, err := r.query(ctx, `SELECT `+prefixed("c.", contactColumns)+`, COALESCE(`+agg+`, '')
		FROM contacts c LEFT JOIN contact_tags t ON t.client_id = c.client_id AND t.contact_id = c.id `+where+`
		GROUP BY `+prefixed("c.", contactColumns)+` ORDER BY c.client_id, c.phone`, args...)
	if err != nil {
		return notFound(err, "contacts")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c                model.Contact
			fields, tags     string
			created, updated int64
		)
		if err := rows.Scan(&c.ID, &c.ClientID, &c.Phone, &c.FirstName, &c.LastName, &c.Business, &fields,
			&created, &updated, &tags); err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		if fields != "{}" && fields != "" {
			if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
				return fmt.Errorf("contact %s fields: %w", c.ID, err)
			}
		}
		if tags != "" {
			c.Tags = strings.Split(tags, tagSep)
			slices.Sort(c.Tags)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return notFound(rows.Err(), "contacts")
}

// ContactOwners returns up to limit distinct active clients that have this phone as a contact.
func (r reader) ContactOwners(ctx context.Context, phone string, limit int) ([]string, error) {
	rows, err := r.query(ctx, `SELECT ct.client_id FROM contacts ct JOIN clients c ON c.id = ct.client_id
		WHERE ct.phone = ? AND ct.origin = '' AND c.active ORDER BY ct.client_id LIMIT ?`, phone, limit)
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
	fields, err := fieldsJSON(c.Fields)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ClientID, c.Phone, c.FirstName, c.LastName, c.Business, fields, ms(c.CreatedAt), ms(c.UpdatedAt))
	return notFound(err, "insert contact")
}

// DeleteContact removes one of a client's contacts.
func (tx *Tx) DeleteContact(ctx context.Context, clientID, id string) error {
	return affected(tx.exec(ctx, `DELETE FROM contacts WHERE client_id = ? AND id = ?`, clientID, id))
}

// ContactNamesAmong returns the names of a client's contacts among phones ("First Last"), for
// the phones whose contact has a name.
func (r reader) ContactNamesAmong(ctx context.Context, clientID string, phones []string) (map[string]string, error) {
	out := map[string]string{}
	if len(phones) == 0 {
		return out, nil
	}
	args := []any{clientID}
	for _, p := range phones {
		args = append(args, p)
	}
	rows, err := r.query(ctx, `SELECT phone, first_name, last_name FROM contacts WHERE client_id = ? AND phone IN (`+
		placeholders(len(phones))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var phone, first, last string
		if err := rows.Scan(&phone, &first, &last); err != nil {
			return nil, err
		}
		if name := strings.TrimSpace(first + " " + last); name != "" {
			out[phone] = name
		}
	}
	return out, rows.Err()
}

// FillContactName gives a client's contact for phone the name a provider sent with a message:
// a new contact (id, with the provider's business too; origin 'provider', which the contact
// routing rule does not count) when the client has none for the phone, or the name of one that
// has none. A contact with a name keeps it: the client's book wins.
func (tx *Tx) FillContactName(ctx context.Context, id, clientID, phone string, info model.ContactInfo, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO contacts (`+contactColumns+`, origin) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, 'provider')
		ON CONFLICT (client_id, phone) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
			updated_at = excluded.updated_at
		WHERE contacts.first_name = '' AND contacts.last_name = ''`,
		id, clientID, phone, info.FirstName, info.LastName, info.Business, ms(at), ms(at))
	return err
}
