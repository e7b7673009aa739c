package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// StagedContact is one valid row of an import, waiting for the import to finish.
type StagedContact struct {
	Line      int
	ContactID string // used when the phone is new to the client
	Phone     string
	FirstName string
	LastName  string
	Business  string
	Fields    map[string]string
	Tags      []string
}

// tagSep joins a row's tags in the staging table (a control character no tag contains).
const tagSep = "\x1f"

// InsertImport records an import that is starting.
func (tx *Tx) InsertImport(ctx context.Context, id, clientID, filename string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO imports (id, client_id, status, filename, created_at) VALUES (?, ?, 'running', ?, ?)`,
		id, clientID, filename, ms(at))
	return notFound(err, "insert import")
}

// StageContacts adds rows to an import's staging table, many per statement, and returns how
// many it added: a phone staged before in the same import is skipped (a duplicate in the file).
func (tx *Tx) StageContacts(ctx context.Context, importID string, rows []StagedContact) (int64, error) {
	var added int64
	const cols = 9
	const perStatement = 1000
	for len(rows) > 0 {
		n := min(len(rows), perStatement)
		var q strings.Builder
		q.WriteString(`INSERT INTO import_rows (import_id, phone, line, contact_id, first_name, last_name, business, fields, tags) VALUES `)
		args := make([]any, 0, n*cols)
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			fields := "{}"
			if len(r.Fields) > 0 {
				b, _ := json.Marshal(r.Fields)
				fields = string(b)
			}
			args = append(args, importID, r.Phone, r.Line, r.ContactID, r.FirstName, r.LastName, r.Business, fields,
				strings.Join(r.Tags, tagSep))
		}
		q.WriteString(` ON CONFLICT (import_id, phone) DO NOTHING`)
		res, err := tx.exec(ctx, q.String(), args...)
		if err != nil {
			return added, notFound(err, "stage contacts")
		}
		k, err := res.RowsAffected()
		if err != nil {
			return added, err
		}
		added += k
		rows = rows[n:]
	}
	return added, nil
}

// ImportConflict is a staged phone that belongs to another client.
type ImportConflict struct {
	Line  int    `json:"line"`
	Phone string `json:"phone"`
}

// ImportMerge is what merging an import did.
type ImportMerge struct {
	Imported    int64
	Updated     int64
	Conflicts   []ImportConflict // the first `limit`
	Conflicting int64
}

// MergeImport moves an import's staged rows into the client's contacts, in the caller's
// transaction: new phones become contacts, known ones are updated (non-empty values win),
// phones that are another client's contact are conflicts (skipped unless allowConflicts), and
// every imported contact gets the tags of its row and `tag`. The staging rows are deleted.
// Unless allowConflicts, it holds the ownership lock (see PhoneTaken) to the end of the
// transaction, so that no other client can take one of the file's phones meanwhile.
func (tx *Tx) MergeImport(ctx context.Context, importID, clientID, tag string, allowConflicts bool, limit int, at time.Time) (ImportMerge, error) {
	var m ImportMerge
	if !allowConflicts {
		if err := tx.lockAllPhones(ctx); err != nil {
			return m, err
		}
	}
	const conflicting = ` FROM import_rows s WHERE s.import_id = ?
		AND EXISTS (SELECT 1 FROM contacts c WHERE c.phone = s.phone AND c.client_id <> ?)`
	if err := tx.queryRow(ctx, `SELECT COUNT(*)`+conflicting, importID, clientID).Scan(&m.Conflicting); err != nil {
		return m, err
	}
	rows, err := tx.query(ctx, `SELECT s.line, s.phone`+conflicting+` ORDER BY s.line LIMIT ?`, importID, clientID, limit)
	m.Conflicts, err = collect(rows, err, "import conflicts", func(r scanner) (ImportConflict, error) {
		var c ImportConflict
		return c, r.Scan(&c.Line, &c.Phone)
	})
	if err != nil {
		return m, err
	}
	if !allowConflicts && m.Conflicting > 0 {
		if _, err := tx.exec(ctx, `DELETE FROM import_rows WHERE import_id = ? AND EXISTS (
			SELECT 1 FROM contacts c WHERE c.phone = import_rows.phone AND c.client_id <> ?)`, importID, clientID); err != nil {
			return m, err
		}
	}
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM import_rows s JOIN contacts c ON c.client_id = ? AND c.phone = s.phone
		WHERE s.import_id = ?`, clientID, importID).Scan(&m.Updated); err != nil {
		return m, err
	}
	res, err := tx.exec(ctx, `INSERT INTO contacts (`+contactColumns+`)
		SELECT contact_id, ?, phone, first_name, last_name, business, fields, ?, ? FROM import_rows WHERE import_id = ?
		ON CONFLICT (client_id, phone) DO UPDATE SET
			first_name = CASE WHEN excluded.first_name <> '' THEN excluded.first_name ELSE contacts.first_name END,
			last_name = CASE WHEN excluded.last_name <> '' THEN excluded.last_name ELSE contacts.last_name END,
			business = CASE WHEN excluded.business <> '' THEN excluded.business ELSE contacts.business END,
			fields = CASE WHEN excluded.fields <> '{}' THEN excluded.fields ELSE contacts.fields END,
			origin = '', updated_at = excluded.updated_at`, clientID, ms(at), ms(at), importID)
	if err != nil {
		return m, notFound(err, "merge import")
	}
	total, err := res.RowsAffected()
	if err != nil {
		return m, err
	}
	m.Imported = total - m.Updated
	if tag != "" {
		if _, err := tx.exec(ctx, `INSERT INTO contact_tags (client_id, tag, contact_id)
			SELECT ?, ?, c.id FROM import_rows s JOIN contacts c ON c.client_id = ? AND c.phone = s.phone
			WHERE s.import_id = ? ON CONFLICT DO NOTHING`, clientID, tag, clientID, importID); err != nil {
			return m, notFound(err, "tag import")
		}
	}
	if err := tx.tagRows(ctx, importID, clientID); err != nil {
		return m, err
	}
	_, err = tx.exec(ctx, `DELETE FROM import_rows WHERE import_id = ?`, importID)
	return m, notFound(err, "clear import")
}

// tagRows applies the tags column of the staged rows that have one.
func (tx *Tx) tagRows(ctx context.Context, importID, clientID string) error {
	rows, err := tx.query(ctx, `SELECT c.id, s.tags FROM import_rows s JOIN contacts c ON c.client_id = ? AND c.phone = s.phone
		WHERE s.import_id = ? AND s.tags <> ''`, clientID, importID)
	pairs, err := collect(rows, err, "import tags", func(r scanner) ([2]string, error) {
		var p [2]string
		return p, r.Scan(&p[0], &p[1])
	})
	if err != nil {
		return err
	}
	for _, p := range pairs {
		for _, t := range strings.Split(p[1], tagSep) {
			if _, err := tx.exec(ctx, `INSERT INTO contact_tags (client_id, tag, contact_id) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, clientID, t, p[0]); err != nil {
				return notFound(err, "tag contact")
			}
		}
	}
	return nil
}

// FinishImport records an import's outcome ("completed" or "failed") and its report.
func (tx *Tx) FinishImport(ctx context.Context, id, status string, report []byte, at time.Time) error {
	return affected(tx.exec(ctx, `UPDATE imports SET status = ?, report = ?, finished_at = ? WHERE id = ?`,
		status, string(report), ms(at), id))
}

// DiscardImport deletes an import's staged rows (a failed or abandoned import).
func (tx *Tx) DiscardImport(ctx context.Context, id string) error {
	_, err := tx.exec(ctx, `DELETE FROM import_rows WHERE import_id = ?`, id)
	return err
}

// Import is a recorded import.
type Import struct {
	ID, ClientID, Status, Filename string
	Report                         []byte
	CreatedAt, FinishedAt          time.Time
}

// ImportByID returns one of a client's imports.
func (r reader) ImportByID(ctx context.Context, clientID, id string) (Import, error) {
	var (
		im                Import
		report            string
		created, finished int64
	)
	err := r.queryRow(ctx, `SELECT id, client_id, status, filename, report, created_at, finished_at FROM imports
		WHERE client_id = ? AND id = ?`, clientID, id).Scan(&im.ID, &im.ClientID, &im.Status, &im.Filename, &report, &created, &finished)
	im.Report, im.CreatedAt, im.FinishedAt = []byte(report), fromMS(created), fromMS(finished)
	return im, notFound(err, "import "+id)
}
