package hooks_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// Every inbound entry of the providers file gets its webhook, under its name, with its own
// protection; today's URLs keep answering as they did.
func TestProvidersFileEntriesTakeInboundUnderTheirNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"providers":[{"name":"sim","type":"simulator"},
		{"name":"relay","type":"generic","webhook_token":"r3lay"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	rcv := ibikitest.NewReceiver(t)
	s.CreateClient("acme", rcv.URL)
	generic := func(id string) []byte {
		return []byte(`{"message_id":"` + id + `","from":"+15551234567","body":"hi","business":"acme"}`)
	}
	t.Run("a new entry's webhook applies its protection", func(t *testing.T) {
		wantErr(t, post(t, s.URL+"/webhooks/relay", generic("r-0"), nil), http.StatusUnauthorized, "unauthorized", "")
	})
	relay := wantAccepted(t, post(t, s.URL+"/webhooks/relay?token=r3lay", generic("r-1"), nil), false)
	t.Run("the same provider message id from another source is another message", func(t *testing.T) {
		wantAccepted(t, post(t, s.URL+"/webhooks/generic", generic("r-1"), nil), false)
	})
	t.Run("the default sources are still there", func(t *testing.T) {
		wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("e-1"), nil), false)
		wantAccepted(t, post(t, s.URL+"/webhook/incoming-sms", seedPayload("e-1"), nil), true)
	})
	t.Run("an adapter without inbound parsing has no webhook, like an unknown path", func(t *testing.T) {
		wantErr(t, post(t, s.URL+"/webhooks/sim", generic("s-1"), nil), http.StatusNotFound, "not_found", "")
		wantErr(t, post(t, s.URL+"/webhooks/nobody", generic("s-1"), nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("another method on a webhook is not allowed, as before", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+"/webhooks/extremesms", nil)
		wantErr(t, send(t, req), http.StatusMethodNotAllowed, "method_not_allowed", "")
	})
	got := events(t, rcv.WaitFor(t, 3))
	if got[0] != relay.ID+"/relay/business" || !strings.Contains(got[1], "/generic/") || !strings.Contains(got[2], "/extremesms/") {
		t.Errorf("deliveries %v, want relay's (%s), then generic's, then extremesms's", got, relay.ID)
	}
}
