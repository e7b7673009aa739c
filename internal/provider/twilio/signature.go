package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/ibiki/ibiki/internal/provider"
)

// ErrSignature is a request whose X-Twilio-Signature is missing or matches none of the ways
// Twilio signs: answered 403, as Twilio's own middleware does, and counted.
var ErrSignature = fmt.Errorf("%w: X-Twilio-Signature is missing or does not match", provider.ErrForbiddenSignature)

// Signature computes X-Twilio-Signature for a form POST to url: base64 HMAC-SHA1, keyed with
// the auth token, of the URL followed by every parameter name and value, names sorted
// (byte order, as Unix sorts), the values of a repeated name in the order given.
func Signature(authToken, url string, form url.Values) string {
	return sign(authToken, url, form, inOrder)
}

// A valuesOrder says how the values of a repeated parameter are written into the signed text.
// The official libraries differ: twilio-python and twilio-node sort them, twilio-go keeps only
// the first, others keep the order of the request. For a name given once the three agree.
type valuesOrder int

const (
	inOrder valuesOrder = iota
	sorted
	firstOnly
)

func sign(authToken, u string, form url.Values, order valuesOrder) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(u))
	for _, k := range keys {
		vs := form[k]
		switch order {
		case sorted:
			vs = slices.Sorted(slices.Values(vs))
		case firstOnly:
			vs = vs[:min(1, len(vs))]
		}
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// validSignature reports whether sig is Twilio's signature of a POST of body to rawURL, as
// leniently as Twilio's official validators (twilio-go, twilio-python, twilio-node) accept it:
//   - the URL as given, and with its port changed: a URL without a port is also tried with
//     the scheme's default one (443 or 80) added, and a URL with a port without it, because
//     Twilio's own signing is not consistent about ports;
//   - a form body: its parameters sorted by name, each repeated name's values as any of the
//     libraries write them (valuesOrder);
//   - a body that is not a form (JSON): the URL carries bodySHA256, the hex SHA-256 of the body;
//     the URL alone is signed, and the body must hash to it.
//
// Every comparison is constant-time. It returns an error only for a body that cannot be checked
// at all (a form that is not one).
func validSignature(authToken, rawURL string, body []byte, sig string) (bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false, nil
	}
	var form url.Values
	if want := u.Query().Get("bodySHA256"); want != "" {
		sum := sha256.Sum256(body)
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(strings.ToLower(want))) != 1 {
			return false, nil
		}
	} else if form, err = url.ParseQuery(string(body)); err != nil {
		return false, fmt.Errorf("%w: body is not a form", provider.ErrMalformed)
	}
	if sig == "" {
		return false, nil
	}
	orders := []valuesOrder{inOrder}
	for _, vs := range form {
		if len(vs) > 1 {
			orders = []valuesOrder{inOrder, sorted, firstOnly}
			break
		}
	}
	ok := false
	for _, target := range urlVariants(rawURL, u) {
		for _, order := range orders {
			// No early return: each candidate costs the same whether an earlier one matched.
			want := sign(authToken, target, form, order)
			ok = subtle.ConstantTimeCompare([]byte(want), []byte(sig)) == 1 || ok
		}
	}
	return ok, nil
}

// urlVariants returns rawURL and the same URL with its port changed as Twilio's validators
// try it: the default port of its scheme added when it has none, its port removed when it has
// one. Only the authority changes; the path and query stay byte for byte as given.
func urlVariants(rawURL string, u *url.URL) []string {
	if u.Host == "" {
		return []string{rawURL}
	}
	host, port := u.Hostname(), u.Port()
	var other string
	if port == "" {
		def := "80"
		if u.Scheme == "https" {
			def = "443"
		}
		other = net.JoinHostPort(host, def)
	} else {
		other = host
		if strings.Contains(host, ":") {
			other = "[" + host + "]" // an IPv6 address keeps its brackets
		}
	}
	i := strings.Index(rawURL, "//"+u.Host)
	if i < 0 {
		return []string{rawURL}
	}
	return []string{rawURL, rawURL[:i+2] + other + rawURL[i+2+len(u.Host):]}
}
