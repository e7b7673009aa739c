package dashboard_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The dashboard's forms work without JavaScript, and what a person types stays what it is.
func TestFormsWithoutJavaScript(t *testing.T) {
	f := newFixture(t, map[string]string{"IBIKI_MAX_BODY_BYTES": "8192", "IBIKI_MAX_UPLOAD_BYTES": "16384"})
	acme := f.client("acme")
	f.routeNumber("+15550005005", "acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 100}, http.StatusOK)
	user := f.clientUser("acme", "ann@acme.example")
	f.inject("+15557775005", "+15550005005", "hello")
	conv := f.conversationOf(acme.APIKey, "+15557775005")

	t.Run("a reply posted as a plain form is sent, and the browser goes back to the thread", func(t *testing.T) {
		a := user.on(t).postForm("/conversations/"+conv+"/reply", url.Values{"body": {"plain form reply"}})
		if a.Status != http.StatusSeeOther || a.Location() != "/conversations/"+conv {
			t.Fatalf("reply: %s", a)
		}
		if page := user.on(t).follow(a).Body; !strings.Contains(page, "plain form reply") || !strings.Contains(page, "Sent.") {
			t.Errorf("the thread does not show the reply and its confirmation")
		}
	})
	t.Run("a search keeps its text in the live refresh of the list", func(t *testing.T) {
		page := user.on(t).get("/?q=" + url.QueryEscape("zz%&#")).Body
		if !strings.Contains(page, "q=zz%25%26%23") {
			t.Errorf("the list's refresh URL does not carry the search: %s", page)
		}
	})
	t.Run("a search with a NUL byte or invalid UTF-8 is cleaned, not an error", func(t *testing.T) {
		for _, q := range []string{"a%00b", "%FF", "he%00llo"} {
			if a := user.on(t).get("/?q=" + q); a.Status != http.StatusOK {
				t.Errorf("search %s: %d", q, a.Status)
			}
			if a := user.on(t).get("/contacts?q=" + q + "&tag=" + q); a.Status != http.StatusOK {
				t.Errorf("contact search %s: %d", q, a.Status)
			}
		}
	})
	t.Run("an upload over the limit gets a page saying so", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf_token", user.csrfToken()) //nolint:errcheck
		fw, _ := mw.CreateFormFile("file", "big.csv")
		io.WriteString(fw, strings.Repeat("+15551230000,x\n", 2000)) //nolint:errcheck
		mw.Close()
		a := user.on(t).do(http.MethodPost, "/contacts/import", &buf, map[string]string{
			"Content-Type": mw.FormDataContentType(), "Accept": "text/html,application/xhtml+xml"})
		if a.Status != http.StatusRequestEntityTooLarge || !strings.Contains(a.Body, "too large") ||
			!strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") {
			t.Errorf("oversized upload: %s", a)
		}
	})
	t.Run("a tag with control characters is refused with a message", func(t *testing.T) {
		a := user.on(t).postFile("/contacts/import", "t.csv", "phone\n+15551230001\n", url.Values{"tag": {"a\x00b"}})
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "control characters") {
			t.Errorf("tag with NUL: %s", a)
		}
	})
	t.Run("a user of a deactivated client can still sign out and reach the sign-in form", func(t *testing.T) {
		other := f.on(t).clientUser("acme", "bob@acme.example")
		off := false
		f.on(t).admin("PATCH", "/admin/v1/clients/acme", map[string]any{"active": off}, http.StatusOK)
		if a := other.get("/login"); a.Status != http.StatusOK || !strings.Contains(a.Body, `action="/login"`) {
			t.Errorf("GET /login: %s", a)
		}
		if a := other.postForm("/logout", nil); a.Status != http.StatusSeeOther || a.Location() != "/login" {
			t.Errorf("POST /logout: %s", a)
		}
	})
}
