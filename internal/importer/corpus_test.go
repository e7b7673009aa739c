package importer_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Every import of the corpus starts from the same database: acme (who imports) already has
// +15551230009 (a row with it is "updated"), globex has +15551230008 (a row with it is a
// conflict under the default reject policy).
const (
	known = "+15551230009|Old||"
	taken = "+15551230008"
)

func newService(t *testing.T) *importer.Service {
	t.Helper()
	st := ibikitest.NewStore(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ibikitest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range []string{"acme", "globex"} {
			if err := tx.InsertClient(ctx, model.Client{ID: id, Name: id, Active: true, WebhookSecret: "whsec_x",
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.InsertContact(ctx, model.Contact{ID: "ct_known", ClientID: "acme", Phone: "+15551230009",
			FirstName: "Old", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.InsertContact(ctx, model.Contact{ID: "ct_taken", ClientID: "globex", Phone: taken, CreatedAt: now, UpdatedAt: now})
	}))
	return &importer.Service{Store: st, Region: "US", Clock: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// contacts renders acme's contacts by phone: "phone|first|last|business field=value…".
func contacts(t *testing.T, st *store.Store) []string {
	t.Helper()
	cs, err := st.Contacts(t.Context(), "acme", store.ContactFilter{}, "", 100)
	ibikitest.Must(t, err)
	var out []string
	for _, c := range cs {
		s := c.Phone + "|" + c.FirstName + "|" + c.LastName + "|" + c.Business
		for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
			s += " " + k + "=" + c.Fields[k]
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

type invalid = importer.Invalid
type conflict = store.ImportConflict

// completed is the report of an import that went through, with the parts every case shares.
func completed(delim string, header []string, r importer.Report) importer.Report {
	r.Status, r.ConflictPolicy, r.Delimiter, r.Header = "completed", "reject", delim, header
	r.InvalidCount, r.ConflictCount = int64(len(r.Invalid)), int64(len(r.Conflicts))
	if r.Invalid == nil {
		r.Invalid = []invalid{}
	}
	if r.Conflicts == nil {
		r.Conflicts = []conflict{}
	}
	return r
}

// The corpus of awkward files in testdata/corpus, each imported through the store-backed
// importer (what POST /api/v1/contacts/import and the dashboard run), with the exact report it
// must give, the same report stored, and the contacts it must leave.
func TestCorpusReports(t *testing.T) {
	tests := []struct {
		file     string
		want     importer.Report
		contacts []string
	}{
		{"bom.csv", completed(",", []string{"Phone Number", "Business"}, importer.Report{Imported: 2, Rows: 2}),
			[]string{"+15551230001|||acme", "+15551230002|||acme", known}},
		{"semicolons.csv", completed(";", []string{"Mobile", "Firstname", "Surname", "Company"},
			importer.Report{Imported: 1, Updated: 1, Rows: 2}),
			[]string{"+15551230001|Ann|Lee|Acme", "+15551230009|Bo||"}},
		{"tabs.csv", completed("\t", []string{"msisdn", "First Name", "City"}, importer.Report{Imported: 2, Rows: 2}),
			[]string{"+15551230001|Bo|| City=Paris", known, "+447700900123|Cy|| City=London"}},
		{"quoted_newlines.csv", completed(",", []string{"phone", "first_name", "note"}, importer.Report{Imported: 3, Rows: 4,
			Invalid: []invalid{{Line: 5, Error: "invalid phone number: contains letters"}}}),
			[]string{"+15551230001|Ann|| note=line one\nline two", "+15551230002|Bo|| note=x",
				"+15551230003|Cy|| note=three\nlines\nhere", known}},
		{"doubled_quotes.csv", completed(",", []string{"phone", "first_name", "note"}, importer.Report{Imported: 2, Rows: 2}),
			[]string{`+15551230001|Lee, Ann|| note=she said "hi"`, `+15551230002|"Bo"|| note=""`, known}},
		{"duplicates.csv", completed(",", []string{"phone", "first_name"}, importer.Report{Imported: 2, Updated: 1, Duplicates: 4, Rows: 7}),
			[]string{"+15551230001|Ann||", "+15551230002|Bo||", "+15551230009|Known||"}},
		{"bad_phones.csv", completed(",", []string{"phone", "name"}, importer.Report{Imported: 1, Rows: 8,
			Invalid: []invalid{
				{Line: 2, Error: "invalid phone number: too short"},
				{Line: 3, Error: "phone is empty"},
				{Line: 4, Error: "invalid phone number: contains letters"},
				{Line: 5, Error: "invalid phone number: too short"},
				{Line: 8, Error: "invalid phone number: unknown country code or region"},
				{Line: 9, Error: "invalid phone number: too long"},
			},
			Conflicts: []conflict{{Line: 7, Phone: taken}}}),
			[]string{"+15551230004||| name=Di", known}},
		{"national_formats.csv", completed(",", []string{"phone"}, importer.Report{Imported: 6, Rows: 6}),
			[]string{"+15551230001|||", "+15551230002|||", "+15551230003|||", "+15551230004|||", "+15551230005|||",
				"+15551230006|||", known}},
		{"windows1252.csv", completed(";", []string{"phone", "first name", "last name", "business"}, importer.Report{Imported: 2, Rows: 2}),
			[]string{"+15551230001|René|Müller|Café €uro", "+15551230002|Françoise|Groß|“Quoted”", known}},
		{"blank_lines.csv", completed(",", []string{"phone", "name"}, importer.Report{Imported: 2, Rows: 2}),
			[]string{"+15551230001||| name=Ann", "+15551230002||| name=Bo", known}},
		{"extra_and_missing_columns.csv", completed(",", []string{"phone", "first", "City", "Plan"}, importer.Report{Imported: 3, Rows: 3}),
			[]string{"+15551230001|Ann|| City=Paris", "+15551230002|Bo|| City=Rome Plan=gold", "+15551230003|||", known}},
		{"no_header.csv", completed(",", nil, importer.Report{Imported: 2, Rows: 3,
			Invalid: []invalid{{Line: 3, Error: "invalid phone number: contains letters"}}}),
			[]string{"+15551230001||| column_1=Ann column_3=acme", "+15551230002||| column_1=Bo column_3=acme", known}},
		{"broken_quote_at_end.csv", completed(",", []string{"phone", "name"}, importer.Report{Imported: 1, Rows: 2,
			Invalid: []invalid{{Line: 3, Error: `broken quoting: extraneous or missing " in quoted-field`}}}),
			[]string{"+15551230001||| name=Ann", known}},
		{"unclosed_quote.csv", importer.Report{Status: "failed", ConflictPolicy: "reject", Delimiter: ",", Header: []string{"phone", "name"},
			Invalid: []invalid{}, Conflicts: []conflict{},
			Error: "unusable file: a quoted field is never closed: line 2 opens one that runs to line 202"},
			[]string{known}},
	}
	files, err := filepath.Glob("testdata/corpus/*.csv")
	ibikitest.Must(t, err)
	if len(files) != len(tests) {
		t.Errorf("%d files in testdata/corpus, %d cases: every file needs its expected report", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".csv"), func(t *testing.T) {
			svc := newService(t)
			f, err := os.Open(filepath.Join("testdata/corpus", tt.file))
			ibikitest.Must(t, err)
			defer f.Close()
			got, err := svc.Import(t.Context(), "acme", f, importer.Options{Filename: tt.file})
			if (tt.want.Status == "failed") != (err != nil) {
				t.Fatalf("Import error = %v with status %s", err, got.Status)
			}
			if tt.want.Status == "failed" && !errors.Is(err, importer.ErrFile) {
				t.Errorf("error %v is not an unusable file", err)
			}
			id := got.ID
			got.ID = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("report:\n%s\nwant:\n%s", show(got), show(tt.want))
			}
			stored, err := svc.Store.ImportByID(t.Context(), "acme", id)
			ibikitest.Must(t, err)
			var again importer.Report
			ibikitest.Must(t, json.Unmarshal(stored.Report, &again))
			if again.ID != id || stored.Status != tt.want.Status {
				t.Errorf("stored import %s %s, want %s %s", again.ID, stored.Status, id, tt.want.Status)
			}
			again.ID = ""
			if !reflect.DeepEqual(again, tt.want) {
				t.Errorf("stored report:\n%s\nwant:\n%s", show(again), show(tt.want))
			}
			if c := contacts(t, svc.Store); !slices.Equal(c, tt.contacts) {
				t.Errorf("contacts:\n%s\nwant:\n%s", strings.Join(c, "\n"), strings.Join(tt.contacts, "\n"))
			}
		})
	}
}

func show(r importer.Report) string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprint(err)
	}
	return string(b)
}
