package api_test

import (
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// tenant is one client with a contact, a routed message (hence a conversation) and a delivery.
type tenant struct {
	ibikitest.CreatedClient
	phone, suppressed, importID, campaignID, contactID, messageID, conversationID, deliveryID, body string
}

func newTenant(t *testing.T, s *ibikitest.Server, id, phone string) tenant {
	t.Helper()
	rcv := ibikitest.NewReceiver(t)
	tn := tenant{CreatedClient: s.CreateClient(id, rcv.URL), phone: phone, body: "private words of " + id}
	var ct struct {
		ID string `json:"id"`
	}
	mustDo(t, s, "POST", "/api/v1/contacts", tn.APIKey, map[string]string{"phone": phone, "first_name": id}, http.StatusCreated).JSON(t, &ct)
	tn.contactID = ct.ID
	var imp struct {
		ID string `json:"id"`
	}
	res := upload(t, s, tn.APIKey, "phone,first_name\n"+strings.Replace(phone, "+1555", "+1557", 1)+","+id+"\n", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &imp)
	tn.importID = imp.ID
	var cmp struct {
		ID string `json:"id"`
	}
	mustDo(t, s, "POST", "/api/v1/campaigns", tn.APIKey, map[string]any{"message": "hello " + id, "tag": "none-" + id, "draft": true},
		http.StatusUnprocessableEntity).JSON(t, &struct {
		Campaign *struct {
			ID string `json:"id"`
		} `json:"campaign"`
	}{&cmp})
	tn.campaignID = cmp.ID
	tn.suppressed = strings.Replace(phone, "+1555", "+1556", 1)
	mustDo(t, s, "POST", "/api/v1/suppressions", tn.APIKey, map[string]string{"phone": tn.suppressed}, http.StatusCreated)
	mustDo(t, s, "POST", "/admin/v1/clients/"+id+"/credits", admin, map[string]any{"amount_cents": 1000, "reference": "test"}, http.StatusOK)
	tn.messageID = inbound(t, s, extreme(phone, "", tn.body, "iso-"+id)) // routed by the contact
	got := eventFor(t, rcv, tn.messageID)
	tn.conversationID = got.Data.ConversationID
	tn.deliveryID = rcv.Requests()[0].Header.Get("webhook-id")
	if tn.conversationID == "" || tn.deliveryID == "" {
		t.Fatalf("tenant %s: conversation %q, delivery %q", id, tn.conversationID, tn.deliveryID)
	}
	return tn
}

// marks are strings that only this tenant's data contains.
func (tn tenant) marks() []string {
	return []string{tn.ID, tn.importID, tn.campaignID, tn.contactID, tn.messageID, tn.conversationID, tn.deliveryID, tn.body}
}

// routePatterns greps the API's sources for the route patterns under prefix, so that a route
// added without an isolation check fails the test below.
func routePatterns(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"((?:GET|POST|PUT|PATCH|DELETE) ` + regexp.QuoteMeta(prefix) + `[^"]*)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "openapi") {
			continue // openapi*.go: the OpenAPI document's route table and its public routes, no client's data
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		t.Fatalf("found no %s routes in the API sources: the pattern above is out of date", prefix)
	}
	return out
}

func esc(phone string) string { return strings.Replace(phone, "+", "%2B", 1) }

func TestClientsOnlySeeTheirOwnData(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	a := newTenant(t, s, "alpha", "+15553000001")
	b := newTenant(t, s, "bravo", "+15553000002")
	aPhone := strings.Replace(a.phone, "+", "%2B", 1)
	// A owns a number, with its own way of answering calls, and one for all its numbers.
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15553100001", "client_id": a.ID}, http.StatusCreated)
	mustDo(t, s, "PUT", "/api/v1/numbers/%2B15553100001/voice", a.APIKey, map[string]any{"action": "voicemail", "text": a.body}, http.StatusOK)
	mustDo(t, s, "PUT", "/api/v1/voice", a.APIKey, map[string]any{"action": "say", "text": a.body}, http.StatusOK)
	aNumberVoice := "/api/v1/numbers/%2B15553100001/voice"
	var rule struct {
		ID string `json:"id"`
	}
	mustDo(t, s, "PUT", "/api/v1/auto-replies", a.APIKey, map[string]any{"text": a.body}, http.StatusOK).JSON(t, &rule)
	aRule := rule.ID
	mustDo(t, s, "PUT", "/api/v1/auto-replies", b.APIKey, map[string]any{"text": b.body}, http.StatusOK)
	// Each has a service on a number of its own.
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15553100002", "client_id": b.ID}, http.StatusCreated)
	serviceOn := func(number, name string) map[string]any {
		return map[string]any{"number": number, "name": name,
			"commands": []any{map[string]any{"keyword": "1", "action": map[string]any{"type": "reply", "text": name}}}}
	}
	var svc struct {
		ID string `json:"id"`
	}
	mustDo(t, s, "POST", "/api/v1/services", a.APIKey, serviceOn("+15553100001", a.body), http.StatusCreated).JSON(t, &svc)
	aService := "/api/v1/services/" + svc.ID
	mustDo(t, s, "POST", "/api/v1/services", b.APIKey, serviceOn("+15553100002", b.body), http.StatusCreated)
	// Each registers a DLT template, with the same DLT id: ids are per client.
	dltIn := func(tn tenant) map[string]string {
		return map[string]string{"template_id": "1107161234567890123", "entity_id": "1201159876543210987", "sender": "ACMEIN", "text": tn.body + " {#var#}"}
	}
	var aDLT struct {
		ID string `json:"id"`
	}
	mustDo(t, s, "POST", "/api/v1/dlt-templates", a.APIKey, dltIn(a), http.StatusCreated).JSON(t, &aDLT)
	mustDo(t, s, "POST", "/api/v1/dlt-templates", b.APIKey, dltIn(b), http.StatusCreated)

	// Every client route, with what it must answer when B uses A's ids: id routes answer 404,
	// lists and creates 2xx without anything of A's.
	type check struct {
		path   string
		body   any
		status int
		own    string // for a 404 check: the path A reads to show the resource exists (default: path)
	}
	routes := map[string]check{
		"POST /api/v1/contacts": {path: "/api/v1/contacts", body: map[string]string{"phone": "+15553099999"},
			status: http.StatusCreated},
		"GET /api/v1/contacts":              {path: "/api/v1/contacts", status: http.StatusOK},
		"POST /api/v1/contacts/import":      {path: "/api/v1/contacts/import", status: http.StatusBadRequest},
		"GET /api/v1/contacts/imports/{id}": {path: "/api/v1/contacts/imports/" + a.importID, status: http.StatusNotFound},
		"GET /api/v1/contacts/export":       {path: "/api/v1/contacts/export", status: http.StatusOK},
		"PATCH /api/v1/contacts/{id}": {path: "/api/v1/contacts/" + a.contactID, body: map[string]string{"first_name": "x"},
			status: http.StatusNotFound},
		"POST /api/v1/campaigns":                     {path: "/api/v1/campaigns", body: map[string]any{"message": "x", "tag": "x", "draft": true}, status: http.StatusUnprocessableEntity},
		"GET /api/v1/campaigns":                      {path: "/api/v1/campaigns", status: http.StatusOK},
		"GET /api/v1/campaigns/{id}":                 {path: "/api/v1/campaigns/" + a.campaignID, status: http.StatusNotFound},
		"GET /api/v1/campaigns/{id}/recipients":      {path: "/api/v1/campaigns/" + a.campaignID + "/recipients", status: http.StatusNotFound},
		"GET /api/v1/campaigns/{id}/results":         {path: "/api/v1/campaigns/" + a.campaignID + "/results", status: http.StatusNotFound},
		"POST /api/v1/campaigns/{id}/start":          {path: "/api/v1/campaigns/" + a.campaignID + "/start", status: http.StatusNotFound, own: "/api/v1/campaigns/" + a.campaignID},
		"POST /api/v1/campaigns/{id}/pause":          {path: "/api/v1/campaigns/" + a.campaignID + "/pause", status: http.StatusNotFound, own: "/api/v1/campaigns/" + a.campaignID},
		"POST /api/v1/campaigns/{id}/resume":         {path: "/api/v1/campaigns/" + a.campaignID + "/resume", status: http.StatusNotFound, own: "/api/v1/campaigns/" + a.campaignID},
		"POST /api/v1/campaigns/{id}/cancel":         {path: "/api/v1/campaigns/" + a.campaignID + "/cancel", status: http.StatusNotFound, own: "/api/v1/campaigns/" + a.campaignID},
		"GET /api/v1/contacts/{id}":                  {path: "/api/v1/contacts/" + a.contactID, status: http.StatusNotFound},
		"DELETE /api/v1/contacts/{id}":               {path: "/api/v1/contacts/" + a.contactID, status: http.StatusNotFound},
		"GET /api/v1/conversations":                  {path: "/api/v1/conversations", status: http.StatusOK},
		"GET /api/v1/conversations/{phone}/messages": {path: "/api/v1/conversations/" + aPhone + "/messages", status: http.StatusNotFound},
		"GET /api/v1/messages/{id}":                  {path: "/api/v1/messages/" + a.messageID, status: http.StatusNotFound},
		"POST /api/v1/messages/{id}/cancel": {path: "/api/v1/messages/" + a.messageID + "/cancel", status: http.StatusNotFound,
			own: "/api/v1/messages/" + a.messageID},
		"GET /api/v1/webhook/deliveries": {path: "/api/v1/webhook/deliveries", status: http.StatusOK},
		// B may text A's contact (its own message); a reply needs B's own conversation.
		"POST /api/v1/messages": {path: "/api/v1/messages", body: map[string]string{"to": a.phone, "body": "hi"},
			status: http.StatusAccepted},
		"POST /api/v1/messages/bulk": {path: "/api/v1/messages/bulk", body: map[string]any{"messages": []map[string]string{
			{"to": a.phone, "body": "hi"}}}, status: http.StatusAccepted},
		"GET /api/v1/messages": {path: "/api/v1/messages", status: http.StatusOK},
		"POST /api/v1/conversations/{phone}/messages": {path: "/api/v1/conversations/" + aPhone + "/messages",
			body: map[string]string{"body": "hi"}, status: http.StatusNotFound},
		"GET /api/v1/balance":      {path: "/api/v1/balance", status: http.StatusOK},
		"GET /api/v1/ledger":       {path: "/api/v1/ledger", status: http.StatusOK},
		"GET /api/v1/suppressions": {path: "/api/v1/suppressions", status: http.StatusOK},
		"POST /api/v1/suppressions": {path: "/api/v1/suppressions", body: map[string]string{"phone": a.suppressed},
			status: http.StatusCreated},
		"GET /api/v1/suppressions/{phone}":    {path: "/api/v1/suppressions/" + esc(a.suppressed), status: http.StatusNotFound},
		"DELETE /api/v1/suppressions/{phone}": {path: "/api/v1/suppressions/" + esc(a.suppressed), status: http.StatusNotFound},
		"GET /api/v1/webhook/deliveries/{id}": {path: "/api/v1/webhook/deliveries/" + a.deliveryID, status: http.StatusNotFound},
		// A client's auto-replies are its own.
		"GET /api/v1/auto-replies":           {path: "/api/v1/auto-replies", status: http.StatusOK},
		"PUT /api/v1/auto-replies":           {path: "/api/v1/auto-replies", body: map[string]any{"text": "bravo answers"}, status: http.StatusOK},
		"DELETE /api/v1/auto-replies/{rule}": {path: "/api/v1/auto-replies/" + aRule, status: http.StatusNotFound, own: "/api/v1/auto-replies"},
		// A client's services are its own, and only on its numbers.
		"POST /api/v1/services":         {path: "/api/v1/services", body: serviceOn("+15553100001", "bravo's"), status: http.StatusBadRequest},
		"GET /api/v1/services":          {path: "/api/v1/services", status: http.StatusOK},
		"GET /api/v1/services/{id}":     {path: aService, status: http.StatusNotFound},
		"PUT /api/v1/services/{id}":     {path: aService, body: serviceOn("", "bravo's"), status: http.StatusNotFound, own: aService},
		"DELETE /api/v1/services/{id}":  {path: aService, status: http.StatusNotFound, own: aService},
		"GET /api/v1/services/{id}/log": {path: aService + "/log", status: http.StatusNotFound},
		// A client's DLT templates are its own.
		"GET /api/v1/dlt-templates":         {path: "/api/v1/dlt-templates", status: http.StatusOK},
		"POST /api/v1/dlt-templates":        {path: "/api/v1/dlt-templates", body: map[string]string{"template_id": "1107161234567890999", "entity_id": "1201159876543210987", "sender": "BRAVO1", "text": "bravo {#var#}"}, status: http.StatusCreated},
		"GET /api/v1/dlt-templates/{id}":    {path: "/api/v1/dlt-templates/" + aDLT.ID, status: http.StatusNotFound},
		"DELETE /api/v1/dlt-templates/{id}": {path: "/api/v1/dlt-templates/" + aDLT.ID, status: http.StatusNotFound, own: "/api/v1/dlt-templates/" + aDLT.ID},
		// A client's voice answer is its own: B reads and sets B's.
		"GET /api/v1/voice":                  {path: "/api/v1/voice", status: http.StatusOK},
		"PUT /api/v1/voice":                  {path: "/api/v1/voice", body: map[string]any{"action": "say", "text": "bravo here"}, status: http.StatusOK},
		"DELETE /api/v1/voice":               {path: "/api/v1/voice", status: http.StatusNotFound}, // B has none; A's stays (below)
		"GET /api/v1/numbers/{number}/voice": {path: aNumberVoice, status: http.StatusNotFound},
		"PUT /api/v1/numbers/{number}/voice": {path: aNumberVoice, body: map[string]any{"action": "say", "text": "x"},
			status: http.StatusNotFound, own: aNumberVoice},
		"DELETE /api/v1/numbers/{number}/voice": {path: aNumberVoice, status: http.StatusNotFound, own: aNumberVoice},
	}

	t.Run("the table covers every client route the API registers", func(t *testing.T) {
		registered := routePatterns(t, "/api/v1/")
		for _, p := range registered {
			if _, ok := routes[p]; !ok {
				t.Errorf("route %q has no isolation check: add it to the table", p)
			}
		}
		for p := range routes {
			if !slices.Contains(registered, p) {
				t.Errorf("the table checks %q, which the API no longer registers", p)
			}
		}
	})

	for _, pattern := range slices.Sorted(maps.Keys(routes)) {
		c := routes[pattern]
		method := strings.Fields(pattern)[0]
		t.Run(pattern+" never shows B anything of A's", func(t *testing.T) {
			if c.status == http.StatusNotFound {
				// A reads the same path, so B's 404 is isolation and not a broken path.
				own := c.path
				if c.own != "" {
					own = c.own
				}
				mustDo(t, s, "GET", own, a.APIKey, nil, http.StatusOK)
			}
			res := s.Do(method, c.path, b.APIKey, c.body)
			if c.status == http.StatusNotFound {
				wantError(t, res, http.StatusNotFound, "not_found", "")
			} else if res.Status != c.status {
				t.Fatalf("B's %s %s: %d %s, want %d", method, c.path, res.Status, res.Body, c.status)
			}
			for _, m := range a.marks() {
				if strings.Contains(string(res.Body), m) {
					t.Errorf("B's answer contains A's %q: %s", m, res.Body)
				}
			}
			if method == "GET" && c.status == http.StatusOK {
				// The list works: B sees its own data in it.
				if !slices.ContainsFunc(b.marks(), func(m string) bool { return strings.Contains(string(res.Body), m) }) {
					t.Errorf("B's list shows nothing of B's own: %s", res.Body)
				}
			}
		})
	}

	t.Run("A's data is intact after B's attempts", func(t *testing.T) {
		mustDo(t, s, "GET", "/api/v1/contacts/"+a.contactID, a.APIKey, nil, http.StatusOK)
		mustDo(t, s, "GET", "/api/v1/messages/"+a.messageID, a.APIKey, nil, http.StatusOK)
		mustDo(t, s, "GET", "/api/v1/webhook/deliveries/"+a.deliveryID, a.APIKey, nil, http.StatusOK)
		mustDo(t, s, "GET", "/api/v1/conversations/"+aPhone+"/messages", a.APIKey, nil, http.StatusOK)
		mustDo(t, s, "GET", "/api/v1/dlt-templates/"+aDLT.ID, a.APIKey, nil, http.StatusOK)
		if res := mustDo(t, s, "GET", "/api/v1/auto-replies", a.APIKey, nil, http.StatusOK); !strings.Contains(string(res.Body), aRule) {
			t.Errorf("A's auto-reply is gone: %s", res.Body)
		}
		if res := mustDo(t, s, "GET", aService, a.APIKey, nil, http.StatusOK); !strings.Contains(string(res.Body), a.body) {
			t.Errorf("A's service changed: %s", res.Body)
		}
		for _, path := range []string{"/api/v1/voice", aNumberVoice} {
			if res := mustDo(t, s, "GET", path, a.APIKey, nil, http.StatusOK); !strings.Contains(string(res.Body), a.body) ||
				!strings.Contains(string(res.Body), `"configured":true`) {
				t.Errorf("A's voice answer at %s changed: %s", path, res.Body)
			}
		}
	})

	t.Run("no admin route accepts a client key", func(t *testing.T) {
		fill := regexp.MustCompile(`\{[^}]*\}`)
		for _, p := range routePatterns(t, "/admin/v1/") {
			method, path, _ := strings.Cut(p, " ")
			path = fill.ReplaceAllString(path, a.deliveryID)
			wantError(t, s.Do(method, path, b.APIKey, map[string]string{}), http.StatusUnauthorized, "unauthorized", "")
		}
	})
}
