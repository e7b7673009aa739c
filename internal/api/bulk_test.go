package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

type bulkAnswer struct {
	Accepted  int   `json:"accepted"`
	Rejected  int   `json:"rejected"`
	CostCents int64 `json:"cost_cents"`
	Messages  []struct {
		Index int    `json:"index"`
		ID    string `json:"id"`
		To    string `json:"to"`
	} `json:"messages"`
	Errors []struct {
		Index int    `json:"index"`
		Code  string `json:"code"`
		Param string `json:"param"`
	} `json:"errors"`
}

func TestBulkSend(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_BULK_MAX_ITEMS": "5"})
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 100)
	mustDo(t, s, "POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "+15552070009"}, http.StatusCreated)

	t.Run("a list of messages: the good ones are charged and queued, the others reported by index", func(t *testing.T) {
		var out bulkAnswer
		mustDo(t, s, "POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []map[string]string{
			{"to": "+15552070001", "body": "one"},
			{"to": "nope", "body": "two"},
			{"to": "+15552070002", "body": strings.Repeat("x", 200)},
			{"to": "+15552070009", "body": "opted out"},
			{"to": "+15552070003", "body": ""},
		}}, http.StatusAccepted).JSON(t, &out)
		if out.Accepted != 2 || out.Rejected != 3 || out.CostCents != 3 || len(out.Messages) != 2 ||
			out.Messages[0].Index != 0 || out.Messages[1].Index != 2 {
			t.Fatalf("answer = %+v", out)
		}
		want := []struct {
			index       int
			code, param string
		}{{1, "invalid_field", "to"}, {3, "recipient_opted_out", "to"}, {4, "invalid_field", "body"}}
		for i, w := range want {
			if e := out.Errors[i]; e.Index != w.index || e.Code != w.code || e.Param != w.param {
				t.Errorf("error %d = %+v, want %+v", i, e, w)
			}
		}
		if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 97 {
			t.Errorf("balance = %d, want 97", b.BalanceCents)
		}
		if sum, _ := ledgerSum(t, s, acme.APIKey); sum != 97 {
			t.Errorf("ledger sum = %d", sum)
		}
		waitStatus(t, s, acme.APIKey, out.Messages[1].ID, "delivered")
	})
	t.Run("a template with contacts is rendered per recipient", func(t *testing.T) {
		var out bulkAnswer
		mustDo(t, s, "POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{
			"template": "Hello [firstname|there], your code is [code]",
			"contacts": []map[string]any{
				{"phone": "+15552070011", "firstname": "Ann", "code": "A1"},
				{"phone": "+15552070012", "code": 42},
				{"phone": "+15552070013", "firstname": "Bo"},
				{"firstname": "Cy", "code": "C3"},
			}}, http.StatusAccepted).JSON(t, &out)
		if out.Accepted != 2 || len(out.Errors) != 2 || out.Errors[0].Index != 2 || out.Errors[0].Param != "template" ||
			out.Errors[1].Index != 3 || out.Errors[1].Param != "phone" {
			t.Fatalf("answer = %+v", out)
		}
		for i, want := range []string{"Hello Ann, your code is A1", "Hello there, your code is 42"} {
			var m sent
			mustDo(t, s, "GET", "/api/v1/messages/"+out.Messages[i].ID, acme.APIKey, nil, http.StatusOK).JSON(t, &m)
			if m.Body != want {
				t.Errorf("message %d body = %q, want %q", i, m.Body, want)
			}
		}
	})
	t.Run("a template bulk with an Idempotency-Key and a refused item answers the same twice", func(t *testing.T) {
		body := `{"template":"Order [order|none]","contacts":[{"firstname":"no phone"},{"phone":"+15552070021","order":1234567},{"phone":"+15552070022"}]}`
		first := s.DoWith("POST", "/api/v1/messages/bulk", acme.APIKey, body, map[string]string{"Idempotency-Key": "tb-1"})
		again := s.DoWith("POST", "/api/v1/messages/bulk", acme.APIKey, body, map[string]string{"Idempotency-Key": "tb-1"})
		var out bulkAnswer
		if first.JSON(t, &out); first.Status != http.StatusAccepted || string(again.Body) != string(first.Body) {
			t.Fatalf("first %d %s\nagain %d %s", first.Status, first.Body, again.Status, again.Body)
		}
		if out.Accepted != 2 || out.Messages[0].Index != 1 || out.Messages[1].Index != 2 || out.Errors[0].Index != 0 {
			t.Errorf("answer = %s", first.Body)
		}
		var m sent
		mustDo(t, s, "GET", "/api/v1/messages/"+out.Messages[0].ID, acme.APIKey, nil, http.StatusOK).JSON(t, &m)
		if m.Body != "Order 1234567" {
			t.Errorf("body = %q: a number field is written as people write it", m.Body)
		}
	})
	t.Run("the balance is checked for the whole request", func(t *testing.T) {
		var msgs []map[string]string
		for i := range 5 {
			msgs = append(msgs, map[string]string{"to": fmt.Sprintf("+155520701%02d", i), "body": strings.Repeat("y", 1530)})
		}
		mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"rate_cents": 3}, http.StatusOK)
		before := getBalance(t, s, acme.APIKey).BalanceCents
		wantError(t, s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": msgs}),
			http.StatusPaymentRequired, "insufficient_credits", "")
		if b := getBalance(t, s, acme.APIKey).BalanceCents; b != before {
			t.Errorf("balance %d → %d after a refused bulk", before, b)
		}
	})
	t.Run("bad requests are refused whole", func(t *testing.T) {
		six := make([]map[string]string, 6)
		for i := range six {
			six[i] = map[string]string{"to": "+15552070001", "body": "x"}
		}
		wantError(t, s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": six}), 400, "invalid_field", "messages")
		wantError(t, s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{}), 400, "missing_field", "messages")
		wantError(t, s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []any{}}), 400, "invalid_field", "messages")
		wantError(t, s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"template": "hi"}), 400, "missing_field", "contacts")
	})
	t.Run("when nothing is accepted the answer is 422 with the report", func(t *testing.T) {
		res := s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []map[string]string{{"to": "x", "body": "y"}}})
		var out struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
			bulkAnswer
		}
		if res.JSON(t, &out); res.Status != http.StatusUnprocessableEntity || out.Error.Code != "no_valid_messages" || out.Rejected != 1 {
			t.Errorf("%d %s", res.Status, res.Body)
		}
	})
}
