package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A campaign's page keeps what its list refused (line, and why), before and after the start,
// and once started lists each recipient with its message's status and its cost.
func TestCampaignPageShowsRefusedRowsAndRecipients(t *testing.T) {
	f := newFixture(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "1ms"})
	f.client("acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 100}, http.StatusOK)
	user := f.clientUser("acme", "ann@acme.example")
	csv := "phone,first_name\n+15551230001,Ann\nnot-a-phone,Bob\n+15551230002,Cy\n"
	a := user.postFile("/campaigns", "list.csv", csv, url.Values{"name": {"Sale"}, "message": {"Hi [first_name]"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("create: %s", a)
	}
	page := user.follow(a)
	if !strings.Contains(page.Body, `id="refused-rows"`) || !strings.Contains(page.Body, "<td>3</td><td></td><td>invalid phone number: contains letters</td>") {
		t.Fatalf("the draft does not list the refused row: %s", page)
	}
	campaignPath := a.Location()
	if s := user.postForm(campaignPath+"/start", nil); s.Status != http.StatusSeeOther {
		t.Fatalf("start: %s", s)
	}
	waitFor(t, "both recipients delivered on the page", func() bool {
		body := user.get(campaignPath).Body
		return strings.Count(body, `class="recipient"`) == 2 && strings.Count(body, ">delivered<") >= 2 &&
			strings.Contains(body, `id="campaign-summary"`) && strings.Contains(body, "$0.02") && strings.Contains(body, "contains letters")
	})
}
