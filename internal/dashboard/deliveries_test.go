package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

func adminDelivery(t *testing.T, s *ibikitest.Server, id string) apiDelivery {
	t.Helper()
	var d apiDelivery
	opMustDo(t, s, "GET", "/admin/v1/deliveries/"+id, ibikitest.AdminToken, nil, http.StatusOK).JSON(t, &d)
	return d
}

func TestOperationsDeliveriesReplayAFailedDelivery(t *testing.T) {
	s := opServer(t, nil)
	hook := ibikitest.NewReceiver(t)
	hook.Answer(500, 500, 500, 500)
	s.CreateClient("acme", hook.URL)
	s.CreateClient("globex", "")
	opMustDo(t, s, "POST", "/admin/v1/numbers", ibikitest.AdminToken,
		map[string]any{"number": "+15550000020", "client_id": "acme"}, http.StatusCreated)
	opMustDo(t, s, "POST", "/admin/v1/simulator/inbound", ibikitest.AdminToken,
		map[string]string{"from": "+15553000002", "to": "+15550000020", "body": "hi acme"}, http.StatusAccepted)

	var id string
	opEventually(t, "the delivery to fail", func() bool {
		var page struct{ Data []apiDelivery }
		s.Do("GET", "/admin/v1/deliveries?status=failed", ibikitest.AdminToken, nil).JSON(t, &page)
		if len(page.Data) == 1 {
			id = page.Data[0].ID
		}
		return id != ""
	})

	b := opSignIn(t, s)
	p := b.get("/deliveries", http.StatusOK)
	if !strings.Contains(p.Body, `data-id="`+id+`"`) || strings.Count(p.Body, "HTTP 500") < 2 {
		t.Fatalf("deliveries page lacks %s with its attempts\n%s", id, p.Body)
	}
	if p := b.get("/deliveries?client=globex", http.StatusOK); strings.Contains(p.Body, `data-id="`+id+`"`) {
		t.Error("the client filter shows another client's delivery")
	}
	if p := b.get("/deliveries?client=acme", http.StatusOK); !strings.Contains(p.Body, `data-id="`+id+`"`) {
		t.Error("the client filter hides the client's delivery")
	}

	attempts := len(hook.Requests())
	p = b.post("/deliveries/"+id+"/replay", url.Values{"client": {"acme"}}, http.StatusSeeOther)
	if p.Location != "/deliveries?client=acme" {
		t.Errorf("redirect to %q", p.Location)
	}
	hook.WaitFor(t, attempts+1)
	opEventually(t, "the replayed delivery to succeed", func() bool { return adminDelivery(t, s, id).Status == "succeeded" })
	if p := b.get("/deliveries", http.StatusOK); strings.Contains(p.Body, `data-id="`+id+`"`) {
		t.Error("a delivered event is still listed as failed")
	}
	b.post("/deliveries/evt_nothing/replay", nil, http.StatusNotFound)
	if !strings.Contains(b.get("/audit", http.StatusOK).Body, "delivery.replay") {
		t.Error("audit log lacks delivery.replay")
	}
}
