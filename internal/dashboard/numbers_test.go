package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

func adminNumbers(t *testing.T, s *ibikitest.Server) map[string]apiNumber {
	t.Helper()
	var page struct{ Data []apiNumber }
	opMustDo(t, s, "GET", "/admin/v1/numbers", ibikitest.AdminToken, nil, http.StatusOK).JSON(t, &page)
	out := map[string]apiNumber{}
	for _, n := range page.Data {
		out[n.Number] = n
	}
	return out
}

func TestOperationsNumbersAddChangeAndRemove(t *testing.T) {
	s := opServer(t, nil)
	s.CreateClient("acme", "")
	b := opSignIn(t, s)

	t.Run("a number added as dedicated shows in the admin API and on the page", func(t *testing.T) {
		p := b.post("/numbers", url.Values{"number": {"+15550000001"}, "client_id": {"acme"}, "provider": {""}}, http.StatusSeeOther)
		if p.Location != "/numbers" {
			t.Errorf("redirect to %q", p.Location)
		}
		n, ok := adminNumbers(t, s)["+15550000001"]
		if !ok || n.ClientID == nil || *n.ClientID != "acme" || n.Provider == nil || *n.Provider != "simulator" {
			t.Fatalf("admin API numbers = %+v", adminNumbers(t, s))
		}
		page := html.UnescapeString(b.get("/numbers", http.StatusOK).Body)
		for _, want := range []string{`data-number="+15550000001"`, "Added +15550000001 dedicated to acme.", `action="/numbers/%2B15550000001"`} {
			if !strings.Contains(page, want) {
				t.Errorf("numbers page lacks %q\n%s", want, page)
			}
		}
	})

	t.Run("a number without a client goes to the shared pool", func(t *testing.T) {
		b.post("/numbers", url.Values{"number": {"+15550000002"}}, http.StatusSeeOther)
		if n := adminNumbers(t, s)["+15550000002"]; n.Number == "" || n.ClientID != nil {
			t.Fatalf("pool number = %+v", n)
		}
	})

	t.Run("bad input is refused with the API's reasons and changes nothing", func(t *testing.T) {
		tests := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"a missing number", url.Values{"number": {""}}, http.StatusUnprocessableEntity, "Number: number is required."},
			{"a number that is not one", url.Values{"number": {"not a phone"}}, http.StatusUnprocessableEntity, "Number: "},
			{"an unknown client", url.Values{"number": {"+15550000003"}, "client_id": {"nobody"}}, http.StatusUnprocessableEntity, "no client has the id nobody"},
			{"an unknown provider", url.Values{"number": {"+15550000003"}, "provider": {"nope"}}, http.StatusUnprocessableEntity, "is not configured (configured: simulator)"},
			{"a number already configured", url.Values{"number": {"+15550000001"}}, http.StatusConflict, "already configured"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/numbers", tt.form, tt.status)
				if !strings.Contains(html.UnescapeString(p.Body), tt.want) {
					t.Errorf("page lacks %q", tt.want)
				}
			})
		}
		if ns := adminNumbers(t, s); len(ns) != 2 {
			t.Errorf("numbers after refusals = %+v", ns)
		}
	})

	t.Run("changing the client to the pool and back is seen by the API", func(t *testing.T) {
		b.post("/numbers/%2B15550000001", url.Values{"client_id": {""}, "provider": {"simulator"}}, http.StatusSeeOther)
		if n := adminNumbers(t, s)["+15550000001"]; n.ClientID != nil {
			t.Fatalf("after moving to the pool: %+v", n)
		}
		b.post("/numbers/%2B15550000002", url.Values{"client_id": {"acme"}}, http.StatusSeeOther)
		if n := adminNumbers(t, s)["+15550000002"]; n.ClientID == nil || *n.ClientID != "acme" {
			t.Fatalf("after dedicating: %+v", n)
		}
		b.post("/numbers/%2B15550000002", url.Values{"client_id": {"nobody"}}, http.StatusUnprocessableEntity)
		b.post("/numbers/%2B15559999999", url.Values{"client_id": {""}}, http.StatusNotFound)
	})

	t.Run("a removed number is gone", func(t *testing.T) {
		b.post("/numbers/%2B15550000001/delete", nil, http.StatusSeeOther)
		if _, ok := adminNumbers(t, s)["+15550000001"]; ok {
			t.Fatal("number still configured after removal")
		}
		b.post("/numbers/%2B15550000001/delete", nil, http.StatusNotFound)
	})

	t.Run("a form without the CSRF token changes nothing", func(t *testing.T) {
		p := b.do("POST", "/numbers", url.Values{"number": {"+15550000004"}})
		if p.Status != http.StatusForbidden {
			t.Errorf("status = %d, want 403", p.Status)
		}
		if _, ok := adminNumbers(t, s)["+15550000004"]; ok {
			t.Error("number added without a CSRF token")
		}
	})

	t.Run("every action is in the audit log", func(t *testing.T) {
		p := b.get("/audit", http.StatusOK)
		for _, want := range []string{"number.create", "number.update", "number.delete"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("audit log lacks %s", want)
			}
		}
	})
}
