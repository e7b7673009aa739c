package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/respond"
)

// JSON bodies are checked for NUL characters where they are decoded (respond.Decode). The URL is
// the API's other text: a NUL there must not reach the database either (PostgreSQL cannot
// compare text with one, SQLite would simply find nothing), so both engines answer alike.

// plainURL answers a request with a NUL character in its path or a query parameter before its
// handler runs: a path names a resource, and no resource has a NUL in its name (404); a query
// parameter is a 400 naming it. Cursors, which are encoded, are checked by pageParams.
func plainURL(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasNUL(r.URL.Path) {
			respond.Err(w, r, respond.ErrNotFound)
			return
		}
		if strings.Contains(r.URL.RawQuery, "%00") {
			q := r.URL.Query()
			for _, k := range slices.Sorted(maps.Keys(q)) {
				if slices.ContainsFunc(q[k], hasNUL) {
					respond.Err(w, r, respond.Invalid(k, k+" must be text without NUL characters (U+0000)"))
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// hasNUL reports whether s holds a NUL character.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }
