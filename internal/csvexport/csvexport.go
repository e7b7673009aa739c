// Package csvexport writes CSV files people open in spreadsheets: every text cell is made safe
// against formula injection, and contact lists come in Ibiki's full shape or exactly the file
// the operator uploads to an ExtremeSMS contact group.
package csvexport

import (
	"context"
	"encoding/csv"
	"io"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// SafeCell neutralises a CSV cell that a spreadsheet would run as a formula (it starts with =,
// +, -, @, a tab or a carriage return) by putting an apostrophe in front. A phone number in
// E.164 is data, not a formula, and stays exactly as it is.
func SafeCell(s string) string {
	if s == "" || isE164(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Writer writes rows of safe cells.
type Writer struct{ *csv.Writer }

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) Writer { return Writer{csv.NewWriter(w)} }

// Row writes one row, each cell made safe.
func (c Writer) Row(cells ...string) error {
	for i := range cells {
		cells[i] = SafeCell(cells[i])
	}
	return c.Write(cells)
}

// Formats of a contact export.
const (
	Full       = "full"
	ExtremeSMS = "extremesms"
)

// ValidFormat reports whether f names a contact export format ("" is Full).
func ValidFormat(f string) bool { return f == "" || f == Full || f == ExtremeSMS }

// FileName is the download name of a contact export.
func FileName(format string) string {
	if format == ExtremeSMS {
		return "extremesms-contacts.csv"
	}
	return "contacts.csv"
}

// Contacts writes clientID's contacts ("" = every client's, with a client_id column) as CSV.
// Full has every field: phone, names, business, tags, one column per custom field. ExtremeSMS is
// "Phone Number,Business" with the client id as Business, so that replies carry it. The writer
// is flushed; an error after the header can only cut the file short.
func Contacts(ctx context.Context, st *store.Store, out io.Writer, clientID, format string) error {
	var fields []string
	if format != ExtremeSMS {
		var err error
		if fields, err = st.ContactFieldNames(ctx, clientID); err != nil {
			return err
		}
	}
	cw := NewWriter(out)
	allClients := clientID == "" && format != ExtremeSMS
	var header []string
	if format == ExtremeSMS {
		header = []string{"Phone Number", "Business"}
	} else {
		header = []string{"phone", "first_name", "last_name", "business", "tags"}
		if allClients {
			header = append([]string{"client_id"}, header...)
		}
		header = append(header, fields...)
	}
	_ = cw.Row(header...)
	err := st.EachContact(ctx, clientID, func(c model.Contact) error {
		if format == ExtremeSMS {
			// The client id goes out exactly as it is, never neutralised: ExtremeSMS must
			// hand it back. (Ids now start with a letter or digit; older ones may not.)
			return cw.Write([]string{SafeCell(c.Phone), c.ClientID})
		}
		row := []string{c.Phone, c.FirstName, c.LastName, c.Business, strings.Join(c.Tags, ";")}
		if allClients {
			row = append([]string{c.ClientID}, row...)
		}
		for _, f := range fields {
			row = append(row, c.Fields[f])
		}
		return cw.Row(row...)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}
