package dashboard

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/text"
)

// plainText keeps what is not text (package text: a NUL character, bytes that are not UTF-8)
// away from the database, where PostgreSQL can neither store nor compare it (and SQLite would
// store it), so that both engines answer alike: a path with it names nothing (404); a page's
// query is read with it cleaned out, as the search box always did; a form posted with it is
// refused with a 400 naming the field. It reports whether the request may go on. Uploads
// (multipart forms) are left to their pages, whose domain operations judge their text (a
// campaign's name and message, an import's tag) and clean the file's name, and which answer in
// the form.
func (d *Dashboard) plainText(w http.ResponseWriter, r *http.Request, v *view) bool {
	if !text.Valid(r.URL.Path) {
		d.errorPage(w, r, v, http.StatusNotFound, "")
		return false
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	// Only an escape or a raw byte past ASCII can make a query's values other than text.
	if raw := r.URL.RawQuery; strings.Contains(raw, "%") || !text.Valid(raw) {
		q := r.URL.Query()
		if k, flaw := text.Field(q); flaw != text.OK {
			if !read {
				return d.refuseText(w, r, v, k, flaw)
			}
			for _, vs := range q {
				for i := range vs {
					vs[i] = text.Clean(vs[i])
				}
			}
			r.URL.RawQuery = q.Encode()
		}
	}
	if read || r.MultipartForm != nil || strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return true
	}
	_ = r.ParseForm() // a no-op once the page has read it; a form that cannot be read is the page's to answer
	if k, flaw := text.Field(r.PostForm); flaw != text.OK {
		return d.refuseText(w, r, v, k, flaw)
	}
	return true
}

// refuseText answers a form whose field k is not text; it returns false, for plainText.
func (d *Dashboard) refuseText(w http.ResponseWriter, r *http.Request, v *view, k string, flaw text.Flaw) bool {
	d.errorPage(w, r, v, http.StatusBadRequest, fmt.Sprintf(
		"The field “%s” holds %s, which is not text. Remove it and send the form again.", k, flaw))
	return false
}

// plainPublic is plainText for the pages that come before a session (sign-in, invitation).
func (d *Dashboard) plainPublic(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.plainText(w, r, nil) {
			h(w, r)
		}
	}
}
