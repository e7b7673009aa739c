package store

import (
	"context"

	"github.com/ibiki/ibiki/internal/model"
)

const dltTemplateColumns = `id, client_id, template_id, entity_id, sender, text, created_at`

func scanDLTTemplate(row scanner) (model.DLTTemplate, error) {
	var (
		t       model.DLTTemplate
		created int64
	)
	err := row.Scan(&t.ID, &t.ClientID, &t.TemplateID, &t.EntityID, &t.Sender, &t.Text, &created)
	t.CreatedAt = fromMS(created)
	return t, err
}

// DLTTemplates lists a client's DLT templates newest first, before the cursor id.
func (r reader) DLTTemplates(ctx context.Context, clientID, before string, limit int) ([]model.DLTTemplate, error) {
	q, args := newestFirst(`SELECT `+dltTemplateColumns+` FROM dlt_templates WHERE client_id = ?`, []any{clientID}, before, limit)
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "dlt templates", scanDLTTemplate)
}

// AllDLTTemplates lists every DLT template of a client, oldest first: the order in which an
// automatic match tries them.
func (r reader) AllDLTTemplates(ctx context.Context, clientID string) ([]model.DLTTemplate, error) {
	rows, err := r.query(ctx, `SELECT `+dltTemplateColumns+` FROM dlt_templates WHERE client_id = ? ORDER BY id`, clientID)
	return collect(rows, err, "dlt templates", scanDLTTemplate)
}

// CachedDLTTemplates is AllDLTTemplates through a short cache (cacheTTL): sends held to DLT
// read it for every message.
func (s *Store) CachedDLTTemplates(ctx context.Context, clientID string) ([]model.DLTTemplate, error) {
	return s.caches.dltTemplates.get(ctx, clientID, s.AllDLTTemplates)
}

// DLTTemplate returns one of a client's templates by Ibiki's id; another client's is ErrNotFound.
func (r reader) DLTTemplate(ctx context.Context, clientID, id string) (model.DLTTemplate, error) {
	t, err := scanDLTTemplate(r.queryRow(ctx, `SELECT `+dltTemplateColumns+` FROM dlt_templates
		WHERE client_id = ? AND id = ?`, clientID, id))
	return t, notFound(err, "dlt template "+id)
}

// InsertDLTTemplate stores a template; a DLT template id the client registered already is
// ErrConflict.
func (tx *Tx) InsertDLTTemplate(ctx context.Context, t model.DLTTemplate) error {
	tx.dropDLTTemplates(t.ClientID)
	_, err := tx.exec(ctx, `INSERT INTO dlt_templates (`+dltTemplateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ClientID, t.TemplateID, t.EntityID, t.Sender, t.Text, ms(t.CreatedAt))
	return notFound(err, "insert dlt template")
}

// DeleteDLTTemplate removes one of a client's templates; another client's is ErrNotFound.
// Messages sent under it keep its ids.
func (tx *Tx) DeleteDLTTemplate(ctx context.Context, clientID, id string) error {
	tx.dropDLTTemplates(clientID)
	return affected(tx.exec(ctx, `DELETE FROM dlt_templates WHERE client_id = ? AND id = ?`, clientID, id))
}

// dropDLTTemplates forgets a client's cached templates now and after the commit.
func (tx *Tx) dropDLTTemplates(clientID string) {
	tx.caches.dltTemplates.drop(clientID)
	tx.after = append(tx.after, func() { tx.caches.dltTemplates.drop(clientID) })
}
