// Package importer imports contact lists (CSV) into a client's contacts: it streams the file
// through csvimport, stages the valid rows in batches, and merges them in one transaction at the
// end, so a file is imported whole or not at all, always with its report. Every row obeys
// contact.Details.Check. It also keeps a dashboard upload between the import's two steps (Keep,
// Kept, Preview, ImportKept, ExpireUploads), in the database so any instance can take the second.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/csvimport"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// MaxListed bounds the invalid rows and conflicts listed in a report (all are counted).
const MaxListed = 1000

// batchSize is how many rows are staged per transaction.
const batchSize = 5000

// MaxFilename bounds the name an import or a kept upload is stored with, in bytes.
const MaxFilename = 255

// filename makes a file's name, as the client's browser or program sent it, fit to store. It is
// metadata shown next to the import, not the client's text: rather than refuse a good file for
// its name, the name is cleaned (package text: no NUL, valid UTF-8) and bounded.
func filename(name string) string { return text.Cut(text.Clean(name), MaxFilename) }

// Service imports files.
type Service struct {
	Store  *store.Store
	Region string
	// AllowConflicts imports phones that are already another client's contacts (the operator
	// then relies on the business tag to route their replies); by default they are refused.
	AllowConflicts bool
	Clock          func() time.Time
	Log            *slog.Logger
}

// Invalid is a row that could not be imported.
type Invalid struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// Report is the outcome of an import.
type Report struct {
	ID             string                 `json:"id"`
	Status         string                 `json:"status"`
	Imported       int64                  `json:"imported"`
	Updated        int64                  `json:"updated"`
	Duplicates     int64                  `json:"duplicates"`
	Invalid        []Invalid              `json:"invalid"`
	InvalidCount   int64                  `json:"invalid_count"`
	Conflicts      []store.ImportConflict `json:"conflicts"`
	ConflictCount  int64                  `json:"conflict_count"`
	ConflictPolicy string                 `json:"conflict_policy"`
	Rows           int64                  `json:"rows"`
	Delimiter      string                 `json:"delimiter"`
	Header         []string               `json:"header"`
	Error          string                 `json:"error,omitempty"`
}

// Options of one import.
type Options struct {
	// Filename is the file's name as it was sent (stored cleaned: see filename).
	Filename string
	Mapping  map[string]string
	Tag      string
	// IgnoreExtra drops unmapped columns instead of keeping them as custom fields.
	IgnoreExtra bool
	// OnlyMapped imports the mapped columns only, none recognised by its header (the
	// dashboard's mapping step, where a person chose each column).
	OnlyMapped bool
}

// ErrFile is matched by the reasons a file cannot be read at all (empty, no phone column, bad
// mapping): see FileError.
var ErrFile = errors.New("unusable file")

// FileError is a file that cannot be read as a contact list at all; Reason says why. It
// matches ErrFile.
type FileError struct{ Reason error }

func (e *FileError) Error() string { return ErrFile.Error() + ": " + e.Reason.Error() }

// Is makes a FileError match ErrFile.
func (e *FileError) Is(target error) bool { return target == ErrFile }

// Unwrap gives the reason.
func (e *FileError) Unwrap() error { return e.Reason }

// Import reads src and imports it for the client; opt.Tag obeys the rule of contacts' tags
// (contact.Tag). The report is returned (and stored) even
// when the import fails, with Status "failed" and nothing merged. The report of a completed
// import is the operation's result (store.Tx.Done), in the transaction that merges it.
func (s *Service) Import(ctx context.Context, clientID string, src io.Reader, opt Options) (Report, error) {
	if err := contact.Tag(opt.Tag); err != nil {
		return Report{}, err
	}
	opt.Filename = filename(opt.Filename)
	r, err := csvimport.Open(src, csvimport.Options{Mapping: opt.Mapping, IgnoreExtra: opt.IgnoreExtra, OnlyMapped: opt.OnlyMapped, Region: s.Region})
	if err != nil {
		return Report{}, &FileError{Reason: err}
	}
	now := s.Clock().UTC()
	rep := Report{ID: model.NewIDAt("imp", now), Status: "running", Invalid: []Invalid{}, Conflicts: []store.ImportConflict{},
		Delimiter: string(r.Delimiter), Header: r.Header, ConflictPolicy: "reject"}
	if s.AllowConflicts {
		rep.ConflictPolicy = "allow"
	}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertImport(ctx, rep.ID, clientID, opt.Filename, now)
	}); err != nil {
		return rep, err
	}
	if err := s.stage(ctx, r, &rep); err != nil {
		return s.fail(rep, err)
	}
	// The merged report is the closure's own result, made afresh on each run (InTx may run it
	// more than once): rep itself stays the staged report until the merge commits.
	var merged Report
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.MergeImport(ctx, rep.ID, clientID, opt.Tag, s.AllowConflicts, MaxListed, s.Clock().UTC())
		if err != nil {
			return err
		}
		merged = rep
		merged.Imported, merged.Updated, merged.Conflicts, merged.ConflictCount = m.Imported, m.Updated, m.Conflicts, m.Conflicting
		if merged.Conflicts == nil {
			merged.Conflicts = []store.ImportConflict{}
		}
		merged.Status = "completed"
		if err := tx.FinishImport(ctx, merged.ID, merged.Status, mustJSON(merged), s.Clock().UTC()); err != nil {
			return err
		}
		return tx.Done(ctx, merged)
	})
	if err != nil {
		return s.fail(rep, err)
	}
	return merged, nil
}

// stage reads every row, reports the invalid ones (a row that breaks a rule of contacts is
// invalid, as the API refuses such a contact) and the repeats, and stages the others.
func (s *Service) stage(ctx context.Context, r *csvimport.Reader, rep *Report) error {
	// Repeats of a phone are found by the staging table's key, not in memory: a million phones
	// would otherwise hold tens of megabytes.
	batch := make([]store.StagedContact, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var added int64 // set inside: the function may run again when a batch shares a commit
		err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
			added, err = tx.StageContacts(ctx, rep.ID, batch)
			return err
		})
		rep.Duplicates += int64(len(batch)) - added
		batch = batch[:0]
		return err
	}
	now := s.Clock().UTC()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, csvimport.ErrRunaway) {
			return &FileError{Reason: err}
		}
		if err != nil {
			return err
		}
		rep.Rows++
		if row.Err != nil {
			rep.invalid(row.Line, row.Err)
			continue
		}
		// The rules of a contact, as the API applies them to one it creates.
		d := contact.Details{FirstName: row.FirstName, LastName: row.LastName, Business: row.Business,
			Fields: row.Fields, Tags: row.Tags}
		if err := d.Check(); err != nil {
			rep.invalid(row.Line, err)
			continue
		}
		batch = append(batch, store.StagedContact{Line: row.Line, ContactID: model.NewIDAt(model.PrefixContact, now),
			Phone: row.Phone, FirstName: d.FirstName, LastName: d.LastName, Business: d.Business,
			Fields: d.Fields, Tags: d.Tags})
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// invalid counts a row that cannot be imported, and lists it while the list is short.
func (rep *Report) invalid(line int, err error) {
	rep.InvalidCount++
	if len(rep.Invalid) < MaxListed {
		rep.Invalid = append(rep.Invalid, Invalid{Line: line, Error: err.Error()})
	}
}

// fail records a failed import (its staged rows dropped) and returns its report with the error.
func (s *Service) fail(rep Report, cause error) (Report, error) {
	rep.Status, rep.Error = "failed", cause.Error()
	rep.Imported, rep.Updated = 0, 0
	err := s.Store.InTx(context.WithoutCancel(context.Background()), func(tx *store.Tx) error {
		if err := tx.DiscardImport(context.Background(), rep.ID); err != nil {
			return err
		}
		return tx.FinishImport(context.Background(), rep.ID, rep.Status, mustJSON(rep), s.Clock().UTC())
	})
	if err != nil {
		s.Log.Error("importer: recording a failed import", "import", rep.ID, "error", err)
	}
	return rep, cause
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a Report always encodes
	}
	return b
}
