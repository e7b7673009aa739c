package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// inboundAdapter is a Twilio entry that takes messages, as the providers file builds it.
func inboundAdapter(t testing.TB) *twilio.Client {
	t.Helper()
	a, err := twilio.FromEntry(provider.Entry{Name: "tw", Type: "twilio",
		Fields: json.RawMessage(`{"account_sid":"` + sid + `","auth_token":"` + token + `"}`)}, provider.Env{Region: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return a.(*twilio.Client)
}

// requestTo is Twilio's POST of body to the public URL publicURL (scheme://host[:port][/prefix])
// followed by uri, as it reaches Ibiki behind a proxy on another host.
func requestTo(publicURL, uri, body, sig string) provider.Request {
	r := httptest.NewRequest("POST", "http://10.0.0.5:8080"+uri, strings.NewReader(body))
	if sig != "" {
		r.Header.Set("X-Twilio-Signature", sig)
	}
	return provider.Request{HTTP: r, Body: []byte(body), PublicURL: publicURL}
}

// hmacOf is Twilio's signature of a URL alone (JSON bodies, signed through bodySHA256).
func hmacOf(key, s string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Ibiki accepts a signature exactly when twilio-go's RequestValidator does, for forms whose
// parameters are each given once: over a grid of the URL Twilio called and the URL it signed
// (with and without the default port, another port, another host, a query, unicode).
func TestSignatureAgreesWithTwilioGo(t *testing.T) {
	c := inboundAdapter(t)
	v := twclient.NewRequestValidator(token)
	forms := []url.Values{
		{"MessageSid": {"SM1"}, "From": {"+15551234567"}, "To": {"+15557654321"}, "Body": {"hello"}},
		// Names that prefix one another sort by name, not by name+value.
		{"To": {"+1"}, "ToCity": {"X"}, "To2": {"y"}, "Body": {"Grüße 👋 — ünïcode & = ?"}},
		{"Body": {""}, "NumMedia": {"0"}, "A": {" spaced "}},
		{},
	}
	// Each public URL, and the URLs Twilio may have signed for a request to it.
	cases := []struct {
		base, uri string
		signed    []string
	}{
		{"https://sms.example.com", "/webhooks/tw", []string{
			"https://sms.example.com/webhooks/tw", "https://sms.example.com:443/webhooks/tw",
			"https://sms.example.com:8443/webhooks/tw", "http://sms.example.com/webhooks/tw",
			"https://other.example.com/webhooks/tw", "https://sms.example.com/webhooks/tw/"}},
		{"https://sms.example.com:443", "/webhooks/tw?x=1&y=%C3%A9", []string{
			"https://sms.example.com/webhooks/tw?x=1&y=%C3%A9", "https://sms.example.com:443/webhooks/tw?x=1&y=%C3%A9",
			"https://sms.example.com/webhooks/tw?x=1&y=é", "https://sms.example.com/webhooks/tw?y=%C3%A9&x=1"}},
		{"http://sms.example.com:8080/ibiki", "/webhooks/tw", []string{
			"http://sms.example.com:8080/ibiki/webhooks/tw", "http://sms.example.com/ibiki/webhooks/tw",
			"http://sms.example.com:80/ibiki/webhooks/tw", "http://sms.example.com:8081/ibiki/webhooks/tw"}},
		{"http://sms.example.com", "/webhooks/tw", []string{
			"http://sms.example.com/webhooks/tw", "http://sms.example.com:80/webhooks/tw", "http://sms.example.com:443/webhooks/tw"}},
	}
	agreed, accepted := 0, 0
	for _, tc := range cases {
		full := tc.base + tc.uri
		for _, f := range forms {
			params := map[string]string{}
			for k := range f {
				params[k] = f.Get(k)
			}
			for _, signed := range tc.signed {
				sig := twilio.Signature(token, signed, f)
				want := v.Validate(full, params, sig)
				if want != v.ValidateBody(full, []byte(f.Encode()), sig) {
					t.Fatalf("the oracle disagrees with itself on %s", signed)
				}
				err := c.Verify(requestTo(tc.base, tc.uri, f.Encode(), sig))
				if got := err == nil; got != want {
					t.Errorf("request to %s signed over %s, form %v: Ibiki accepts %v (%v), twilio-go %v", full, signed, f, got, err, want)
				}
				agreed++
				if want {
					accepted++
				}
			}
		}
	}
	if accepted == 0 || accepted == agreed {
		t.Fatalf("%d of %d accepted: the grid does not test both ways", accepted, agreed)
	}
	// twilio-go cuts a host at its first colon, so it cannot drop the port of an IPv6 address
	// (Twilio calls no such URL); Ibiki keeps the brackets and drops the port.
	t.Run("an IPv6 host loses its port, not its address", func(t *testing.T) {
		f := forms[0]
		for signed, want := range map[string]bool{"http://[2001:db8::1]/webhooks/tw": true,
			"http://[2001:db8::1]:8080/webhooks/tw": true, "http://[2001:db8::2]/webhooks/tw": false} {
			err := c.Verify(requestTo("http://[2001:db8::1]:8080", "/webhooks/tw", f.Encode(), twilio.Signature(token, signed, f)))
			if (err == nil) != want {
				t.Errorf("signed over %s: %v", signed, err)
			}
		}
	})
}

// The status callback was refused, before this test, when Twilio signed its URL with the port
// dropped or with :443 added; both official libraries accept both.
func TestStatusCallbackWithAndWithoutItsPort(t *testing.T) {
	const cb = "https://ibiki.example/webhooks/tw/status"
	c, _ := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, StatusCallback: cb}, nil)
	f := url.Values{"MessageSid": {"SM9"}, "MessageStatus": {"delivered"}}
	for _, signed := range []string{cb, "https://ibiki.example:443/webhooks/tw/status"} {
		r := httptest.NewRequest("POST", "/webhooks/tw/status", strings.NewReader(f.Encode()))
		r.Header.Set("X-Twilio-Signature", twilio.Signature(token, signed, f))
		if ups, err := verifyAndParse(c, r, f.Encode()); err != nil || len(ups) != 1 {
			t.Errorf("signed over %s: %v %v", signed, ups, err)
		}
	}
	c2, _ := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, StatusCallback: "https://ibiki.example:443/webhooks/tw/status"}, nil)
	r := httptest.NewRequest("POST", "/webhooks/tw/status", strings.NewReader(f.Encode()))
	r.Header.Set("X-Twilio-Signature", twilio.Signature(token, cb, f))
	if _, err := verifyAndParse(c2, r, f.Encode()); err != nil {
		t.Errorf("a callback configured with :443, signed without it: %v", err)
	}
}

// A parameter given several times: twilio-go reads only its first value, twilio-python and
// twilio-node sort the values, Ibiki's own Signature keeps their order. Each is accepted, as
// each official library accepts its own; a signature over other values is not.
func TestSignatureOfRepeatedParameters(t *testing.T) {
	c := inboundAdapter(t)
	const base, uri = "https://sms.example.com", "/webhooks/tw"
	f := url.Values{"MediaUrl": {"https://b.example/2", "https://a.example/1"}, "Body": {"x"}}
	first := url.Values{"MediaUrl": {"https://b.example/2"}, "Body": {"x"}}
	sortedValues := url.Values{"MediaUrl": {"https://a.example/1", "https://b.example/2"}, "Body": {"x"}}
	v := twclient.NewRequestValidator(token)
	goSig := twilio.Signature(token, base+uri, first)
	if !v.ValidateBody(base+uri, []byte(f.Encode()), goSig) {
		t.Fatal("twilio-go does not accept a signature over the first values: the oracle changed")
	}
	for name, sig := range map[string]string{
		"twilio-go (first value)":         goSig,
		"python and node (values sorted)": twilio.Signature(token, base+uri, sortedValues),
		"in the order given":              twilio.Signature(token, base+uri, f),
	} {
		if err := c.Verify(requestTo(base, uri, f.Encode(), sig)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	other := url.Values{"MediaUrl": {"https://a.example/1", "https://c.example/3"}, "Body": {"x"}}
	if err := c.Verify(requestTo(base, uri, f.Encode(), twilio.Signature(token, base+uri, other))); !errors.Is(err, provider.ErrForbiddenSignature) {
		t.Errorf("a signature over other values: %v", err)
	}
}

// A JSON body is signed through bodySHA256 in the URL: the URL alone is signed, and the body
// must hash to it. Ibiki agrees with twilio-go's ValidateBody, ports included.
func TestSignatureOfJSONBodies(t *testing.T) {
	c := inboundAdapter(t)
	v := twclient.NewRequestValidator(token)
	body := `{"EventType":"onMessageAdded","Body":"héllo 👋"}`
	sum := sha256.Sum256([]byte(body))
	hexSum := hex.EncodeToString(sum[:])
	const base = "https://sms.example.com"
	uri := "/webhooks/tw/conversations?bodySHA256=" + hexSum
	tests := []struct {
		name, signed, body string
	}{
		{"the URL as called", base + uri, body},
		{"the URL with :443", "https://sms.example.com:443" + uri, body},
		{"another body", base + uri, body + " "},
		{"another URL", base + "/webhooks/other?bodySHA256=" + hexSum, body},
		{"a body of the wrong hash", base + uri, `{"x":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := hmacOf(token, tt.signed)
			want := v.ValidateBody(base+uri, []byte(tt.body), sig)
			err := c.Verify(requestTo(base, uri, tt.body, sig))
			if (err == nil) != want {
				t.Errorf("Ibiki: %v, twilio-go accepts: %v", err, want)
			}
		})
	}
}

// A missing, garbled or foreign signature is refused as a signature failure (403 at the
// endpoint), and a body that is not a form is malformed (400), signed or not.
func TestSignatureRefusals(t *testing.T) {
	c := inboundAdapter(t)
	const base, uri = "https://sms.example.com", "/webhooks/tw"
	f := url.Values{"MessageSid": {"SM1"}, "From": {"+15551234567"}, "Body": {"hi"}}
	for name, sig := range map[string]string{
		"missing":            "",
		"not base64":         "%%%",
		"another token":      twilio.Signature("other-token", base+uri, f),
		"another body":       twilio.Signature(token, base+uri, url.Values{"MessageSid": {"SM2"}}),
		"a prefix of it":     twilio.Signature(token, base+uri, f)[:10],
		"lower-cased base64": strings.ToLower(twilio.Signature(token, base+uri, f)),
	} {
		err := c.Verify(requestTo(base, uri, f.Encode(), sig))
		if !errors.Is(err, provider.ErrForbiddenSignature) || !errors.Is(err, provider.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := c.Verify(requestTo(base, uri, "%zz", "x")); !errors.Is(err, provider.ErrMalformed) {
		t.Errorf("a body that is not a form: %v", err)
	}
}
