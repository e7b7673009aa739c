package provider_test

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
)

func TestRequestURLIsTheOneTheProviderCalled(t *testing.T) {
	tests := []struct {
		name, target, public string
		tls                  bool
		want                 string
	}{
		{"without a public URL it is the request as received", "http://10.0.0.5:8080/webhooks/tw/status?x=1", "", false,
			"http://10.0.0.5:8080/webhooks/tw/status?x=1"},
		{"a request over TLS keeps https", "https://sms.example.com/webhooks/tw", "", true, "https://sms.example.com/webhooks/tw"},
		{"the public URL replaces the host the proxy called", "http://10.0.0.5:8080/webhooks/tw?token=a%2Fb", "https://sms.example.com", false,
			"https://sms.example.com/webhooks/tw?token=a%2Fb"},
		{"a public URL with a path prefix keeps it", "http://10.0.0.5/webhooks/tw", "https://example.com/ibiki", false,
			"https://example.com/ibiki/webhooks/tw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tt.target, nil)
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			if got := (provider.Request{HTTP: r, PublicURL: tt.public}).URL(); got != tt.want {
				t.Errorf("URL() = %q, want %q", got, tt.want)
			}
		})
	}
}
