package hooks_test

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

	"github.com/ibiki/ibiki/internal/hooks"
)

const body = `{"from":"+15551234567","message":"hi"}`

func sign(secret, body string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return mac.Sum(nil)
}

func TestGuardCheck(t *testing.T) {
	sig := sign("shh", body)
	office := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	caller := netip.MustParseAddr("203.0.113.7")
	tests := []struct {
		name    string
		guard   hooks.Guard
		target  string
		headers map[string]string
		ip      netip.Addr
		body    string
		want    error
	}{
		{"the zero guard lets everything through", hooks.Guard{}, "/", nil, netip.Addr{}, body, nil},
		{"a token in the default header passes", hooks.Guard{Token: "s3cret"}, "/",
			map[string]string{"X-Webhook-Token": "s3cret"}, caller, body, nil},
		{"a token in a configured header passes", hooks.Guard{Token: "s3cret", TokenHeader: "X-Auth"}, "/",
			map[string]string{"X-Auth": "s3cret"}, caller, body, nil},
		{"a token in the default header is refused when another header is configured",
			hooks.Guard{Token: "s3cret", TokenHeader: "X-Auth"}, "/",
			map[string]string{"X-Webhook-Token": "s3cret"}, caller, body, hooks.ErrBadToken},
		{"a token in the query passes", hooks.Guard{Token: "s3cret"}, "/?token=s3cret", nil, caller, body, nil},
		{"a right query token passes despite a wrong header", hooks.Guard{Token: "s3cret"}, "/?token=s3cret",
			map[string]string{"X-Webhook-Token": "nope"}, caller, body, nil},
		{"a wrong token is refused", hooks.Guard{Token: "s3cret"}, "/?token=s3cre",
			map[string]string{"X-Webhook-Token": "s3cret!"}, caller, body, hooks.ErrBadToken},
		{"a missing token is refused", hooks.Guard{Token: "s3cret"}, "/", nil, caller, body, hooks.ErrBadToken},
		{"a hex signature passes", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sig)}, caller, body, nil},
		{"an upper-case hex signature passes", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": strings.ToUpper(hex.EncodeToString(sig))}, caller, body, nil},
		{"a base64 signature passes", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": base64.StdEncoding.EncodeToString(sig)}, caller, body, nil},
		{"an unpadded URL-safe base64 signature passes", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": base64.RawURLEncoding.EncodeToString(sig)}, caller, body, nil},
		{"a signature with the sha256= prefix passes", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": "sha256=" + hex.EncodeToString(sig)}, caller, body, nil},
		{"a signature in a configured header passes", hooks.Guard{HMACSecret: "shh", HMACHeader: "X-Hub-Signature-256"}, "/",
			map[string]string{"X-Hub-Signature-256": "sha256=" + base64.StdEncoding.EncodeToString(sig)}, caller, body, nil},
		{"a signature with another secret is refused", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sign("other", body))}, caller, body, hooks.ErrBadSignature},
		{"a signature of another body is refused", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sig)}, caller, body + " ", hooks.ErrBadSignature},
		{"a truncated signature is refused", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": hex.EncodeToString(sig[:16])}, caller, body, hooks.ErrBadSignature},
		{"garbage in the signature header is refused", hooks.Guard{HMACSecret: "shh"}, "/",
			map[string]string{"X-Signature": "sha256="}, caller, body, hooks.ErrBadSignature},
		{"a missing signature is refused", hooks.Guard{HMACSecret: "shh"}, "/", nil, caller, body, hooks.ErrBadSignature},
		{"an IPv4 caller inside the allow list passes", hooks.Guard{AllowNets: office}, "/", nil, caller, body, nil},
		{"an IPv6 caller inside the allow list passes", hooks.Guard{AllowNets: office}, "/", nil,
			netip.MustParseAddr("2001:db8::5"), body, nil},
		{"an IPv4-mapped caller matches its IPv4 prefix", hooks.Guard{AllowNets: office}, "/", nil,
			netip.MustParseAddr("::ffff:203.0.113.7"), body, nil},
		{"a caller outside the allow list is refused", hooks.Guard{AllowNets: office}, "/", nil,
			netip.MustParseAddr("198.51.100.1"), body, hooks.ErrForbiddenIP},
		{"an unknown caller IP is refused by an allow list", hooks.Guard{AllowNets: office}, "/", nil,
			netip.Addr{}, body, hooks.ErrForbiddenIP},
		{"the IP is checked before the token", hooks.Guard{AllowNets: office, Token: "s3cret"}, "/", nil,
			netip.MustParseAddr("198.51.100.1"), body, hooks.ErrForbiddenIP},
		{"the token is checked before the signature", hooks.Guard{Token: "s3cret", HMACSecret: "shh"}, "/", nil,
			caller, body, hooks.ErrBadToken},
		{"a right token does not excuse a missing signature", hooks.Guard{Token: "s3cret", HMACSecret: "shh"}, "/?token=s3cret", nil,
			caller, body, hooks.ErrBadSignature},
		{"all configured checks passing lets the call through",
			hooks.Guard{AllowNets: office, Token: "s3cret", HMACSecret: "shh"}, "/",
			map[string]string{"X-Webhook-Token": "s3cret", "X-Signature": hex.EncodeToString(sig)}, caller, body, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			if err := tt.guard.Check(r, tt.ip, []byte(tt.body)); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"without trusted proxies the peer is the caller", "203.0.113.7:4711", nil, nil, "203.0.113.7"},
		{"without trusted proxies a forwarded header is ignored", "203.0.113.7:4711", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"a forwarded header from an untrusted peer is ignored", "203.0.113.7:4711", []string{"198.51.100.1"}, proxies, "203.0.113.7"},
		{"a trusted proxy without a forwarded header is the caller", "10.0.0.2:4711", nil, proxies, "10.0.0.2"},
		{"a trusted proxy's forwarded address is the caller", "10.0.0.2:4711", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"the rightmost untrusted hop wins over a spoofed left entry", "10.0.0.2:4711",
			[]string{"1.1.1.1, 198.51.100.1, 10.0.0.3"}, proxies, "198.51.100.1"},
		{"several forwarded headers are read as one list", "10.0.0.2:4711",
			[]string{"1.1.1.1", "198.51.100.1, 10.0.0.3"}, proxies, "198.51.100.1"},
		{"when every hop is trusted the leftmost is the caller", "10.0.0.2:4711",
			[]string{"10.9.9.9, 10.0.0.3"}, proxies, "10.9.9.9"},
		{"an unparsable hop falls back to the peer", "10.0.0.2:4711",
			[]string{"198.51.100.1, garbage, 10.0.0.3"}, proxies, "10.0.0.2"},
		{"an unparsable hop left of the caller does not matter", "10.0.0.2:4711",
			[]string{"garbage, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"a forwarded address with a port is read", "10.0.0.2:4711", []string{"198.51.100.1:5555"}, proxies, "198.51.100.1"},
		{"an IPv6 proxy forwards an IPv6 caller", "[fd00::2]:4711", []string{"2001:db8::9"}, proxies, "2001:db8::9"},
		{"an IPv4-mapped peer is unmapped", "[::ffff:203.0.113.7]:4711", nil, nil, "203.0.113.7"},
		{"an IPv4-mapped peer still counts as a trusted proxy", "[::ffff:10.0.0.2]:4711",
			[]string{"::ffff:198.51.100.1"}, proxies, "198.51.100.1"},
		{"a remote address without a port is read", "203.0.113.7", nil, nil, "203.0.113.7"},
		{"an unreadable remote address gives no address", "pipe", nil, proxies, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := hooks.ClientIP(r, tt.trusted); got.String() != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
