package auth_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/ibiki/ibiki/internal/auth"
)

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
			if got := auth.ClientIP(r, tt.trusted); got.String() != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
