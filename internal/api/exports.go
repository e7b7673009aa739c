package api

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/csvexport"
	"github.com/ibiki/ibiki/internal/respond"
)

// csvOut writes a CSV download whose cells are made safe for spreadsheets.
type csvOut struct{ csvexport.Writer }

// newCSV starts a CSV download named name.
func newCSV(w http.ResponseWriter, name string) csvOut {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return csvOut{csvexport.NewWriter(w)}
}

func (c csvOut) row(cells ...string) error { return c.Row(cells...) }

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
	if !csvexport.ValidFormat(format) {
		respond.Err(w, r, respond.Invalid("format", "format must be full (the default) or extremesms"))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvexport.FileName(format)+`"`)
	if err := csvexport.Contacts(r.Context(), a.Store, w, clientID, format); err != nil {
		// The header may be out: the error can only end the body. It is logged.
		respond.Log(r, "contact export cut short", err)
	}
}
