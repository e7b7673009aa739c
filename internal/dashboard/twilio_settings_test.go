package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// A client's user makes the Twilio-compatible credentials in the dashboard (the token shown
// once, working at once against the Twilio-shaped API), then chooses the Twilio webhook format,
// which the dashboard refuses until credentials exist.
func TestDashboardTwilioCredentialsAndWebhookFormat(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")

	// The format needs the credentials that sign it.
	a := user.postForm("/settings/webhook", url.Values{"webhook_url": {"https://example.com/sms"}, "webhook_format": {"twilio"}})
	if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "Twilio credentials") {
		t.Fatalf("twilio format without credentials: %s", a)
	}

	page := user.get("/settings/api-key")
	if !strings.Contains(page.Body, `id="twilio-create"`) {
		t.Fatalf("no button to create credentials: %s", page)
	}
	a = user.postForm("/settings/twilio-credentials", nil)
	sid := regexp.MustCompile(`id="twilio-account-sid">(AC[0-9a-f]{32})<`).FindStringSubmatch(a.Body)
	token := regexp.MustCompile(`id="twilio-auth-token" class="secret">([0-9a-f]{32})<`).FindStringSubmatch(a.Body)
	if a.Status != http.StatusOK || sid == nil || token == nil {
		t.Fatalf("credentials page: %s", a)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/2010-04-01/Accounts/"+sid[1]+"/Balance.json", nil)
	req.SetBasicAuth(sid[1], token[1])
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the new credentials against the Twilio-shaped API: %v %v", res, err)
	}
	res.Body.Close()
	if again := user.get("/settings/api-key"); strings.Contains(again.Body, token[1]) || !strings.Contains(again.Body, sid[1]) {
		t.Errorf("the token is shown again, or the SID is not: %s", again)
	}

	a = user.postForm("/settings/webhook", url.Values{"webhook_url": {"https://example.com/sms"}, "webhook_format": {"twilio"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("save with the twilio format: %s", a)
	}
	if page := user.get("/settings/webhook"); !strings.Contains(page.Body, `<option value="twilio" selected>`) {
		t.Errorf("the twilio format is not shown as chosen")
	}
	var c struct {
		WebhookFormat string `json:"webhook_format"`
	}
	if f.admin("GET", "/admin/v1/clients/acme", nil, http.StatusOK).JSON(t, &c); c.WebhookFormat != "twilio" {
		t.Errorf("webhook_format %q", c.WebhookFormat)
	}
}
