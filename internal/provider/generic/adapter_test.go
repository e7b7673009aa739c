package generic_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/generic"
)

func TestSourceFromEntry(t *testing.T) {
	t.Run("an entry refuses fields it does not have", func(t *testing.T) {
		if _, err := generic.FromEntry(provider.Entry{Name: "g", Type: "generic", Fields: json.RawMessage(`{"url":"x"}`)}, provider.Env{}); err == nil || !strings.Contains(err.Error(), `"url"`) {
			t.Errorf("FromEntry with a url = %v", err)
		}
	})
	a, err := generic.FromEntry(provider.Entry{Name: "relay", Type: "generic", Guard: provider.Guard{HMACSecret: "k"}}, provider.Env{Region: "US"})
	if err != nil {
		t.Fatal(err)
	}
	src := a.(interface {
		provider.InboundParser
		provider.Verifier
	})
	body := `{"message_id":"m1","from":"(555) 123-4567","body":"hi"}`
	r := provider.Request{HTTP: httptest.NewRequest("POST", "/webhooks/relay", strings.NewReader(body)), Body: []byte(body)}
	t.Run("one message comes out under the entry's name", func(t *testing.T) {
		msgs, _, err := src.ParseInbound(r)
		if err != nil || len(msgs) != 1 || msgs[0].Provider != "relay" || msgs[0].From != "+15551234567" || msgs[0].ProviderMessageID != "m1" {
			t.Errorf("ParseInbound = %+v, %v", msgs, err)
		}
	})
	t.Run("the entry's protection is applied", func(t *testing.T) {
		if err := src.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
			t.Errorf("Verify without a signature = %v", err)
		}
	})
}
