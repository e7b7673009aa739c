package api

import (
	"embed"
	"net/http"
	"path"

	"github.com/ibiki/ibiki/internal/respond"
)

// The reference page: this package's OpenAPI document rendered by a small script, from files
// embedded in the binary (nothing is fetched from another site).

//go:embed docs
var docsFS embed.FS

// serveDocsPage: GET /docs/api.
func serveDocsPage(w http.ResponseWriter, r *http.Request) { serveDocsFile(w, r, "index.html") }

// serveDocsAsset: GET /docs/api/{asset}, the page's script and style sheet.
func serveDocsAsset(w http.ResponseWriter, r *http.Request) {
	serveDocsFile(w, r, r.PathValue("asset"))
}

var docsTypes = map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8"}

func serveDocsFile(w http.ResponseWriter, r *http.Request, name string) {
	b, err := docsFS.ReadFile("docs/" + name)
	ct, known := docsTypes[path.Ext(name)]
	if err != nil || !known || name == "index.html" && r.PathValue("asset") != "" {
		respond.Err(w, r, respond.ErrNotFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
