package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNULInForms: a NUL character (which PostgreSQL cannot store) in a form field is a 400
// naming the field on both engines, never a 500; in a link's path it names nothing (404), and
// in a page's query it is dropped, as the search box already did.
func TestNULInForms(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	f.routeNumber("+15550006006", "acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 100}, http.StatusOK)
	user := f.clientUser("acme", "ann@acme.example")
	f.inject("+15557776006", "+15550006006", "hello")
	conv := f.conversationOf(acme.APIKey, "+15557776006")

	forms := []struct {
		name   string
		as     *browser
		path   string
		values url.Values
		field  string
	}{
		{"a new client's name", f.op, "/clients", url.Values{"id": {"beta"}, "name": {"B\x00"}}, "name"},
		{"a client's name", f.op, "/clients/acme", url.Values{"name": {"A\x00"}, "rate_cents": {"1"}, "active": {"on"}}, "name"},
		{"a top-up's reference", f.op, "/clients/acme/credits", url.Values{"amount": {"1.00"}, "reference": {"r\x00"}}, "reference"},
		{"an invited user's name", f.op, "/clients/acme/users", url.Values{"email": {"x@acme.example"}, "name": {"X\x00"}}, "name"},
		{"a number's provider", f.op, "/numbers", url.Values{"number": {"+15550006007"}, "provider": {"p\x00"}}, "provider"},
		{"a simulated reply", f.op, "/simulator", url.Values{"from": {"+15557776007"}, "to": {"+15550006006"}, "body": {"a\x00"}}, "body"},
		{"the webhook URL", user, "/settings/webhook", url.Values{"webhook_url": {"https://x\x00.example"}}, "webhook_url"},
	}
	for _, tt := range forms {
		t.Run(tt.name+" with a NUL is refused, naming the field", func(t *testing.T) {
			a := tt.as.on(t).postForm(tt.path, tt.values)
			if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, tt.field) || !strings.Contains(a.Body, "NUL") {
				t.Errorf("POST %s: %s", tt.path, a)
			}
		})
	}
	t.Run("a reply with a NUL is refused, naming the field", func(t *testing.T) {
		a := user.on(t).postForm("/conversations/"+conv+"/reply", url.Values{"body": {"a\x00b"}})
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "body") {
			t.Errorf("reply: %s", a)
		}
	})
	t.Run("a sign-in with a NUL is refused, naming the field", func(t *testing.T) {
		a := newBrowser(t, f.srv).login("ann\x00@acme.example", userPassword, "")
		if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "email") {
			t.Errorf("sign-in: %s", a)
		}
	})
	t.Run("a link with a NUL in its path is not found", func(t *testing.T) {
		if a := f.op.on(t).get("/clients/a%00"); a.Status != http.StatusNotFound {
			t.Errorf("GET /clients/a%%00: %s", a)
		}
	})
	t.Run("a page's query with a NUL is read without it", func(t *testing.T) {
		for _, p := range []string{"/clients?after=a%00", "/audit?client=a%00&before=b%00", "/unrouted?before=m%00", "/numbers?after=%00"} {
			if a := f.op.on(t).get(p); a.Status != http.StatusOK {
				t.Errorf("GET %s: %s", p, a)
			}
		}
		if a := user.on(t).get("/balance?before=led_%00"); a.Status != http.StatusOK {
			t.Errorf("GET /balance?before=led_%%00: %s", a)
		}
	})
}
