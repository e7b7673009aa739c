package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

func TestRoutingRules(t *testing.T) {
	// Two clients sharing a contact is what the "contact" rule must handle: the operator allows it.
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_CONTACT_CONFLICTS": "allow"})
	acmeHook, globexHook := ibikitest.NewReceiver(t), ibikitest.NewReceiver(t)
	acme, globex := s.CreateClient("acme", acmeHook.URL), s.CreateClient("globex", globexHook.URL)
	keys := map[string]string{"acme": acme.APIKey, "globex": globex.APIKey}
	hooks := map[string]*ibikitest.Receiver{"acme": acmeHook, "globex": globexHook}
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]string{"number": "+15550000001", "client_id": "globex"}, http.StatusCreated)
	contact := func(key, phone, first string) {
		mustDo(t, s, "POST", "/api/v1/contacts", key, map[string]string{"phone": phone, "first_name": first}, http.StatusCreated)
	}
	// routedTo checks where a message went, in the delivered event and in the API.
	routedTo := func(t *testing.T, id, client, rule string) event {
		t.Helper()
		ev := eventFor(t, hooks[client], id)
		if ev.Data.RoutedBy != rule || ev.Data.ClientID != client {
			t.Errorf("delivered event routed_by %q to %q, want %q to %q", ev.Data.RoutedBy, ev.Data.ClientID, rule, client)
		}
		if m := message(t, s, keys[client], id); m.RoutedBy != rule {
			t.Errorf("GET message routed_by = %q, want %q", m.RoutedBy, rule)
		}
		return ev
	}

	t.Run("a dedicated receiving number beats the business tag", func(t *testing.T) {
		p := extreme("+15552000001", "acme", "to a dedicated number", "r-1")
		p["receiver"] = "+15550000001"
		routedTo(t, inbound(t, s, p), "globex", "number")
	})
	t.Run("the business tag names the client, forgiving case and spaces", func(t *testing.T) {
		routedTo(t, inbound(t, s, extreme("+15552000002", " Acme ", "tagged", "r-2")), "acme", "business")
	})
	t.Run("a phone that is a contact of exactly one client goes to that client", func(t *testing.T) {
		contact(acme.APIKey, "+15552000003", "Ann")
		ev := routedTo(t, inbound(t, s, extreme("+15552000003", "", "known", "r-3")), "acme", "contact")
		if ev.Data.Contact.FirstName != "Ann" {
			t.Errorf("contact in the event = %+v, want the client's contact Ann", ev.Data.Contact)
		}
	})

	var unrouted string
	t.Run("a phone that is a contact of two clients, with no other clue, is unrouted", func(t *testing.T) {
		contact(acme.APIKey, "+15552000004", "Bo")
		contact(globex.APIKey, "+15552000004", "Bo")
		p := extreme("+15552000004", "", "whose am I", "r-4")
		unrouted = inbound(t, s, p)
		var got unroutedOut
		eventually(t, "the message listed as unrouted", func() bool {
			var page struct{ Data []unroutedOut }
			s.Do("GET", "/admin/v1/unrouted", admin, nil).JSON(t, &page)
			i := slices.IndexFunc(page.Data, func(u unroutedOut) bool { return u.ID == unrouted })
			if i >= 0 {
				got = page.Data[i]
			}
			return i >= 0
		})
		if got.From != "+15552000004" || got.To != "+15557654321" || got.Body != "whose am I" || got.ReceivedAt == "" {
			t.Errorf("unrouted entry = %+v", got)
		}
		for _, key := range keys {
			wantError(t, s.Do("GET", "/api/v1/messages/"+unrouted, key, nil), http.StatusNotFound, "not_found", "")
		}
	})

	t.Run("assigning an unrouted message delivers it to the chosen client", func(t *testing.T) {
		wantError(t, s.Do("POST", "/admin/v1/unrouted/"+unrouted+"/assign", admin, map[string]string{}), http.StatusBadRequest, "missing_field", "client_id")
		wantError(t, s.Do("POST", "/admin/v1/unrouted/"+unrouted+"/assign", admin, map[string]string{"client_id": "nobody"}),
			http.StatusBadRequest, "invalid_field", "client_id")
		wantError(t, s.Do("POST", "/admin/v1/unrouted/msg_nope/assign", admin, map[string]string{"client_id": "globex"}),
			http.StatusNotFound, "not_found", "")
		mustDo(t, s, "POST", "/admin/v1/unrouted/"+unrouted+"/assign", admin, map[string]string{"client_id": "globex"}, http.StatusOK)
		routedTo(t, unrouted, "globex", "assigned")
		var page struct{ Data []unroutedOut }
		s.Do("GET", "/admin/v1/unrouted", admin, nil).JSON(t, &page)
		if len(page.Data) != 0 {
			t.Errorf("still unrouted after assignment: %+v", page.Data)
		}
	})
	t.Run("assigning it again is a conflict", func(t *testing.T) {
		wantError(t, s.Do("POST", "/admin/v1/unrouted/"+unrouted+"/assign", admin, map[string]string{"client_id": "acme"}),
			http.StatusConflict, "not_unrouted", "")
	})

	t.Run("an inactive client is skipped by the business rule", func(t *testing.T) {
		contact(globex.APIKey, "+15552000005", "Cy")
		mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]bool{"active": false}, http.StatusOK)
		id := inbound(t, s, extreme("+15552000005", "acme", "for a sleeping client", "r-5"))
		routedTo(t, id, "globex", "contact")
	})
}

type unroutedOut struct {
	ID         string `json:"id"`
	From       string `json:"from"`
	To         string `json:"to"`
	Body       string `json:"body"`
	ReceivedAt string `json:"received_at"`
}

func TestBlockedMessageRecordsOptOutAndIsDelivered(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_CONTACT_CONFLICTS": "allow"})
	rcv := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", rcv.URL)
	blocked := func(from, business, id string) map[string]any {
		p := extreme(from, business, "stop sending message", id)
		p["status"], p["matchedBlockWord"] = "blocked", "stop"
		return p
	}
	optedOut := func(client, phone string) bool {
		o, err := s.Store.OptOut(context.Background(), client, phone)
		return err == nil && o.Keyword == "stop" && o.Source == "extremesms"
	}

	id := inbound(t, s, blocked("+15551234567", "acme", "68d32be5acc9914eed77720d"))
	ev := eventFor(t, rcv, id)
	if ev.Data.Status != "blocked" || ev.Data.MatchedBlockWord == nil || *ev.Data.MatchedBlockWord != "stop" {
		t.Errorf("event status %q, matched_block_word %v", ev.Data.Status, ev.Data.MatchedBlockWord)
	}
	if !optedOut("acme", "+15551234567") {
		t.Error("no opt-out recorded for acme")
	}

	t.Run("an unrouted blocked message opts out of the client it is assigned to, once active", func(t *testing.T) {
		globex := s.CreateClient("globex", "")
		for _, key := range []string{acme.APIKey, globex.APIKey} {
			mustDo(t, s, "POST", "/api/v1/contacts", key, map[string]string{"phone": "+15551234999"}, http.StatusCreated)
		}
		id := inbound(t, s, blocked("+15551234999", "", "blocked-unrouted"))
		eventually(t, "the message to be unrouted", func() bool {
			return strings.Contains(string(s.Do("GET", "/admin/v1/unrouted", admin, nil).Body), id)
		})
		mustDo(t, s, "PATCH", "/admin/v1/clients/globex", admin, map[string]bool{"active": false}, http.StatusOK)
		wantError(t, s.Do("POST", "/admin/v1/unrouted/"+id+"/assign", admin, map[string]string{"client_id": "globex"}),
			http.StatusUnprocessableEntity, "client_inactive", "client_id")
		mustDo(t, s, "PATCH", "/admin/v1/clients/globex", admin, map[string]bool{"active": true}, http.StatusOK)
		mustDo(t, s, "POST", "/admin/v1/unrouted/"+id+"/assign", admin, map[string]string{"client_id": "globex"}, http.StatusOK)
		if !optedOut("globex", "+15551234999") || optedOut("acme", "+15551234999") {
			t.Error("the opt-out is not recorded for globex alone")
		}
	})
}

func TestConversations(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	// acme has no webhook URL: its messages are routed and kept for the API all the same.
	c := s.CreateClient("acme", "")
	phones := []string{"+15551110001", "+15551110002", "+15551110003", "+15551110001"}
	var ids []string
	for i, p := range phones {
		nextMillisecond()
		ids = append(ids, inbound(t, s, extreme(p, "acme", fmt.Sprintf("m%d", i), fmt.Sprintf("conv-%d", i))))
		message(t, s, c.APIKey, ids[i]) // routed, so the next one is newer in every sense
	}

	t.Run("conversations are listed most recently active first, two per page", func(t *testing.T) {
		var got []string
		path := "/api/v1/conversations?limit=2"
		for range 5 {
			var p struct {
				Data []struct {
					Phone        string `json:"phone"`
					MessageCount int    `json:"message_count"`
				} `json:"data"`
				NextCursor *string `json:"next_cursor"`
			}
			res := s.Do("GET", path, c.APIKey, nil)
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
			}
			res.JSON(t, &p)
			for _, cv := range p.Data {
				got = append(got, fmt.Sprintf("%s/%d", cv.Phone, cv.MessageCount))
			}
			if p.NextCursor == nil {
				break
			}
			path = "/api/v1/conversations?limit=2&cursor=" + *p.NextCursor
		}
		want := "+15551110001/2,+15551110003/1,+15551110002/1"
		if strings.Join(got, ",") != want {
			t.Errorf("conversations = %v, want %s", got, want)
		}
	})

	t.Run("a conversation's messages are listed newest first", func(t *testing.T) {
		var p struct {
			Data []messageOut `json:"data"`
		}
		res := s.Do("GET", "/api/v1/conversations/%2B15551110001/messages", c.APIKey, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &p)
		if len(p.Data) != 2 || p.Data[0].ID != ids[3] || p.Data[1].ID != ids[0] || p.Data[0].Body != "m3" {
			t.Errorf("messages = %+v, want %s then %s", p.Data, ids[3], ids[0])
		}
	})

	t.Run("messages page with a cursor, and a national phone finds the conversation", func(t *testing.T) {
		var p struct {
			Data       []messageOut `json:"data"`
			NextCursor *string      `json:"next_cursor"`
		}
		s.Do("GET", "/api/v1/conversations/5551110001/messages?limit=1", c.APIKey, nil).JSON(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != ids[3] || p.NextCursor == nil {
			t.Fatalf("first page = %+v", p)
		}
		s.Do("GET", "/api/v1/conversations/5551110001/messages?limit=1&cursor="+*p.NextCursor, c.APIKey, nil).JSON(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != ids[0] {
			t.Fatalf("second page = %+v", p)
		}
	})
	t.Run("a client without a webhook URL has no deliveries", func(t *testing.T) {
		var p struct{ Data []any }
		s.Do("GET", "/api/v1/webhook/deliveries", c.APIKey, nil).JSON(t, &p)
		if len(p.Data) != 0 {
			t.Errorf("deliveries = %v", p.Data)
		}
	})
	t.Run("a phone without a conversation is not found", func(t *testing.T) {
		wantError(t, s.Do("GET", "/api/v1/conversations/%2B15559990000/messages", c.APIKey, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("a phone that is not a phone number is a bad request", func(t *testing.T) {
		wantError(t, s.Do("GET", "/api/v1/conversations/not-a-phone/messages", c.APIKey, nil), http.StatusBadRequest, "invalid_field", "phone")
	})
	t.Run("an unknown message is not found", func(t *testing.T) {
		wantError(t, s.Do("GET", "/api/v1/messages/msg_nope", c.APIKey, nil), http.StatusNotFound, "not_found", "")
	})
}

func TestContacts(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	c := s.CreateClient("acme", "")
	type contactOut struct {
		ID        string            `json:"id"`
		Phone     string            `json:"phone"`
		FirstName string            `json:"first_name"`
		Fields    map[string]string `json:"fields"`
	}
	res := s.Do("POST", "/api/v1/contacts", c.APIKey, map[string]any{"phone": "(555) 123-4567", "first_name": " Ann ", "fields": map[string]string{"plan": "gold"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var ct contactOut
	res.JSON(t, &ct)
	if ct.Phone != "+15551234567" || ct.FirstName != "Ann" || ct.Fields["plan"] != "gold" || !strings.HasPrefix(ct.ID, "ct_") {
		t.Errorf("contact = %+v", ct)
	}
	for _, tt := range []struct {
		name        string
		body        any
		status      int
		code, param string
	}{
		{"the same phone again is a conflict", map[string]string{"phone": "+1 555 123 4567"}, 409, "contact_exists", "phone"},
		{"a missing phone is refused", map[string]string{"first_name": "x"}, 400, "missing_field", "phone"},
		{"a bad phone is refused", map[string]string{"phone": "12"}, 400, "invalid_field", "phone"},
		{"an unknown field is refused", map[string]string{"phone": "+15551234568", "email": "x"}, 400, "invalid_field", "email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.Do("POST", "/api/v1/contacts", c.APIKey, tt.body), tt.status, tt.code, tt.param)
		})
	}
	t.Run("the contact is listed, shown and deleted once", func(t *testing.T) {
		var p struct{ Data []contactOut }
		s.Do("GET", "/api/v1/contacts", c.APIKey, nil).JSON(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != ct.ID {
			t.Fatalf("list = %+v", p.Data)
		}
		mustDo(t, s, "GET", "/api/v1/contacts/"+ct.ID, c.APIKey, nil, http.StatusOK)
		mustDo(t, s, "DELETE", "/api/v1/contacts/"+ct.ID, c.APIKey, nil, http.StatusNoContent)
		wantError(t, s.Do("GET", "/api/v1/contacts/"+ct.ID, c.APIKey, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("DELETE", "/api/v1/contacts/"+ct.ID, c.APIKey, nil), http.StatusNotFound, "not_found", "")
	})
}

func TestErrorsAreJSON(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	c := s.CreateClient("acme", "")
	for _, tt := range []struct {
		name, method, path, auth string
		status                   int
		code, allow              string
	}{
		{"an unknown path is a JSON 404", "GET", "/nowhere", "", 404, "not_found", ""},
		{"an unknown API path is a JSON 404", "GET", "/api/v1/nothing", c.APIKey, 404, "not_found", ""},
		{"a wrong method is a JSON 405 with Allow", "DELETE", "/admin/v1/clients", admin, 405, "method_not_allowed", "GET, HEAD, POST"},
		{"a wrong method on a client route is a JSON 405", "PUT", "/api/v1/contacts", c.APIKey, 405, "method_not_allowed", "GET, HEAD, POST"},
		{"GET on a provider webhook is a JSON 405", "GET", "/webhooks/extremesms", "", 405, "method_not_allowed", "POST"},
		{"an unknown provider is a JSON 404", "POST", "/webhooks/nobody", "", 404, "not_found", ""},
		{"a client route without a key is a JSON 401", "GET", "/api/v1/contacts", "", 401, "unauthorized", ""},
		{"a client route with a wrong key is a JSON 401", "GET", "/api/v1/contacts", "ibk_wrong", 401, "unauthorized", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Do(tt.method, tt.path, tt.auth, nil)
			wantError(t, res, tt.status, tt.code, "")
			if res.Header.Get("X-Request-Id") == "" {
				t.Error("the answer has no X-Request-Id")
			}
			if got := res.Header.Get("Allow"); tt.allow != "" && got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

// ---- helpers shared by the api tests ----

// messageOut is a message as events and the API show it.
type messageOut struct {
	ID               string  `json:"id"`
	ClientID         string  `json:"client_id"`
	ConversationID   string  `json:"conversation_id"`
	From             string  `json:"from"`
	To               string  `json:"to"`
	Body             string  `json:"body"`
	Channel          string  `json:"channel"`
	Status           string  `json:"status"`
	MatchedBlockWord *string `json:"matched_block_word"`
	Contact          struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Business  string `json:"business"`
	} `json:"contact"`
	Provider   string `json:"provider"`
	ReceivedAt string `json:"received_at"`
	RoutedBy   string `json:"routed_by"`
}

// event is the body of a webhook delivery.
type event struct {
	Type string     `json:"type"`
	Data messageOut `json:"data"`
}

// extreme is an ExtremeSMS webhook payload, every field present as in the provider's docs.
func extreme(from, business, body, messageID string) map[string]any {
	return map[string]any{
		"from": from, "firstname": "John", "lastname": "Doe", "business": business, "message": body,
		"status": "received", "matchedBlockWord": nil, "receiver": "+15557654321", "usedmodem": "3",
		"port": "12", "timestamp": "2025-09-23T23:23:20.887Z", "messageId": messageID,
	}
}

// inbound posts an ExtremeSMS webhook and returns the id of the stored message.
func inbound(t *testing.T, s *ibikitest.Server, payload map[string]any) string {
	t.Helper()
	res := s.Do("POST", "/webhooks/extremesms", "", payload)
	var out struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	if res.JSON(t, &out); res.Status != http.StatusOK || out.ID == "" || out.Duplicate {
		t.Fatalf("inbound webhook: %d %s", res.Status, res.Body)
	}
	return out.ID
}

// message waits until the client sees a message (it is routed to it) and returns it.
func message(t *testing.T, s *ibikitest.Server, key, id string) messageOut {
	t.Helper()
	var m messageOut
	eventually(t, "message "+id+" routed", func() bool {
		res := s.Do("GET", "/api/v1/messages/"+id, key, nil)
		if res.Status == http.StatusOK {
			res.JSON(t, &m)
		}
		return res.Status == http.StatusOK
	})
	return m
}

// eventFor waits for the delivery of a message's event at a receiver.
func eventFor(t *testing.T, r *ibikitest.Receiver, messageID string) event {
	t.Helper()
	var ev event
	eventually(t, "delivery of "+messageID, func() bool {
		for _, got := range r.Requests() {
			if err := json.Unmarshal(got.Body, &ev); err == nil && ev.Data.ID == messageID {
				return true
			}
		}
		return false
	})
	if ev.Type != "message.received" {
		t.Errorf("event type = %q", ev.Type)
	}
	return ev
}

// eventually polls cond until it holds, failing the test after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nextMillisecond waits for the clock to pass into a new millisecond, so that consecutive
// messages get distinct timestamps and "newest first" has one right answer.
func nextMillisecond() {
	now := time.Now().UnixMilli()
	for time.Now().UnixMilli() <= now+1 {
		time.Sleep(200 * time.Microsecond)
	}
}

// mustDo sends a request and fails the test unless it gets the status.
func mustDo(t *testing.T, s *ibikitest.Server, method, path, auth string, body any, status int) ibikitest.Response {
	t.Helper()
	res := s.Do(method, path, auth, body)
	if res.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, status)
	}
	return res
}

// doHeader sends a body-less request with one header set.
func doHeader(t *testing.T, s *ibikitest.Server, method, path, header, value string) ibikitest.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(header, value)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b json.RawMessage
	_ = json.NewDecoder(res.Body).Decode(&b)
	return ibikitest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// wantError checks an error answer: the status, a JSON content type, and exactly the shape
// {"error":{"code","message"[,"param"]}} with the code and param wanted ("" = no param).
func wantError(t *testing.T, res ibikitest.Response, status int, code, param string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d %s, want %d %s", res.Status, res.Body, status, code)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	top := rawKeys(t, res.Body)
	if len(top) != 1 || top["error"] == nil {
		t.Fatalf("error answer %s is not {\"error\":{...}}", res.Body)
	}
	var e map[string]any
	if err := json.Unmarshal(top["error"], &e); err != nil {
		t.Fatalf("error %s is not an object", top["error"])
	}
	for k := range e {
		credits := code == "insufficient_credits" && (k == "balance_cents" || k == "needed_cents")
		if k != "code" && k != "message" && k != "param" && !credits {
			t.Errorf("error has an unexpected key %q: %s", k, res.Body)
		}
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error has no message: %s", res.Body)
	}
	if got, _ := e["code"].(string); got != code {
		t.Errorf("code = %q, want %q (%s)", got, code, res.Body)
	}
	if got, _ := e["param"].(string); got != param {
		t.Errorf("param = %q, want %q (%s)", got, param, res.Body)
	}
}
