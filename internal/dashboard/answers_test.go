package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The client writes its auto-replies and its calls' answer in the dashboard, checked as the API
// checks them, and the API sees what the page saved.
func TestAnswersSettings(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")
	f.admin("POST", "/admin/v1/numbers", map[string]string{"number": "+15557654321", "client_id": "acme"}, http.StatusCreated)

	if page := user.get("/settings/answers"); page.Status != http.StatusOK || !strings.Contains(page.Body, "No auto-reply") {
		t.Fatalf("empty page: %s", page)
	}
	t.Run("a rule with business hours is saved", func(t *testing.T) {
		a := user.on(t).postForm("/settings/answers/auto-replies", url.Values{"channel": {"sms"}, "number": {"+15557654321"},
			"text": {"Hi [firstname|there]"}, "window_hours": {"12"}, "hours": {"on"}, "time_zone": {"Europe/London"},
			"days": {"mon", "fri"}, "open": {"09:00"}, "close": {"17:00"}, "outside_text": {"We are closed"}})
		if a.Status != http.StatusSeeOther {
			t.Fatalf("save: %s", a)
		}
		page := user.on(t).follow(a).Body
		if !strings.Contains(page, "Auto-reply saved.") || !strings.Contains(page, "Hi [firstname|there]") || !strings.Contains(page, "mon fri 09:00–17:00 (Europe/London)") {
			t.Errorf("the page after saving does not show the rule")
		}
		var list struct {
			Data []struct {
				Number        string `json:"number"`
				WindowSeconds int    `json:"window_seconds"`
				OutsideText   string `json:"outside_text"`
			} `json:"data"`
		}
		f.api(acme.APIKey, "GET", "/api/v1/auto-replies", nil, http.StatusOK).JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].Number != "+15557654321" || list.Data[0].WindowSeconds != 12*3600 || list.Data[0].OutsideText != "We are closed" {
			t.Errorf("the API sees %+v", list.Data)
		}
	})
	t.Run("a wrong rule is shown back with its error, nothing saved", func(t *testing.T) {
		a := user.on(t).postForm("/settings/answers/auto-replies", url.Values{"text": {"Hello"}, "hours": {"on"}, "time_zone": {"Nowhere/Land"},
			"days": {"mon"}, "open": {"09:00"}, "close": {"17:00"}, "outside_text": {"closed"}})
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "IANA time zone") || !strings.Contains(a.Body, "Nowhere/Land") {
			t.Errorf("answer: %s", a)
		}
	})
	t.Run("the calls' answer is saved, and reset", func(t *testing.T) {
		a := user.on(t).postForm("/settings/answers/voice", url.Values{"action": {"forward"}, "forward_to": {"(555) 000-1111"}})
		if a.Status != http.StatusSeeOther {
			t.Fatalf("save: %s", a)
		}
		res := f.api(acme.APIKey, "GET", "/api/v1/voice", nil, http.StatusOK)
		if !strings.Contains(string(res.Body), `"forward_to":"+15550001111"`) || !strings.Contains(string(res.Body), `"configured":true`) {
			t.Errorf("the API sees %s", res.Body)
		}
		bad := user.on(t).postForm("/settings/answers/voice", url.Values{"action": {"voicemail"}, "max_seconds": {"99999"}})
		if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "max_seconds") {
			t.Errorf("a voicemail too long: %s", bad)
		}
		if a := user.on(t).postForm("/settings/answers/voice", url.Values{"action": {"default"}}); a.Status != http.StatusSeeOther {
			t.Fatalf("reset: %s", a)
		}
		if res := f.api(acme.APIKey, "GET", "/api/v1/voice", nil, http.StatusOK); !strings.Contains(string(res.Body), `"configured":false`) {
			t.Errorf("after the reset the API sees %s", res.Body)
		}
	})
	t.Run("a rule is removed", func(t *testing.T) {
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		f.api(acme.APIKey, "GET", "/api/v1/auto-replies", nil, http.StatusOK).JSON(t, &list)
		if a := user.on(t).postForm("/settings/answers/auto-replies/"+list.Data[0].ID+"/delete", nil); a.Status != http.StatusSeeOther {
			t.Fatalf("delete: %s", a)
		}
		if a := user.on(t).postForm("/settings/answers/auto-replies/"+list.Data[0].ID+"/delete", nil); a.Status != http.StatusNotFound {
			t.Errorf("deleting it again: %s", a)
		}
	})
}
