package dashboard_test

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// TestNULInForms: a NUL character (which PostgreSQL cannot store) in a form field is a 400
// naming the field on both engines, never a 500; in a link's path it names nothing (404), and
// in a page's query it is dropped, as the search box already did.
func TestNULInForms(t *testing.T) {
	f, user, conv := textFixture(t)

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

// notText are the ways a request can carry what is not text: a NUL, a byte that is never UTF-8,
// a lead byte followed by no continuation, and an encoded surrogate half.
var notText = []string{"\x00", "\xff", "\xc3(", "\xed\xa0\x80"}

// TestNotTextInRequests: text means valid UTF-8 without NUL, in every part of a dashboard
// request, the same on both engines and never a 5xx. A path that is not text names nothing
// (404); a page's query is read with what is not text cleaned out; a form field that is not
// text is a 400 naming the field; an upload's fields are the domain's to judge (the page
// answers in the form), and its file's name is kept cleaned.
func TestNotTextInRequests(t *testing.T) {
	f, user, conv := textFixture(t)

	for _, bad := range notText {
		esc := url.PathEscape(bad)
		t.Run(fmt.Sprintf("paths with %q name nothing", bad), func(t *testing.T) {
			for _, p := range []struct {
				as           *browser
				method, path string
			}{
				{f.op, "GET", "/clients/a" + esc},
				{f.op, "POST", "/clients/a" + esc + "/credits"},
				{f.op, "POST", "/numbers/a" + esc},
				{f.op, "POST", "/unrouted/a" + esc + "/assign"},
				{f.op, "POST", "/deliveries/a" + esc + "/replay"},
				{user, "GET", "/conversations/a" + esc},
				{user, "POST", "/conversations/a" + esc + "/reply"},
				{user, "GET", "/campaigns/a" + esc},
				{user, "POST", "/campaigns/a" + esc + "/start"},
				{user, "POST", "/contacts/import/a" + esc},
				{newBrowser(t, f.srv), "GET", "/invite/a" + esc},
			} {
				var a answer
				if p.method == "GET" {
					a = p.as.on(t).get(p.path)
				} else {
					a = p.as.on(t).postForm(p.path, url.Values{"body": {"hi"}, "amount": {"1.00"}})
				}
				if a.Status != http.StatusNotFound {
					t.Errorf("%s %s: %s", p.method, p.path, a)
				}
			}
		})
		q := url.QueryEscape(bad)
		t.Run(fmt.Sprintf("a page's query with %q is read without it", bad), func(t *testing.T) {
			for _, p := range []string{"/clients?after=a" + q, "/audit?client=a" + q + "&before=b" + q, "/unrouted?before=m" + q,
				"/numbers?after=" + q, "/deliveries?client=" + q, "/clients/acme?before=" + q, "/setup?client=" + q} {
				if a := f.op.on(t).get(p); a.Status != http.StatusOK {
					t.Errorf("GET %s: %s", p, a)
				}
			}
			for _, p := range []string{"/balance?before=led_" + q, "/conversations?q=" + q, "/contacts?tag=" + q + "&q=" + q,
				"/campaigns/new?tag=" + q, "/estimate?message=" + q, "/contacts/export?tag=" + q} {
				if a := user.on(t).get(p); a.Status != http.StatusOK {
					t.Errorf("GET %s: %s", p, a)
				}
			}
			if a := newBrowser(t, f.srv).get("/login?next=/" + q); a.Status != http.StatusOK {
				t.Errorf("GET /login?next=/%s: %s", q, a)
			}
		})
		t.Run(fmt.Sprintf("a form's query with %q is refused, naming the parameter", bad), func(t *testing.T) {
			a := f.op.on(t).postForm("/clients?from=a"+q, url.Values{"id": {"gamma"}, "name": {"G"}})
			if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "from") {
				t.Errorf("POST /clients?from=a%s: %s", q, a)
			}
		})
		forms := []struct {
			name   string
			as     *browser
			path   string
			values url.Values
			field  string
		}{
			{"a new client's name", f.op, "/clients", url.Values{"id": {"beta"}, "name": {"B" + bad}}, "name"},
			{"a client's name", f.op, "/clients/acme", url.Values{"name": {"A" + bad}, "rate_cents": {"1"}, "active": {"on"}}, "name"},
			{"a top-up's reference", f.op, "/clients/acme/credits", url.Values{"amount": {"1.00"}, "reference": {"r" + bad}}, "reference"},
			{"an invited user's name", f.op, "/clients/acme/users", url.Values{"email": {"x@acme.example"}, "name": {"X" + bad}}, "name"},
			{"a number's provider", f.op, "/numbers", url.Values{"number": {"+15550006107"}, "provider": {"p" + bad}}, "provider"},
			{"a simulated reply", f.op, "/simulator", url.Values{"from": {"+15557776107"}, "to": {"+15550006106"}, "body": {"a" + bad}}, "body"},
			{"the webhook URL", user, "/settings/webhook", url.Values{"webhook_url": {"https://x.example/" + bad}}, "webhook_url"},
			{"a reply", user, "/conversations/" + conv + "/reply", url.Values{"body": {"a" + bad + "b"}}, "body"},
		}
		for _, tt := range forms {
			t.Run(fmt.Sprintf("%s with %q is refused, naming the field", tt.name, bad), func(t *testing.T) {
				a := tt.as.on(t).postForm(tt.path, tt.values)
				if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "“"+tt.field+"”") {
					t.Errorf("POST %s: %s", tt.path, a)
				}
			})
		}
		t.Run(fmt.Sprintf("a sign-in with %q is refused, naming the field", bad), func(t *testing.T) {
			a := newBrowser(t, f.srv).login("ann"+bad+"@acme.example", userPassword, "")
			if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "“email”") {
				t.Errorf("sign-in: %s", a)
			}
		})
		t.Run(fmt.Sprintf("a campaign whose name or message holds %q is refused in the form", bad), func(t *testing.T) {
			for _, field := range []string{"name", "message"} {
				values := url.Values{"name": {"Spring"}, "message": {"Hi"}}
				values.Set(field, values.Get(field)+bad)
				a := user.on(t).postFile("/campaigns", "list.csv", "phone\n+15557776108\n", values)
				if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, field+" must be text") {
					t.Errorf("campaign with %q in its %s: %s", bad, field, a)
				}
			}
		})
		t.Run(fmt.Sprintf("an import's tag with %q is refused in the form", bad), func(t *testing.T) {
			a := user.on(t).postFile("/contacts/import", "t.csv", "phone\n+15551230001\n", url.Values{"tag": {"a" + bad}})
			if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "control characters") {
				t.Errorf("tag with %q: %s", bad, a)
			}
		})
	}
	t.Run("an uploaded file's name that is not text is kept cleaned", func(t *testing.T) {
		for disp, want := range map[string]string{
			`filename*=UTF-8''a%00b.csv`: "ab.csv",
			`filename*=UTF-8''a%FFb.csv`: "a\uFFFDb.csv",
			`filename*=UTF-8''%ED%A0%80`: "\uFFFD",
		} {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("csrf_token", user.csrfToken()) //nolint:errcheck
			fw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; ` + disp}})
			io.WriteString(fw, "phone\n+15551230002\n") //nolint:errcheck
			mw.Close()
			a := user.on(t).do(http.MethodPost, "/contacts/import", &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
			if a.Status != http.StatusOK || !strings.Contains(a.Body, "Map the columns of "+html.EscapeString(want)) {
				t.Errorf("upload of %s: %s", disp, a)
			}
		}
	})
}

// textFixture is a server with client acme, its user Ann signed in, credits, and one
// conversation (its id is conv) to post forms to.
func textFixture(t *testing.T) (f *fixture, user *browser, conv string) {
	t.Helper()
	f = newFixture(t, nil)
	acme := f.client("acme")
	f.routeNumber("+15550006006", "acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 100}, http.StatusOK)
	user = f.clientUser("acme", "ann@acme.example")
	f.inject("+15557776006", "+15550006006", "hello")
	return f, user, f.conversationOf(acme.APIKey, "+15557776006")
}
