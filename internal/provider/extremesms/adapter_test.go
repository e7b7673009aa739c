package extremesms_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/extremesms"
)

func TestFromEntrySendsOnlyWithCredentials(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   provider.Features // 0: refused
	}{
		{"an entry without sending fields only takes inbound messages", `{}`, provider.FeatureInbound | provider.FeatureVerify},
		{"an entry without any fields at all only takes inbound messages", ``, provider.FeatureInbound | provider.FeatureVerify},
		{"an entry with a base URL also sends", `{"base_url":"https://api.extremesms.example","api_key":"k"}`,
			provider.FeatureSend | provider.FeatureInbound | provider.FeatureVerify},
		{"sending fields without a base URL are refused", `{"api_key":"k"}`, 0},
		{"a misspelled field is refused", `{"base_url":"https://api.extremesms.example","apikey":"k"}`, 0},
		{"a base URL that is not http is refused", `{"base_url":"ftp://x","api_key":"k"}`, 0},
		{"a base URL without an API key is refused", `{"base_url":"https://api.extremesms.example"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := extremesms.FromEntry(provider.Entry{Name: "es", Type: "extremesms", Fields: json.RawMessage(tt.fields)}, provider.Env{})
			if tt.want == 0 {
				if err == nil {
					t.Errorf("FromEntry accepted %s", tt.fields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := provider.Implemented(a); got != tt.want {
				t.Errorf("features %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseInboundRecordsTheEntrysName(t *testing.T) {
	a, err := extremesms.FromEntry(provider.Entry{Name: "es-eu", Type: "extremesms",
		Guard: provider.Guard{Token: "s3cret"}}, provider.Env{Region: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	src := a.(interface {
		provider.InboundParser
		provider.Verifier
	})
	req := func(target, body string) provider.Request {
		return provider.Request{HTTP: httptest.NewRequest("POST", target, strings.NewReader(body)), Body: []byte(body)}
	}
	t.Run("one message comes out, under the entry's name, read in the entry's region", func(t *testing.T) {
		msgs, answer, err := src.ParseInbound(req("/webhooks/es-eu", `{"from":"07700 900123","message":"hi"}`))
		if err != nil || len(msgs) != 1 || msgs[0].Provider != "es-eu" || msgs[0].From != "+447700900123" || answer.Body != nil {
			t.Errorf("ParseInbound = %+v, %+v, %v", msgs, answer, err)
		}
	})
	t.Run("a bad field is the parser's error", func(t *testing.T) {
		var fe *provider.FieldError
		if _, _, err := src.ParseInbound(req("/webhooks/es-eu", `{"message":"hi"}`)); !errors.As(err, &fe) || fe.Field != "from" {
			t.Errorf("ParseInbound error = %v", err)
		}
	})
	t.Run("the entry's protection is applied", func(t *testing.T) {
		if err := src.Verify(req("/webhooks/es-eu", `{}`)); !errors.Is(err, provider.ErrBadToken) {
			t.Errorf("Verify without the token = %v", err)
		}
		if err := src.Verify(req("/webhooks/es-eu?token=s3cret", `{}`)); err != nil {
			t.Errorf("Verify with the token = %v", err)
		}
	})
}
