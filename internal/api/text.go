package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/text"
)

// JSON bodies are held to the rule of package text where they are decoded (respond.Decode),
// multipart fields where they are read (formText). The URL is the API's other text: what is not
// text there must not reach the database either (PostgreSQL cannot compare text with it, SQLite
// would simply find nothing), so both engines answer alike.

// plainURL answers a request whose path or a query parameter is not text before its handler
// runs: a path names a resource, and no resource has such a name (404); a query parameter is a
// 400 naming it. Cursors, which are encoded, are checked by pageParams.
func plainURL(h http.Handler) http.Handler {
	return plainURLWith(h, respond.Err)
}

// plainURLWith is plainURL answering errors with fail (another API surface's shape).
func plainURLWith(h http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !text.Valid(r.URL.Path) {
			fail(w, r, respond.ErrNotFound)
			return
		}
		// Only an escape or a raw byte past ASCII can make a query's values other than text.
		if raw := r.URL.RawQuery; strings.Contains(raw, "%") || !text.Valid(raw) {
			if k, flaw := text.Field(r.URL.Query()); flaw != text.OK {
				fail(w, r, respond.NotText(k, flaw))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// formText is the 400 for a multipart form's field whose value is not text, nil for text.
func formText(name, v string) error {
	if flaw := text.Check(v); flaw != text.OK {
		return respond.NotText(name, flaw)
	}
	return nil
}

// mappingText is the 400 for an upload's column mapping with a field or column name that is not
// text. The mapping is JSON, which can spell a NUL (`\u0000`) where the form's text has none.
func mappingText(m map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		for _, s := range [...]string{k, m[k]} {
			if err := formText("mapping", s); err != nil {
				return err
			}
		}
	}
	return nil
}
