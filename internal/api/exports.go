package api

import (
	"encoding/csv"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
)

// safeCell neutralises a CSV cell that a spreadsheet would run as a formula (it starts with =,
// +, -, @, a tab or a carriage return) by putting an apostrophe in front. A phone number in
// E.164 is data, not a formula, and stays exactly as it is.
func safeCell(s string) string {
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

// csvOut writes a CSV download whose cells are made safe for spreadsheets (safeCell).
type csvOut struct{ *csv.Writer }

// newCSV starts a CSV download named name.
func newCSV(w http.ResponseWriter, name string) csvOut {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return csvOut{csv.NewWriter(w)}
}

func (c csvOut) row(cells ...string) error {
	for i := range cells {
		cells[i] = safeCell(cells[i])
	}
	return c.Write(cells)
}

// exportContacts: GET /api/v1/contacts/export: the client's contacts as CSV (every field:
// phone, names, business, tags, one column per custom field); ?format=extremesms gives the file
// the operator uploads to the ExtremeSMS contact group instead.
func (a *API) exportContacts(w http.ResponseWriter, r *http.Request) {
	a.export(w, r, clientID(r.Context()))
}

// adminExportContacts: GET /admin/v1/contacts/export: every client's contacts (or
// ?client_id=), with a client_id column; ?format=extremesms as for clients.
func (a *API) adminExportContacts(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("client_id")
	if id != "" {
		if _, err := a.Store.CachedClient(r.Context(), id); err != nil {
			respond.Err(w, r, respond.Invalid("client_id", "no such client"))
			return
		}
	}
	a.export(w, r, id)
}

func (a *API) export(w http.ResponseWriter, r *http.Request, clientID string) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "extremesms" && format != "full" {
		respond.Err(w, r, respond.Invalid("format", "format must be full (the default) or extremesms"))
		return
	}
	var fields []string
	if format != "extremesms" {
		var err error
		if fields, err = a.Store.ContactFieldNames(r.Context(), clientID); err != nil {
			respond.Err(w, r, err)
			return
		}
	}
	name := "contacts.csv"
	if format == "extremesms" {
		name = "extremesms-contacts.csv"
	}
	cw := newCSV(w, name)
	allClients := clientID == "" && format != "extremesms"
	var header []string
	if format == "extremesms" {
		header = []string{"Phone Number", "Business"}
	} else {
		header = []string{"phone", "first_name", "last_name", "business", "tags"}
		if allClients {
			header = append([]string{"client_id"}, header...)
		}
		header = append(header, fields...)
	}
	_ = cw.row(header...)
	err := a.Store.EachContact(r.Context(), clientID, func(c model.Contact) error {
		// Business is the client id in the ExtremeSMS file: replies then carry it, and routing
		// by business tag finds the client.
		if format == "extremesms" {
			// The client id goes out exactly as it is, never neutralised: ExtremeSMS must
			// hand it back. (Ids now start with a letter or digit; older ones may not.)
			return cw.Write([]string{safeCell(c.Phone), c.ClientID})
		}
		row := []string{c.Phone, c.FirstName, c.LastName, c.Business, strings.Join(c.Tags, ";")}
		if allClients {
			row = append([]string{c.ClientID}, row...)
		}
		for _, f := range fields {
			row = append(row, c.Fields[f])
		}
		return cw.row(row...)
	})
	cw.Flush()
	if err != nil {
		// The header is out: the error can only end the body. It is logged.
		respond.Log(r, "contact export cut short", err)
	}
}
