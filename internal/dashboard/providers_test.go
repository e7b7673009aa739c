package dashboard_test

import (
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

func TestOperationsProvidersShowsCapabilitiesTrafficAndErrors(t *testing.T) {
	const secret = "tw-secret-token-never-shown"
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"default":"sim","providers":[
		{"name":"sim","type":"simulator","latency":"10ms","failure_ratio":1,"rate":25},
		{"name":"tw","type":"twilio","account_sid":"AC00000000000000000000000000000001","auth_token":"`+secret+`",
		 "base_url":"http://127.0.0.1:1"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := opServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	acme := s.CreateClient("acme", "")
	opMustDo(t, s, "POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken,
		map[string]any{"amount_cents": 100, "reference": "payment"}, http.StatusOK)
	opMustDo(t, s, "POST", "/admin/v1/numbers", ibikitest.AdminToken, map[string]any{"number": "+15550000010"}, http.StatusCreated)
	var m struct{ ID string }
	opMustDo(t, s, "POST", "/api/v1/messages", acme.APIKey,
		map[string]string{"to": "+15552080001", "body": "hello"}, http.StatusAccepted).JSON(t, &m)
	opEventually(t, "the simulator to report the message undelivered", func() bool {
		var got struct{ Status string }
		s.Do("GET", "/api/v1/messages/"+m.ID, acme.APIKey, nil).JSON(t, &got)
		return got.Status == "undelivered"
	})

	b := opSignIn(t, s)
	p := b.get("/providers", http.StatusOK)
	body := html.UnescapeString(p.Body)
	for _, want := range []string{`id="provider-sim"`, `id="provider-tw"`, "simulator: no real SMS is sent", "the simulator",
		"twilio", "25 messages/s", "1 failed in the last hour", "sim_undelivered", m.ID, "/webhooks/tw/status"} {
		if !strings.Contains(body, want) {
			t.Errorf("providers page lacks %q", want)
		}
	}
	for _, never := range []string{secret, "AC00000000000000000000000000000001"} {
		if strings.Contains(body, never) {
			t.Errorf("providers page shows the credential %q", never)
		}
	}
}
