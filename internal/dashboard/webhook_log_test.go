package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// The delivery log names each event's type, the contact's phone and the start of its text, and
// filters by type and by phone.
func TestWebhookLogShowsAndFiltersEvents(t *testing.T) {
	f := newFixture(t, nil)
	rcv := ibikitest.NewReceiver(t)
	f.srv.CreateClient("acme", rcv.URL)
	user := f.clientUser("acme", "ann@acme.example")
	f.admin("POST", "/admin/v1/numbers", map[string]string{"number": "+15550007001", "client_id": "acme"}, http.StatusCreated)
	f.inject("+15557001001", "+15550007001", "first contact writes <b>in</b>")
	f.inject("+15557001002", "+15550007001", "second contact")
	if a := user.postForm("/settings/webhook/test", url.Values{}); a.Status >= 400 {
		t.Fatalf("test event: %s", a)
	}
	rcv.WaitFor(t, 3)
	rows := func(query string) string {
		t.Helper()
		body := user.get("/settings/webhook?part=log&" + query).Body
		return body
	}
	all := rows("")
	if strings.Count(all, `class="delivery"`) != 3 || !strings.Contains(all, "first contact writes &lt;b&gt;in&lt;/b&gt;") || !strings.Contains(all, "&#43;15557001002") {
		t.Errorf("the log: %s", all)
	}
	if got := rows("phone=" + url.QueryEscape("+15557001001")); strings.Count(got, `class="delivery"`) != 1 || !strings.Contains(got, "first contact") {
		t.Errorf("filtered by phone: %s", got)
	}
	if got := rows("type=webhook.test"); strings.Count(got, `class="delivery"`) != 1 || !strings.Contains(got, `data-type="webhook.test"`) {
		t.Errorf("filtered by type: %s", got)
	}
	if got := rows("type=message.received&phone=999"); strings.Count(got, `class="delivery"`) != 0 || !strings.Contains(got, "No event matches") {
		t.Errorf("filtered to nothing: %s", got)
	}
}
