package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// Errors returned by Guard.Check. They are distinct so the endpoint can log which protection
// refused a call, while answering the caller without detail.
var (
	ErrForbiddenIP  = errors.New("hooks: caller IP not allowed")
	ErrBadToken     = errors.New("hooks: missing or wrong webhook token")
	ErrBadSignature = errors.New("hooks: missing or wrong webhook signature")
)

const (
	defaultTokenHeader = "X-Webhook-Token"
	defaultHMACHeader  = "X-Signature"
	tokenQueryParam    = "token"
	signaturePrefix    = "sha256="
)

// Guard is the optional protection of one webhook source. The zero value lets everything
// through: providers differ in what they can do (some sign, some only call from fixed IPs, some
// can only add a query parameter), so each source is configured with what its provider offers.
type Guard struct {
	// Token is a shared secret, accepted in the TokenHeader header or the "token" query
	// parameter (for providers that can only be given a URL).
	Token string
	// TokenHeader is the header carrying Token; "X-Webhook-Token" when empty.
	TokenHeader string
	// HMACSecret, when set, requires an HMAC-SHA256 of the raw body.
	HMACSecret string
	// HMACHeader carries the signature, in hex or base64, with an optional "sha256=" prefix;
	// "X-Signature" when empty.
	HMACHeader string
	// AllowNets, when non-empty, requires the caller's IP to be inside one of the prefixes.
	AllowNets []netip.Prefix
}

// Check applies every configured protection to one request: the caller's IP first (cheapest,
// and it reveals nothing about the secrets), then the token, then the body signature. body is
// the raw request body, read once by the caller, because the signature covers its exact bytes.
func (g Guard) Check(r *http.Request, clientIP netip.Addr, body []byte) error {
	if len(g.AllowNets) > 0 && !inAny(g.AllowNets, clientIP) {
		return ErrForbiddenIP
	}
	if g.Token != "" && !g.tokenOK(r) {
		return ErrBadToken
	}
	if g.HMACSecret != "" && !g.signatureOK(r, body) {
		return ErrBadSignature
	}
	return nil
}

func (g Guard) tokenOK(r *http.Request) bool {
	header := g.TokenHeader
	if header == "" {
		header = defaultTokenHeader
	}
	// Both places are compared, without short-circuit, so timing does not tell which one the
	// caller used.
	inHeader := equalSecret(r.Header.Get(header), g.Token)
	inQuery := equalSecret(r.URL.Query().Get(tokenQueryParam), g.Token)
	return inHeader || inQuery
}

func (g Guard) signatureOK(r *http.Request, body []byte) bool {
	header := g.HMACHeader
	if header == "" {
		header = defaultHMACHeader
	}
	got := decodeSignature(r.Header.Get(header))
	if got == nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(g.HMACSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// decodeSignature reads a hex or base64 (standard or URL alphabet, padded or not) SHA-256
// signature, since providers disagree on the encoding. It returns nil unless the value decodes
// to exactly 32 bytes; hex (64 characters) and base64 (43-44) cannot be confused.
func decodeSignature(v string) []byte {
	v = strings.TrimSpace(v)
	if len(v) >= len(signaturePrefix) && strings.EqualFold(v[:len(signaturePrefix)], signaturePrefix) {
		v = v[len(signaturePrefix):]
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == sha256.Size {
			return b
		}
	}
	return nil
}

// equalSecret compares in constant time. Hashing first makes the lengths equal, so the time
// taken does not reveal the secret's length either.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// ClientIP returns the address of the party that called us. It is the connection's peer
// (RemoteAddr) unless that peer is one of our trusted proxies: then X-Forwarded-For is read from
// the right, because each proxy appends the address it saw, and only entries added by trusted
// proxies can be believed. The first address not in trusted is the caller. An unparsable entry
// on that walk means the chain cannot be trusted, so the peer address is returned. If every entry
// is a trusted proxy, the leftmost one is the furthest hop known. The zero Addr means RemoteAddr
// itself was unreadable.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || !inAny(trusted, peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr := parseHostAddr(strings.TrimSpace(hops[i]))
		if !addr.IsValid() {
			return peer
		}
		if !inAny(trusted, addr) {
			return addr
		}
		last = addr
	}
	return last
}

// parseHostAddr reads "ip", "ip:port" or "[ipv6]:port", unmapped and without zone so that it
// compares equal to the prefixes of an allow list.
func parseHostAddr(s string) netip.Addr {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone("")
}

func inAny(nets []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
