package provider

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Errors returned by Guard.Verify, all wrapping ErrUnauthorized. They are distinct so the
// endpoint can log which protection refused a call, while answering the caller without detail.
var (
	ErrForbiddenIP  = fmt.Errorf("%w: caller IP not allowed", ErrUnauthorized)
	ErrBadToken     = fmt.Errorf("%w: missing or wrong webhook token", ErrUnauthorized)
	ErrBadSignature = fmt.Errorf("%w: missing or wrong webhook signature", ErrUnauthorized)
	// ErrForbiddenSignature is a provider's own signature scheme refusing a request, where the
	// provider's convention is a 403 (Twilio's): answered 403, counted as "signature".
	ErrForbiddenSignature = fmt.Errorf("%w: provider signature does not match", ErrUnauthorized)
)

const (
	defaultTokenHeader = "X-Webhook-Token"
	defaultHMACHeader  = "X-Signature"
	tokenQueryParam    = "token"
	signaturePrefix    = "sha256="
)

// Guard is the optional protection of one adapter's webhooks, configured in its providers-file
// entry (the webhook_* fields) or, for the extremesms and generic entries, by
// IBIKI_SOURCE_<NAME>_*. The zero value lets everything through: providers differ in what they
// can do (some sign, some only call from fixed IPs, some can only add a query parameter), so
// each entry is configured with what its provider offers. Adapters that take webhooks carry one
// and call it first in their Verify.
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

// Verify applies every configured protection to one request: the caller's IP first (cheapest,
// and it reveals nothing about the secrets), then the token, then the signature of the raw body.
func (g Guard) Verify(r Request) error {
	if len(g.AllowNets) > 0 && !inAny(g.AllowNets, r.ClientIP) {
		return ErrForbiddenIP
	}
	if g.Token != "" && !g.tokenOK(r.HTTP) {
		return ErrBadToken
	}
	if g.HMACSecret != "" && !g.signatureOK(r.HTTP, r.Body) {
		return ErrBadSignature
	}
	return nil
}

// Empty reports whether the guard checks nothing.
func (g Guard) Empty() bool {
	return g.Token == "" && g.HMACSecret == "" && len(g.AllowNets) == 0
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

func inAny(nets []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
