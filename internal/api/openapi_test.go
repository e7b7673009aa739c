package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/ibiki/ibiki/internal/api"
	"github.com/ibiki/ibiki/internal/ibikitest"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite docs/openapi.json from the code")

const openAPIFile = "../../docs/openapi.json"

// docs/openapi.json is the document the code builds: a change of a route, a body or an answer
// shows as a diff of the file.
func TestTheOpenAPIFileIsTheOneTheCodeBuilds(t *testing.T) {
	if *updateOpenAPI {
		if err := os.WriteFile(openAPIFile, api.OpenAPI(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, api.OpenAPI()) {
		t.Errorf("docs/openapi.json is not the document the code builds; regenerate it:\n" +
			"  go test ./internal/api -run TestTheOpenAPIFileIsTheOneTheCodeBuilds -update-openapi")
	}
}

func TestTheOpenAPIDocumentIsValidOpenAPI31(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("version %q, want 3.1.0", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("the document does not build as OpenAPI 3: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s", f.Reason, f.FieldPath)
			}
		}
	}
}

// dashboardRegistrar registered the dashboard's HTML pages, which are not the HTTP API the
// document describes (its description says so).
const dashboardRegistrar = "*dashboard.Dashboard"

// Every route registered on the real server's mux is in the document (but the dashboard's
// pages), and every operation of the document is a route of the server: with a providers file
// that has an entry of every type, so that every kind of provider webhook is registered.
func TestEveryRouteOfTheServerIsInTheOpenAPIDocument(t *testing.T) {
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"providers":[
		{"name":"tw","type":"twilio","account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"0123456789abcdef0123456789abcdef"},
		{"name":"agg","type":"http","url":"https://agg.example/sms",
		 "status":{"token":"t0k3n","id_path":"id","status_path":"status","map":{"DELIVRD":"delivered"}}},
		{"name":"extremesms","type":"extremesms","base_url":"https://api.example","api_key":"k"},
		{"name":"relay","type":"generic","allow_get":true},
		{"name":"simulator","type":"simulator"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	app := ibikitest.BuildApp(t, map[string]string{"IBIKI_DATABASE_URL": ibikitest.DatabaseURL(t),
		"IBIKI_ADMIN_TOKEN": ibikitest.AdminToken, "IBIKI_PROVIDERS_FILE": file}, slog.New(slog.NewTextHandler(io.Discard, nil)))

	documented := documentedRoutes(t)
	served := map[string]bool{}
	for _, r := range app.Routes {
		if r.Registrar == dashboardRegistrar {
			continue
		}
		i := slices.IndexFunc(documented, func(d string) bool { return routeMatches(d, r.Pattern) })
		if i < 0 {
			t.Errorf("%s (registered by %s) is not in the OpenAPI document: add it to internal/api/openapi_routes.go", r.Pattern, r.Registrar)
			continue
		}
		served[documented[i]] = true
	}
	for _, d := range documented {
		if !served[d] {
			t.Errorf("the document describes %s, which the server does not register", d)
		}
	}
	if len(served) < 90 {
		t.Errorf("only %d routes matched: the test is not reading the mux or the document", len(served))
	}
}

// documentedRoutes are the mux patterns the document names: each operation's x-ibiki-route,
// and the catch-alls of x-ibiki-fallback-routes.
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Route string `json:"x-ibiki-route"`
		} `json:"paths"`
		Fallbacks []string `json:"x-ibiki-fallback-routes"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	out := slices.Clone(doc.Fallbacks)
	for path, item := range doc.Paths {
		for method, op := range item {
			if op.Route == "" || !strings.EqualFold(strings.Fields(op.Route)[0], method) {
				t.Errorf("%s %s names no route of its method (x-ibiki-route %q)", method, path, op.Route)
				continue
			}
			out = append(out, op.Route)
		}
	}
	return out
}

// routeMatches reports whether the registered pattern is the documented one, where a
// documented {provider} stands for any provider's name.
func routeMatches(documented, pattern string) bool {
	if documented == pattern {
		return true
	}
	d, p := strings.Split(documented, "/"), strings.Split(pattern, "/")
	if len(d) != len(p) {
		return false
	}
	for i := range d {
		if d[i] != p[i] && !(d[i] == "{provider}" && !strings.Contains(p[i], "{")) {
			return false
		}
	}
	return true
}

var localRef = regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"([^"]*)"`)

// The document is served as it is kept, and the reference page renders it from the server's
// own files only.
func TestTheDocumentAndItsReferencePageAreServed(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	res := s.Do("GET", "/api/v1/openapi.json", "", nil)
	if res.Status != http.StatusOK || !bytes.Equal(res.Body, api.OpenAPI()) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s, not the document", res.Status, res.Header.Get("Content-Type"))
	}
	page := s.Do("GET", "/docs/api", "", nil)
	if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs/api: %d %s", page.Status, page.Header.Get("Content-Type"))
	}
	refs := localRef.FindAllStringSubmatch(string(page.Body), -1)
	if len(refs) < 3 {
		t.Fatalf("the page refers to %d files, want its script, its style sheet and the document: %s", len(refs), page.Body)
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page refers to %q, which is not a file of this server", ref)
			continue
		}
		if got := s.Do("GET", ref, "", nil); got.Status != http.StatusOK {
			t.Errorf("GET %s (from the page): %d", ref, got.Status)
		}
	}
	script := s.Do("GET", "/docs/api/docs.js", "", nil)
	if strings.Contains(string(script.Body), "http://") || strings.Contains(string(script.Body), "https://") {
		t.Errorf("the page's script names another site")
	}
	for _, path := range []string{"/docs/api/nothing.js", "/docs/api/index.html"} {
		if res := s.Do("GET", path, "", nil); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.Status)
		}
	}
}
