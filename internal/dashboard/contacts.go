package dashboard

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/csvexport"
	"github.com/ibiki/ibiki/internal/csvimport"
	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

type contactsData struct {
	Q, Tag   string
	Contacts []model.Contact
	Next     string
}

func (d *Dashboard) listContacts(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	data := contactsData{Q: cleanQuery(q.Get("q")), Tag: cleanQuery(q.Get("tag"))}
	cs, err := d.Store.Contacts(r.Context(), v.Client.ID, store.ContactFilter{Q: data.Q, Tag: data.Tag}, q.Get("before"), 101)
	if err != nil {
		return err
	}
	if len(cs) > 100 {
		cs, data.Next = cs[:100], cs[99].ID
	}
	data.Contacts = cs
	d.render(w, r, v, http.StatusOK, "contacts", "Contacts", data)
	return nil
}

// exportContacts downloads the client's contacts: every field, or ?format=extremesms for the
// file the operator uploads to ExtremeSMS.
func (d *Dashboard) exportContacts(w http.ResponseWriter, r *http.Request, v *view) error {
	return d.exportFor(w, r, v.Client.ID)
}

// exportFor writes clientID's contacts ("" = every client's) in the ?format= asked for.
func (d *Dashboard) exportFor(w http.ResponseWriter, r *http.Request, clientID string) error {
	format := r.URL.Query().Get("format")
	if !csvexport.ValidFormat(format) {
		return store.ErrNotFound
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvexport.FileName(format)+`"`)
	if err := csvexport.Contacts(r.Context(), d.Store, w, clientID, format); err != nil {
		d.Log.Warn("dashboard: contact export cut short", "error", err)
	}
	return nil
}

// The import is two steps (see importer.Keep): the upload, whose first rows the mapping step
// shows, then the import with the chosen mapping.
const (
	previewRows    = 5
	ignoreColumn   = "-"
	keepColumnAsIs = ""
)

type importData struct {
	Error string
	Token string
	Name  string
	Tag   string
	// Columns pairs each column with its header, sample cells and current field.
	Columns []importColumn
	Report  *importer.Report
}

type importColumn struct {
	Index   int
	Header  string
	Field   string
	Samples []string
}

// Fields offered for a column in the mapping step.
var mappingFields = []struct{ Value, Label string }{
	{csvimport.Phone, "Phone"}, {csvimport.FirstName, "First name"}, {csvimport.LastName, "Last name"},
	{csvimport.Business, "Business"}, {csvimport.Tags, "Tags"}, {keepColumnAsIs, "Custom field (keep)"}, {ignoreColumn, "Ignore"},
}

// Fields are the choices of the mapping step.
func (importData) Fields() []struct{ Value, Label string } { return mappingFields }

func (d *Dashboard) importPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d.render(w, r, v, http.StatusOK, "import", "Import contacts", importData{})
	return nil
}

// uploadImport keeps the uploaded file and shows the mapping step.
func (d *Dashboard) uploadImport(w http.ResponseWriter, r *http.Request, v *view) error {
	fail := func(status int, msg string) error {
		d.render(w, r, v, status, "import", "Import contacts", importData{Error: msg})
		return nil
	}
	tag := strings.TrimSpace(r.FormValue("tag"))
	file, hdr, err := r.FormFile("file")
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fail(http.StatusRequestEntityTooLarge, "The file is too large.")
		}
		return fail(http.StatusUnprocessableEntity, "Choose a CSV file to upload.")
	}
	defer file.Close()
	k, err := d.Importer.Keep(r.Context(), v.Client.ID, hdr.Filename, tag, file, previewRows)
	var (
		fe *contact.FieldError
		ue *importer.FileError
	)
	switch {
	case errors.As(err, &fe):
		return fail(http.StatusUnprocessableEntity, tagMessage(fe))
	case errors.As(err, &ue):
		return fail(http.StatusUnprocessableEntity, "This file cannot be read as a contact list: "+ue.Reason.Error())
	case err != nil:
		return err
	}
	d.render(w, r, v, http.StatusOK, "import", "Map the columns", mappingStep(k.Sample, k.Name, k.Token, tag))
	return nil
}

// tagMessage says what is wrong with a tag typed into a form (see contact.Tag).
func tagMessage(fe *contact.FieldError) string {
	if fe.NotText {
		return "A tag is plain text: no control characters."
	}
	return "A tag is at most 100 characters."
}

func mappingStep(s csvimport.Sample, name, token, tag string) importData {
	data := importData{Token: token, Name: name, Tag: tag}
	for i, field := range s.Fields {
		col := importColumn{Index: i + 1, Field: field}
		if i < len(s.Header) {
			col.Header = s.Header[i]
		}
		switch field {
		case csvimport.Phone, csvimport.FirstName, csvimport.LastName, csvimport.Business, csvimport.Tags:
		case "":
			col.Field = ignoreColumn
		default:
			col.Field = keepColumnAsIs
		}
		for _, row := range s.Rows {
			if i < len(row) {
				col.Samples = append(col.Samples, row[i])
			} else {
				col.Samples = append(col.Samples, "")
			}
		}
		data.Columns = append(data.Columns, col)
	}
	return data
}

// runImport imports the kept file with the chosen mapping and shows the report.
func (d *Dashboard) runImport(w http.ResponseWriter, r *http.Request, v *view) error {
	token := r.PathValue("token")
	u, err := d.Importer.Kept(r.Context(), v.Client.ID, token)
	if errors.Is(err, store.ErrNotFound) {
		d.render(w, r, v, http.StatusNotFound, "import", "Import contacts", importData{
			Error: "This upload has expired or was imported already. Upload the file again."})
		return nil
	}
	if err != nil {
		return err
	}
	opt := importer.Options{Filename: u.Name, Tag: strings.TrimSpace(r.PostFormValue("tag")),
		Mapping: map[string]string{}, IgnoreExtra: true, OnlyMapped: true}
	phones := 0
	for i := 1; i <= 1000; i++ {
		field, ok := r.PostForm[fmt.Sprintf("col%d", i)]
		if !ok {
			break
		}
		src := fmt.Sprintf("#%d", i)
		switch f := field[0]; f {
		case ignoreColumn:
		case keepColumnAsIs:
			name := strings.TrimSpace(r.PostFormValue(fmt.Sprintf("name%d", i)))
			if name == "" {
				name = fmt.Sprintf("column_%d", i)
			}
			// A custom column named like a standard field ("Phone" kept as custom while
			// "Mobile" is the phone) must stay custom; two columns of one name stay apart.
			if _, taken := opt.Mapping[name]; taken || csvimport.IsStandardField(name) {
				name = fmt.Sprintf("%s (column %d)", name, i)
			}
			opt.Mapping[name] = src
		case csvimport.Phone, csvimport.FirstName, csvimport.LastName, csvimport.Business, csvimport.Tags:
			if _, dup := opt.Mapping[f]; dup {
				return d.remap(w, r, v, u, token, opt, "Two columns are mapped to "+f+": choose one.")
			}
			if f == csvimport.Phone {
				phones++
			}
			opt.Mapping[f] = src
		default:
			return d.remap(w, r, v, u, token, opt, fmt.Sprintf("Column %d: choose what it holds from the list.", i))
		}
	}
	if phones == 0 {
		return d.remap(w, r, v, u, token, opt, "Choose the column that holds the phone numbers.")
	}
	rep, err := d.Importer.ImportKept(r.Context(), u, opt)
	var fe *contact.FieldError
	if errors.As(err, &fe) {
		return d.remap(w, r, v, u, token, opt, tagMessage(fe)) // the upload is kept for another try
	}
	data := importData{Report: &rep, Name: opt.Filename, Tag: opt.Tag}
	if err != nil {
		if !errors.Is(err, importer.ErrFile) {
			return err // ours, not the file's: logged, and a 500 page
		}
		data.Error = "Nothing was imported: " + cmp.Or(rep.Error, err.Error())
	}
	d.render(w, r, v, http.StatusOK, "import", "Import report", data)
	return nil
}

// remap shows the mapping step again with an error (the file is kept for another try).
func (d *Dashboard) remap(w http.ResponseWriter, r *http.Request, v *view, u store.Upload, token string, opt importer.Options, msg string) error {
	sample, err := d.Importer.Preview(r.Context(), u, previewRows)
	if err != nil {
		return err
	}
	data := mappingStep(sample, opt.Filename, token, opt.Tag)
	data.Error = msg
	d.render(w, r, v, http.StatusUnprocessableEntity, "import", "Map the columns", data)
	return nil
}

// cleanQuery makes a search box's text fit to search with: text (plainText has cleaned the
// query already; cleaned again here so that the rule holds whatever the caller), without control
// characters, at most 100 bytes.
func cleanQuery(q string) string {
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, text.Clean(q))
	return strings.TrimSpace(text.Cut(q, 100))
}
