package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// One rule for a contact, whichever way it arrives: what POST /api/v1/contacts refuses (400
// naming the field) an import reports as an invalid row of its line, saying the same; what it
// accepts at the limit, an import imports.
func TestAContactObeysTheSameRulesThroughTheAPIAndAnImport(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	tests := []struct {
		name   string
		column string // the CSV column of the value
		value  string
		json   map[string]any
		param  string // "" when accepted
		says   string
	}{
		{"a first name of 256 characters is kept", "first_name", strings.Repeat("é", 256),
			map[string]any{"first_name": strings.Repeat("é", 256)}, "", ""},
		{"a first name of 10,000 characters is refused", "first_name", strings.Repeat("n", 10_000),
			map[string]any{"first_name": strings.Repeat("n", 10_000)}, "first_name", "first_name must be at most 256 characters of text"},
		{"a business of 257 characters is refused", "business", strings.Repeat("b", 257),
			map[string]any{"business": strings.Repeat("b", 257)}, "business", "business must be at most 256 characters of text"},
		{"a custom field of 1,024 characters is kept", "notes", strings.Repeat("w", 1024),
			map[string]any{"fields": map[string]string{"notes": strings.Repeat("w", 1024)}}, "", ""},
		{"a custom field of 1,025 characters is refused", "notes", strings.Repeat("w", 1025),
			map[string]any{"fields": map[string]string{"notes": strings.Repeat("w", 1025)}}, "fields",
			"custom field names are 1-64 bytes and values at most 1024 characters of text"},
		{"a custom field name of 65 bytes is refused", strings.Repeat("k", 65), "v",
			map[string]any{"fields": map[string]string{strings.Repeat("k", 65): "v"}}, "fields", "custom field names are 1-64 bytes"},
		{"a tag of 101 characters is refused", "tags", strings.Repeat("t", 101),
			map[string]any{"tags": []string{strings.Repeat("t", 101)}}, "tags", "tags are 1-100 characters of text"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phone, imported := fmt.Sprintf("+155532%02d001", i), fmt.Sprintf("+155532%02d002", i)
			body := map[string]any{"phone": phone}
			for k, v := range tt.json {
				body[k] = v
			}
			res := s.Do("POST", "/api/v1/contacts", acme.APIKey, body)
			var rep importReport
			mustDoResponse(t, upload(t, s, acme.APIKey, "phone,"+tt.column+"\n"+imported+","+tt.value+"\n", nil),
				http.StatusOK).JSON(t, &rep)
			if tt.param == "" {
				if res.Status != http.StatusCreated || rep.Imported != 1 || rep.InvalidCount != 0 {
					t.Errorf("API %d %.200s; import %+v; want both to keep the contact", res.Status, res.Body, rep)
				}
				return
			}
			wantError(t, res, http.StatusBadRequest, "invalid_field", tt.param)
			var e struct {
				Error struct{ Message string } `json:"error"`
			}
			_ = json.Unmarshal(res.Body, &e)
			if !strings.Contains(e.Error.Message, tt.says) {
				t.Errorf("API message %q, want %q", e.Error.Message, tt.says)
			}
			if rep.Imported != 0 || len(rep.Invalid) != 1 || rep.Invalid[0].Line != 2 || !strings.Contains(rep.Invalid[0].Error, tt.says) {
				t.Errorf("import %+v, want line 2 invalid saying %q", rep, tt.says)
			}
		})
	}
}

func mustDoResponse(t *testing.T, res ibikitest.Response, status int) ibikitest.Response {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d %.300s, want %d", res.Status, res.Body, status)
	}
	return res
}
