package api_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// notText are the ways a URL can carry what is not text: a NUL, a byte that is never UTF-8, a
// lead byte followed by no continuation, and an encoded surrogate half (not UTF-8 either).
var notText = []string{"%00", "%FF", "%C3%28", "%ED%A0%80"}

// Text in an API request means valid UTF-8 without NUL, wherever it is: the URL's path (an id
// that is not text names nothing: 404), a query parameter (400 naming it), a header the API
// stores (Idempotency-Key), the same on both engines and never a 5xx.
func TestNotTextInURLsAndHeaders(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")

	paths := []struct {
		method, path string
		admin        bool
	}{
		{"GET", "/api/v1/messages/msg_X", false},
		{"GET", "/api/v1/contacts/ct_X", false},
		{"PATCH", "/api/v1/contacts/ct_X", false},
		{"DELETE", "/api/v1/contacts/ct_X", false},
		{"GET", "/api/v1/contacts/imports/imp_X", false},
		{"GET", "/api/v1/conversations/X/messages", false},
		{"POST", "/api/v1/conversations/X/messages", false},
		{"GET", "/api/v1/campaigns/cmp_X", false},
		{"GET", "/api/v1/campaigns/cmp_X/recipients", false},
		{"GET", "/api/v1/campaigns/cmp_X/results", false},
		{"POST", "/api/v1/campaigns/cmp_X/start", false},
		{"GET", "/api/v1/suppressions/X", false},
		{"DELETE", "/api/v1/suppressions/X", false},
		{"GET", "/api/v1/webhook/deliveries/evt_X", false},
		{"GET", "/admin/v1/clients/X", true},
		{"PATCH", "/admin/v1/clients/X", true},
		{"POST", "/admin/v1/clients/X/rotate-key", true},
		{"POST", "/admin/v1/clients/X/credits", true},
		{"GET", "/admin/v1/clients/X/ledger", true},
		{"GET", "/admin/v1/clients/X/suppressions", true},
		{"DELETE", "/admin/v1/clients/acme/suppressions/X", true},
		{"PATCH", "/admin/v1/numbers/X", true},
		{"DELETE", "/admin/v1/numbers/X", true},
		{"POST", "/admin/v1/unrouted/msg_X/assign", true},
		{"GET", "/admin/v1/deliveries/evt_X", true},
		{"POST", "/admin/v1/deliveries/evt_X/replay", true},
	}
	for _, p := range paths {
		for _, bad := range notText {
			path := strings.Replace(p.path, "X", "a"+bad, 1)
			t.Run(fmt.Sprintf("%s %s names nothing", p.method, path), func(t *testing.T) {
				wantError(t, s.Do(p.method, path, keyFor(acme, p.admin), map[string]any{}), http.StatusNotFound, "not_found", "")
			})
		}
	}

	params := []struct {
		path, param string
		admin       bool
	}{
		{"/api/v1/contacts", "q", false},
		{"/api/v1/contacts", "tag", false},
		{"/api/v1/messages", "status", false},
		{"/api/v1/messages", "to", false},
		{"/api/v1/campaigns/cmp_none/recipients", "status", false},
		{"/api/v1/webhook/deliveries", "status", false},
		{"/api/v1/contacts/export", "format", false},
		{"/admin/v1/audit", "client_id", true},
		{"/admin/v1/deliveries", "client_id", true},
		{"/admin/v1/contacts/export", "client_id", true},
	}
	for _, p := range params {
		for _, bad := range notText {
			path := p.path + "?" + p.param + "=a" + bad
			t.Run(fmt.Sprintf("GET %s is refused, naming %s", path, p.param), func(t *testing.T) {
				wantError(t, s.Do("GET", path, keyFor(acme, p.admin), nil), http.StatusBadRequest, "invalid_field", p.param)
			})
		}
	}

	// A cursor is base64 of what the API gave out: it decodes to text or it is not one.
	for _, cursor := range []string{"_w", "YcMo", "7aCA"} { // ÿ, a + C3 28, ED A0 80
		t.Run("a cursor that decodes to bytes that are not text ("+cursor+") is not one this API gave out", func(t *testing.T) {
			wantError(t, s.Do("GET", "/api/v1/messages?cursor="+cursor, acme.APIKey, nil), http.StatusBadRequest, "invalid_field", "cursor")
		})
	}

	for _, key := range []string{"k\xff", "\xc3(", "\xed\xa0\x80"} {
		t.Run(fmt.Sprintf("an Idempotency-Key of %q is refused, naming it", key), func(t *testing.T) {
			res := s.DoWith("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15552810001", "body": "hi"},
				map[string]string{"Idempotency-Key": key})
			wantError(t, res, http.StatusBadRequest, "invalid_field", "Idempotency-Key")
		})
	}
}

func keyFor(c ibikitest.CreatedClient, admin bool) string {
	if admin {
		return ibikitest.AdminToken
	}
	return c.APIKey
}

// A JSON body cannot carry what is not text but as a NUL (`\u0000`, refused by respond.Decode):
// bytes that are not UTF-8, and escaped surrogate halves, are read as U+FFFD by encoding/json,
// in values and in names alike, on both engines.
func TestJSONReadsBytesThatAreNotUTF8AsReplacementCharacters(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	s.Do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 1000})

	body := []byte("{\"phone\":\"+15552820001\",\"first_name\":\"A\xffB\",\"last_name\":\"\\ud800C\",\"fields\":{\"k\xc3(\":\"v\\udfff\"}}")
	res := s.Do("POST", "/api/v1/contacts", acme.APIKey, body)
	if res.Status != http.StatusCreated {
		t.Fatalf("create contact: %d %s", res.Status, res.Body)
	}
	var ct struct {
		FirstName string            `json:"first_name"`
		LastName  string            `json:"last_name"`
		Fields    map[string]string `json:"fields"`
	}
	res.JSON(t, &ct)
	if ct.FirstName != "A\uFFFDB" || ct.LastName != "\uFFFDC" || ct.Fields["k\uFFFD("] != "v\uFFFD" {
		t.Errorf("contact = %+v, want U+FFFD for every byte that is not UTF-8", ct)
	}

	res = s.Do("POST", "/api/v1/messages", acme.APIKey, []byte("{\"to\":\"+15552820002\",\"body\":\"hi \xfe\xff\"}"))
	if res.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", res.Status, res.Body)
	}
	var m struct{ Body string }
	res.JSON(t, &m)
	if m.Body != "hi \uFFFD\uFFFD" {
		t.Errorf("body = %q, want U+FFFD for each byte that is not UTF-8", m.Body)
	}
}

// multipartBody builds a multipart form: fields in order, then (when name is set) a file part
// whose Content-Disposition is written as given (disp), so a test can send any file name.
func multipartBody(fields [][2]string, disp, file string) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1]) //nolint:errcheck
	}
	if disp != "" {
		fw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {disp}, "Content-Type": {"text/csv"}})
		io.WriteString(fw, file) //nolint:errcheck
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// The text fields of the API's uploads (contact import, campaign) are judged as JSON fields
// are: what is not text is a 400 naming the field, on both engines. The uploaded file's name is
// not the client's text but metadata: it is kept cleaned (no NUL, valid UTF-8, bounded), and
// the upload goes through.
func TestNotTextInUploads(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	s.Do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 1000})
	const csv = "phone,first_name\n+15552830001,Ann\n"
	plainFile := `form-data; name="file"; filename="contacts.csv"`

	// A mapping is JSON in a form field: what is not text comes raw in the field, or as a NUL
	// escaped in the JSON (`\u0000`, which the field's own text does not show).
	fields := []struct {
		path, field string
		others      [][2]string
		value       func(bad string) string
	}{
		{"/api/v1/contacts/import", "tag", nil, func(bad string) string { return "t" + bad }},
		{"/api/v1/contacts/import", "mapping", nil, func(bad string) string {
			return `{"phone":"phone","first` + bad + `":"first_name"}`
		}},
		{"/api/v1/campaigns", "name", [][2]string{{"message", "Hi"}, {"draft", "true"}}, func(bad string) string { return "n" + bad }},
		{"/api/v1/campaigns", "message", [][2]string{{"draft", "true"}}, func(bad string) string { return "Hi" + bad }},
		{"/api/v1/campaigns", "mapping", [][2]string{{"message", "Hi"}, {"draft", "true"}}, func(bad string) string {
			return `{"phone":"phone` + bad + `"}`
		}},
		{"/api/v1/contacts/import", "mapping", nil, func(string) string {
			return `{"phone":"phone","first\u0000":"first_name"}`
		}},
		{"/api/v1/campaigns", "mapping", [][2]string{{"message", "Hi"}, {"draft", "true"}}, func(string) string {
			return `{"phone":"phone\u0000"}`
		}},
	}
	tried := map[string]bool{}
	for _, f := range fields {
		for _, bad := range []string{"\x00", "\xff", "\xc3("} {
			v := f.value(bad)
			if tried[f.path+" "+v] {
				continue // a value that does not depend on bad (an escaped NUL)
			}
			tried[f.path+" "+v] = true
			t.Run(fmt.Sprintf("%s with %q in %s is refused, naming it", f.path, v, f.field), func(t *testing.T) {
				body, ct := multipartBody(append([][2]string{{f.field, v}}, f.others...), plainFile, csv)
				res := s.DoWith("POST", f.path, acme.APIKey, body, map[string]string{"Content-Type": ct})
				wantError(t, res, http.StatusBadRequest, "invalid_field", f.field)
			})
		}
	}

	names := []struct{ disp, want string }{
		{`form-data; name="file"; filename*=UTF-8''a%00b.csv`, "ab.csv"},
		{`form-data; name="file"; filename*=UTF-8''a%FFb.csv`, "a\uFFFDb.csv"},
		{`form-data; name="file"; filename*=UTF-8''%C3%28.csv`, "\uFFFD(.csv"},
		{`form-data; name="file"; filename="` + strings.Repeat("n", 300) + `.csv"`, strings.Repeat("n", 255)},
	}
	for _, n := range names {
		t.Run("an import of a file named "+n.disp[strings.Index(n.disp, "filename"):min(len(n.disp), 60)]+" is kept with its name cleaned", func(t *testing.T) {
			body, ct := multipartBody(nil, n.disp, csv)
			res := s.DoWith("POST", "/api/v1/contacts/import", acme.APIKey, body, map[string]string{"Content-Type": ct})
			if res.Status != http.StatusOK {
				t.Fatalf("import: %d %s", res.Status, res.Body)
			}
			var rep struct{ ID, Status string }
			res.JSON(t, &rep)
			im, err := s.Store.ImportByID(t.Context(), acme.ID, rep.ID)
			if err != nil || rep.Status != "completed" || im.Filename != n.want {
				t.Errorf("import %s %s: file name %q, %v; want %q", rep.ID, rep.Status, im.Filename, err, n.want)
			}
		})
		t.Run("a campaign from a file named "+n.disp[strings.Index(n.disp, "filename"):min(len(n.disp), 60)]+" is created", func(t *testing.T) {
			body, ct := multipartBody([][2]string{{"message", "Hi"}, {"draft", "true"}}, n.disp, csv)
			if res := s.DoWith("POST", "/api/v1/campaigns", acme.APIKey, body, map[string]string{"Content-Type": ct}); res.Status != http.StatusCreated {
				t.Errorf("campaign: %d %s", res.Status, res.Body)
			}
		})
	}
}
