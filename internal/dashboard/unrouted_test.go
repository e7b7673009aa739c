package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// unrouted lists the ids in the admin API's unrouted inbox.
func unroutedIDs(t *testing.T, s *ibikitest.Server) []string {
	t.Helper()
	var page struct{ Data []struct{ ID string } }
	opMustDo(t, s, "GET", "/admin/v1/unrouted", ibikitest.AdminToken, nil, http.StatusOK).JSON(t, &page)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestOperationsUnroutedAssignDeliversToTheClient(t *testing.T) {
	s := opServer(t, nil)
	acme := s.CreateClient("acme", "")
	s.CreateClient("sleepy", "")
	opMustDo(t, s, "PATCH", "/admin/v1/clients/sleepy", ibikitest.AdminToken, map[string]any{"active": false}, http.StatusOK)
	const body = `<b>whose</b> reply is this? <script>alert(1)</script>`
	var acc struct{ ID string }
	opMustDo(t, s, "POST", "/admin/v1/simulator/inbound", ibikitest.AdminToken,
		map[string]string{"from": "+15553000001", "body": body}, http.StatusAccepted).JSON(t, &acc)
	opEventually(t, "the message to be unrouted", func() bool { return len(unroutedIDs(t, s)) == 1 })
	id := unroutedIDs(t, s)[0]

	b := opSignIn(t, s)
	p := b.get("/unrouted", http.StatusOK)
	if !strings.Contains(p.Body, `data-id="`+id+`"`) || !strings.Contains(p.Body, `action="/unrouted/`+id+`/assign"`) {
		t.Fatalf("unrouted page lacks the message %s\n%s", id, p.Body)
	}
	if strings.Contains(p.Body, "<script>alert(1)") || !strings.Contains(p.Body, "&lt;script&gt;alert(1)") {
		t.Error("the message body is not escaped as text")
	}
	if strings.Contains(p.Body, `<option value="sleepy"`) {
		t.Error("an inactive client is offered")
	}

	t.Run("an unknown or inactive client is refused and the message stays", func(t *testing.T) {
		p := b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"nobody"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Body, "No client has the id nobody.") {
			t.Error("no reason shown for the unknown client")
		}
		p = b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"sleepy"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Body, "is not active") {
			t.Error("no reason shown for the inactive client")
		}
		b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {""}}, http.StatusUnprocessableEntity)
		b.post("/unrouted/msg_nothing/assign", url.Values{"client_id": {"acme"}}, http.StatusNotFound)
		if ids := unroutedIDs(t, s); len(ids) != 1 {
			t.Fatalf("unrouted after refusals = %v", ids)
		}
	})

	t.Run("an assigned message leaves the inbox and lands in the client's conversation", func(t *testing.T) {
		p := b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"acme"}}, http.StatusSeeOther)
		if p.Location != "/unrouted" {
			t.Errorf("redirect to %q", p.Location)
		}
		if ids := unroutedIDs(t, s); len(ids) != 0 {
			t.Errorf("unrouted after assignment = %v", ids)
		}
		if p := b.get("/unrouted", http.StatusOK); strings.Contains(p.Body, `data-id="`+id+`"`) {
			t.Error("the unrouted page still lists the message")
		}
		var conv struct {
			Data []struct {
				ID   string `json:"id"`
				Body string `json:"body"`
			}
		}
		opMustDo(t, s, "GET", "/api/v1/conversations/%2B15553000001/messages", acme.APIKey, nil, http.StatusOK).JSON(t, &conv)
		if len(conv.Data) != 1 || conv.Data[0].ID != id || conv.Data[0].Body != body {
			t.Fatalf("acme's conversation = %+v", conv.Data)
		}
	})

	t.Run("assigning it again is a conflict", func(t *testing.T) {
		p := b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"acme"}}, http.StatusConflict)
		if !strings.Contains(p.Body, "already routed") {
			t.Error("no reason shown for the second assignment")
		}
		if !strings.Contains(b.get("/audit", http.StatusOK).Body, "unrouted.assign") {
			t.Error("audit log lacks unrouted.assign")
		}
	})
}
