package ibikitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The contract check itself: it lets through what the document describes and reports the rest.
func TestTheContractCheckReportsWhatTheDocumentDoesNotDescribe(t *testing.T) {
	v, err := OpenAPIValidator()
	if err != nil {
		t.Fatal(err)
	}
	answer := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
	const balance = `{"client_id":"acme","balance_cents":5,"rate_cents":1}`
	tests := []struct {
		name, method, path, auth, body string
		h                              http.Handler
		problem                        string // "" when the exchange matches
	}{
		{"a documented answer passes", "GET", "/api/v1/balance", "Bearer ibk_x", "", answer(200, balance), ""},
		{"an answer missing a field is reported", "GET", "/api/v1/balance", "Bearer ibk_x", "",
			answer(200, `{"client_id":"acme","balance_cents":5}`), "the answer does not match"},
		{"an answer with a field the document lacks is reported", "GET", "/api/v1/balance", "Bearer ibk_x", "",
			answer(200, `{"client_id":"acme","balance_cents":5,"rate_cents":1,"extra":true}`), "the answer does not match"},
		{"a status the document does not give is reported", "GET", "/api/v1/balance", "Bearer ibk_x", "",
			answer(418, `{"error":{"code":"teapot","message":"no"}}`), "the answer does not match"},
		{"an error code the document does not list is reported", "GET", "/api/v1/balance", "", "",
			answer(401, `{"error":{"code":"who_are_you","message":"no"}}`), "the answer does not match"},
		{"a bad request refused as documented passes", "GET", "/api/v1/ledger?limit=0", "Bearer ibk_x", "",
			answer(400, `{"error":{"code":"invalid_field","message":"limit must be…","param":"limit"}}`), ""},
		{"a bad request the server took is reported", "GET", "/api/v1/ledger?limit=0", "Bearer ibk_x", "",
			answer(200, `{"data":[],"next_cursor":null}`), "the request does not match"},
		{"a bad body refused as documented passes", "POST", "/api/v1/messages", "Bearer ibk_x", `{"to":1}`,
			answer(400, `{"error":{"code":"invalid_field","message":"to must be a string","param":"to"}}`), ""},
		{"a body with a field the document lacks that the server took is reported", "PUT", "/api/v1/voice", "Bearer ibk_x",
			`{"action":"say","bogus":1}`, answer(200, `{"action":"say","configured":true,"client_id":"acme"}`), "the request does not match"},
		{"a documented body passes", "PUT", "/api/v1/voice", "Bearer ibk_x",
			`{"action":"say"}`, answer(200, `{"action":"say","configured":true,"client_id":"acme"}`), ""},
		{"an unknown path answered 404 in the error shape passes", "GET", "/api/v1/nothing", "", "",
			answer(404, `{"error":{"code":"not_found","message":"no such resource"}}`), ""},
		{"an unknown path answered otherwise is reported", "GET", "/api/v1/nothing", "", "",
			answer(200, `{}`), "not an operation of the document"},
		{"Twilio's 404 in its shape passes", "GET", "/2010-04-01/Nothing", "", "",
			answer(404, `{"code":20404,"message":"not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := new(contract)
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			c.wrap(v, tc.h).ServeHTTP(httptest.NewRecorder(), req)
			got := strings.Join(c.problems, "\n")
			if tc.problem == "" && got != "" || tc.problem != "" && !strings.Contains(got, tc.problem) {
				t.Errorf("problems %q, want %q", got, tc.problem)
			}
		})
	}
}
