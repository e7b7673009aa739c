package cli

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
)

// minimalEntries are, for every adapter type, the smallest valid entries: one per shape the
// type's constructor can return.
var minimalEntries = map[string][]string{
	"simulator":  {`{}`},
	"extremesms": {`{}`, `{"base_url":"https://api.extremesms.example","api_key":"k"}`},
	"generic":    {`{}`, `{"fields":{"from":"mobile"},"allow_get":true}`},
	"twilio":     {`{"account_sid":"AC1","auth_token":"t"}`},
	"smpp":       {`{"address":"127.0.0.1:2775","system_id":"ibiki"}`},
	"http": {`{"url":"https://agg.example/sms"}`,
		`{"url":"https://agg.example/sms","status":{"token":"t","id_path":"id","status_path":"s"}}`},
}

// Every adapter type the registry knows declares what it does, and the declaration is what it
// implements: the two cannot drift apart. An adapter that verifies applies the entry's webhook
// protection; one that does not refuses it.
func TestEveryAdapterTypeDeclaresWhatItImplements(t *testing.T) {
	env := provider.Env{HTTP: &http.Client{}, Region: "US", Log: slog.New(slog.DiscardHandler)}
	for typ := range adapterTypes {
		if len(minimalEntries[typ]) == 0 {
			t.Errorf("type %q has no minimal entry in this test: add its shapes to minimalEntries", typ)
		}
	}
	for typ, shapes := range minimalEntries {
		for _, fields := range shapes {
			t.Run(typ+" "+fields+" declares its interfaces", func(t *testing.T) {
				e := provider.Entry{Name: "x", Type: typ, Fields: json.RawMessage(fields)}
				a, err := newAdapter(e, env)
				if err != nil {
					t.Fatalf("minimal entry refused: %v", err)
				}
				d, ok := a.(provider.Declarer)
				if !ok {
					t.Fatalf("%T declares nothing (no Supports method)", a)
				}
				if got, want := d.Supports(), provider.Implemented(a); got != want {
					t.Errorf("%T declares %q and implements %q", a, got, want)
				}
				e.Guard = provider.Guard{Token: "entry-secret"}
				guarded, err := newAdapter(e, env)
				v, verifies := a.(provider.Verifier)
				switch {
				case !verifies && err == nil:
					t.Errorf("webhook protection accepted by %T, which takes no webhooks", a)
				case verifies && err != nil:
					t.Errorf("webhook protection refused: %v", err)
				case verifies:
					v = guarded.(provider.Verifier)
					r := httptest.NewRequest("POST", "/webhooks/x", strings.NewReader("{}"))
					if err := v.Verify(provider.Request{HTTP: r, Body: []byte("{}")}); !errors.Is(err, provider.ErrBadToken) {
						t.Errorf("Verify without the entry's token = %v, want ErrBadToken", err)
					}
				}
			})
		}
	}
}
