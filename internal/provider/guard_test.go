package provider_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
)

const body = `{"from":"+15551234567","message":"hi"}`

func sign(secret, body string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return mac.Sum(nil)
}

func TestGuardVerify(t *testing.T) {
	sig := sign("shh", body)
	office := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	caller := netip.MustParseAddr("203.0.113.7")
	tests := []struct {
		name    string
		guard   provider.Guard
		target  string
		headers map[string]string
		ip      netip.Addr
		body    string
		want    error
	}{
		{"the zero guard lets everything through", provider.Guard{}, "/", nil, netip.Addr{}, body, nil},
		{"a token in the default header passes", provider.Guard{Token: "s3cret"}, "/",
			map[string]string{"X-Webhook-Token": "s3cret"}, caller, body, nil},
		{"a token in a configured header passes", provider.Guard{Token: "s3cret", TokenHeader: "X-Auth"}, "/",
			map[string]string{"X-Auth": "s3cret"}, caller, body, nil},
		{"a token in the default header is refused when another header is configured",
			provider.Guard{Token: "s3cret", TokenHeader: "X-Auth"}, "/",
			map[string]string{"X-Webhook-Token": "s3cret"}, caller, body, provider.ErrBadToken},
		{"a token in the query passes", provider.Guard{Token: "s3cret"}, "/?token=s3cret", nil, caller, body, nil},
		{"a right query token passes despite a wrong header", provider.Guard{Token: "s3cret"}, "/?token=s3cret",
			map[string]string{"X-Webhook-Token": "nope"}, caller, body, nil},
		{"a wrong token is refused", provider.Guard{Token: "s3cret"}, "/?token=s3cre",
			map[string]string{"X-Webhook-Token": "s3cret!"}, caller, body, provider.ErrBadToken},
		{"a missing token is refused", provider.Guard{Token: "s3cret"}, "/", nil, caller, body, provider.ErrBadToken},
		{"a hex signature passes", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sig)}, caller, body, nil},
		{"an upper-case hex signature passes", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": strings.ToUpper(hex.EncodeToString(sig))}, caller, body, nil},
		{"a base64 signature passes", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": base64.StdEncoding.EncodeToString(sig)}, caller, body, nil},
		{"an unpadded URL-safe base64 signature passes", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": base64.RawURLEncoding.EncodeToString(sig)}, caller, body, nil},
		{"a signature with the sha256= prefix passes", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": "sha256=" + hex.EncodeToString(sig)}, caller, body, nil},
		{"a signature in a configured header passes", provider.Guard{HMACSecret: "shh", HMACHeader: "X-Hub-Signature-256"}, "/",
			map[string]string{"X-Hub-Signature-256": "sha256=" + base64.StdEncoding.EncodeToString(sig)}, caller, body, nil},
		{"a signature with another secret is refused", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sign("other", body))}, caller, body, provider.ErrBadSignature},
		{"a signature of another body is refused", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sig)}, caller, body + " ", provider.ErrBadSignature},
		{"a truncated signature is refused", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sig[:16])}, caller, body, provider.ErrBadSignature},
		{"garbage in the signature header is refused", provider.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": "sha256="}, caller, body, provider.ErrBadSignature},
		{"a missing signature is refused", provider.Guard{HMACSecret: "shh"}, "/", nil, caller, body, provider.ErrBadSignature},
		{"an IPv4 caller inside the allow list passes", provider.Guard{AllowNets: office}, "/", nil, caller, body, nil},
		{"an IPv6 caller inside the allow list passes", provider.Guard{AllowNets: office}, "/", nil,
			netip.MustParseAddr("2001:db8::5"), body, nil},
		{"an IPv4-mapped caller matches its IPv4 prefix", provider.Guard{AllowNets: office}, "/", nil,
			netip.MustParseAddr("::ffff:203.0.113.7"), body, nil},
		{"a caller outside the allow list is refused", provider.Guard{AllowNets: office}, "/", nil,
			netip.MustParseAddr("198.51.100.1"), body, provider.ErrForbiddenIP},
		{"an unknown caller IP is refused by an allow list", provider.Guard{AllowNets: office}, "/", nil,
			netip.Addr{}, body, provider.ErrForbiddenIP},
		{"the IP is checked before the token", provider.Guard{AllowNets: office, Token: "s3cret"}, "/", nil,
			netip.MustParseAddr("198.51.100.1"), body, provider.ErrForbiddenIP},
		{"the token is checked before the signature", provider.Guard{Token: "s3cret", HMACSecret: "shh"}, "/", nil,
			caller, body, provider.ErrBadToken},
		{"a right token does not excuse a missing signature", provider.Guard{Token: "s3cret", HMACSecret: "shh"}, "/?token=s3cret", nil,
			caller, body, provider.ErrBadSignature},
		{"all configured checks passing lets the call through",
			provider.Guard{AllowNets: office, Token: "s3cret", HMACSecret: "shh"}, "/",
			map[string]string{"X-Webhook-Token": "s3cret", "X-Signature": hex.EncodeToString(sig)}, caller, body, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			req := provider.Request{HTTP: r, Body: []byte(tt.body), ClientIP: tt.ip}
			err := tt.guard.Verify(req)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, provider.ErrUnauthorized) {
				t.Errorf("Verify = %v, which does not wrap ErrUnauthorized", err)
			}
		})
	}
}
