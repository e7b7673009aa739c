package dashboard

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// plainText keeps the NUL characters (U+0000) of a request away from the database, where
// PostgreSQL can neither store nor compare them (and SQLite would store them), so that both
// engines answer alike: a path with one names nothing (404); a page's query loses them, as the
// search box always did; a form posted with one is refused with a 400 naming the field. It
// reports whether the request may go on. Uploads (multipart forms) are left to their pages,
// which check their own fields and answer in the form (a campaign's text, an import's tag).
func (d *Dashboard) plainText(w http.ResponseWriter, r *http.Request, v *view) bool {
	if hasNUL(r.URL.Path) {
		d.errorPage(w, r, v, http.StatusNotFound, "")
		return false
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	if strings.Contains(r.URL.RawQuery, "%00") {
		q := r.URL.Query()
		if k := nulField(q); k != "" && !read {
			return d.refuseNUL(w, r, v, k)
		}
		for _, vs := range q {
			for i := range vs {
				vs[i] = strings.ReplaceAll(vs[i], "\x00", "")
			}
		}
		r.URL.RawQuery = q.Encode()
	}
	if read || r.MultipartForm != nil || strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return true
	}
	_ = r.ParseForm() // a no-op once the page has read it; a form that cannot be read is the page's to answer
	if k := nulField(r.PostForm); k != "" {
		return d.refuseNUL(w, r, v, k)
	}
	return true
}

// refuseNUL answers a form whose field k holds a NUL character; it returns false, for plainText.
func (d *Dashboard) refuseNUL(w http.ResponseWriter, r *http.Request, v *view, k string) bool {
	d.errorPage(w, r, v, http.StatusBadRequest, fmt.Sprintf(
		"The field “%s” holds a NUL character (U+0000), which is not text. Remove it and send the form again.", k))
	return false
}

// nulField names the first field (in name order) of vs with a NUL character, or "".
func nulField(vs map[string][]string) string {
	for _, k := range slices.Sorted(maps.Keys(vs)) {
		if slices.ContainsFunc(vs[k], hasNUL) {
			return k
		}
	}
	return ""
}

// hasNUL reports whether s holds a NUL character.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// plainPublic is plainText for the pages that come before a session (sign-in, invitation).
func (d *Dashboard) plainPublic(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.plainText(w, r, nil) {
			h(w, r)
		}
	}
}
