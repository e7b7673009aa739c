package api_test

import (
	"net/http"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// A NUL character in a URL never reaches the database (PostgreSQL cannot compare text with
// one): in a path it names nothing (404), in a query parameter it is a 400 naming the parameter,
// and a cursor that decodes to one is not a cursor this API gave out. The same on both engines.
func TestNULInURLs(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	tests := []struct {
		name, method, path string
		admin              bool
		status             int
		code, param        string
	}{
		{"a contact id", "GET", "/api/v1/contacts/ct_%00", false, 404, "not_found", ""},
		{"a contact id to delete", "DELETE", "/api/v1/contacts/ct_%00", false, 404, "not_found", ""},
		{"a message id", "GET", "/api/v1/messages/msg_%00", false, 404, "not_found", ""},
		{"a campaign id", "GET", "/api/v1/campaigns/cmp_%00", false, 404, "not_found", ""},
		{"an import id", "GET", "/api/v1/contacts/imports/imp_%00", false, 404, "not_found", ""},
		{"a delivery id", "GET", "/api/v1/webhook/deliveries/evt_%00", false, 404, "not_found", ""},
		{"a client id", "GET", "/admin/v1/clients/a%00", true, 404, "not_found", ""},
		{"a client id to top up", "POST", "/admin/v1/clients/a%00/credits", true, 404, "not_found", ""},
		{"a contact search", "GET", "/api/v1/contacts?q=a%00", false, 400, "invalid_field", "q"},
		{"a contact tag", "GET", "/api/v1/contacts?tag=a%00", false, 400, "invalid_field", "tag"},
		{"a client filter", "GET", "/admin/v1/audit?client_id=a%00", true, 400, "invalid_field", "client_id"},
		{"a delivery filter", "GET", "/admin/v1/deliveries?client_id=a%00", true, 400, "invalid_field", "client_id"},
		{"a cursor of messages", "GET", "/api/v1/messages?cursor=AA", false, 400, "invalid_field", "cursor"},
		{"a cursor of the ledger", "GET", "/api/v1/ledger?cursor=YQBi", false, 400, "invalid_field", "cursor"},
		{"a cursor of campaigns", "GET", "/api/v1/campaigns?cursor=AA", false, 400, "invalid_field", "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" with a NUL", func(t *testing.T) {
			auth := acme.APIKey
			if tt.admin {
				auth = admin
			}
			wantError(t, s.Do(tt.method, tt.path, auth, nil), tt.status, tt.code, tt.param)
		})
	}
	t.Run("without credentials, a NUL in the URL is still unauthorized", func(t *testing.T) {
		wantError(t, s.Do("GET", "/api/v1/contacts?q=a%00", "", nil), http.StatusUnauthorized, "unauthorized", "")
	})
}
