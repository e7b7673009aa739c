package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "test-auth-token"
)

// fakeTwilio is Twilio's Messages endpoint: it checks the path, basic auth and form, and
// answers with the status and body the test sets.
func fakeTwilio(t *testing.T, status int, answer string, got *url.Values) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != sid || p != token {
			t.Errorf("basic auth = %q %q %v", u, p, ok)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("content type %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		*got, _ = url.ParseQuery(string(b))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSend(t *testing.T) {
	var got url.Values
	srv := fakeTwilio(t, 201, `{"sid":"SM123","status":"queued","from":"+15550001"}`, &got)
	c, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, BaseURL: srv.URL,
		StatusCallback: "https://ibiki.example/webhooks/twilio/status"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), provider.Outbound{MessageID: "msg_1", From: "+15550001", To: "+15550002", Body: "hi"})
	if err != nil || res.ProviderMessageID != "SM123" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	want := url.Values{"To": {"+15550002"}, "From": {"+15550001"}, "Body": {"hi"},
		"StatusCallback": {"https://ibiki.example/webhooks/twilio/status"}}
	if got.Encode() != want.Encode() {
		t.Errorf("form = %v, want exactly %v", got, want)
	}

	t.Run("a Messaging Service replaces From", func(t *testing.T) {
		c, _ := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, BaseURL: srv.URL, MessagingServiceSID: "MG1"}, nil)
		if _, err := c.Send(context.Background(), provider.Outbound{From: "+15550001", To: "+15550002", Body: "hi"}); err != nil {
			t.Fatal(err)
		}
		if got.Get("MessagingServiceSid") != "MG1" || got.Has("From") || c.Capabilities().ChooseSender {
			t.Errorf("form = %v", got)
		}
	})
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		answer    string
		permanent bool
		code      string
	}{
		{"an invalid number is permanent", 400, `{"code":21211,"message":"The 'To' number is not valid","status":400}`, true, "21211"},
		{"too many requests is retried", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, false, "20429"},
		{"a server error is retried", 503, `oops`, false, "503"},
		{"rejected credentials are retried: the operator fixes them", 401, `{"code":20003,"message":"Authenticate"}`, false, "20003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got url.Values
			srv := fakeTwilio(t, tt.status, tt.answer, &got)
			c, _ := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, BaseURL: srv.URL}, nil)
			_, err := c.Send(context.Background(), provider.Outbound{From: "+15550001", To: "+15550002", Body: "hi"})
			var se *provider.SendError
			if !errors.As(err, &se) || se.Permanent != tt.permanent || se.Code != tt.code {
				t.Errorf("error = %#v", err)
			}
		})
	}
}

func TestStatusCallbackSignature(t *testing.T) {
	const cb = "https://ibiki.example/webhooks/twilio/status"
	c, _ := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, StatusCallback: cb}, nil)
	form := url.Values{"MessageSid": {"SM123"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"},
		"AccountSid": {sid}, "To": {"+15550002"}}
	sig := twilio.Signature(token, cb, form)

	t.Run("our signature is the one Twilio's own validator expects", func(t *testing.T) {
		params := map[string]string{}
		for k := range form {
			params[k] = form.Get(k)
		}
		v := twclient.NewRequestValidator(token)
		if !v.Validate(cb, params, sig) {
			t.Errorf("twilio-go rejects %s", sig)
		}
		params["MessageStatus"] = "delivered"
		if v.Validate(cb, params, sig) {
			t.Errorf("twilio-go accepts a tampered form: the oracle is not checking")
		}
	})
	post := func(sig string, body string) ([]provider.StatusUpdate, error) {
		r := httptest.NewRequest("POST", "/webhooks/twilio/status", strings.NewReader(body))
		r.Header.Set("X-Twilio-Signature", sig)
		return verifyAndParse(c, r, body)
	}
	t.Run("a signed callback is read", func(t *testing.T) {
		ups, err := post(sig, form.Encode())
		if err != nil || len(ups) != 1 || ups[0].ProviderMessageID != "SM123" || ups[0].Status != model.StatusUndelivered || ups[0].ErrorCode != "30003" {
			t.Errorf("ParseStatus = %+v, %v", ups, err)
		}
	})
	t.Run("a wrong or missing signature is refused", func(t *testing.T) {
		for _, s := range []string{"", "bm9wZQ==", twilio.Signature("other-token", cb, form)} {
			if _, err := post(s, form.Encode()); !errors.Is(err, provider.ErrUnauthorized) {
				t.Errorf("signature %q: %v", s, err)
			}
		}
		tampered := url.Values{}
		for k, v := range form {
			tampered[k] = v
		}
		tampered.Set("MessageStatus", "delivered")
		if _, err := post(sig, tampered.Encode()); !errors.Is(err, provider.ErrUnauthorized) {
			t.Errorf("tampered body: %v", err)
		}
	})
	t.Run("steps before sent are verified and ignored", func(t *testing.T) {
		f := url.Values{"MessageSid": {"SM123"}, "MessageStatus": {"sending"}}
		ups, err := post(twilio.Signature(token, cb, f), f.Encode())
		if err != nil || len(ups) != 0 {
			t.Errorf("%+v %v", ups, err)
		}
	})
}

// Without status_callback, the callback is derived from Ibiki's public address, so messages get
// delivery reports by default; its signatures are checked against that same URL.
func TestStatusCallbackFromThePublicURL(t *testing.T) {
	tests := []struct {
		name       string
		configured string
		publicURL  string
		want       string // "" = no StatusCallback field
	}{
		{"derived from the public URL", "", "https://sms.example.com/", "https://sms.example.com/webhooks/tw-us/status"},
		{"derived under a path prefix", "", "https://example.com/ibiki", "https://example.com/ibiki/webhooks/tw-us/status"},
		{"the configured one wins", "https://hooks.example/tw", "https://sms.example.com", "https://hooks.example/tw"},
		{"none without a public URL", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got url.Values
			srv := fakeTwilio(t, 201, `{"sid":"SM1","status":"queued"}`, &got)
			cfg := twilio.Config{AccountSID: sid, AuthToken: token, BaseURL: srv.URL, StatusCallback: tt.configured}
			c, err := twilio.New(cfg.WithPublicURL(tt.publicURL, "tw-us"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Send(context.Background(), provider.Outbound{From: "+15550001", To: "+15550002", Body: "hi"}); err != nil {
				t.Fatal(err)
			}
			if got.Get("StatusCallback") != tt.want || got.Has("StatusCallback") != (tt.want != "") {
				t.Errorf("StatusCallback = %q (sent %v), want %q", got.Get("StatusCallback"), got.Has("StatusCallback"), tt.want)
			}
			if tt.want == "" {
				return
			}
			// Twilio signs its callback with the URL it was given; behind a proxy the request
			// reaches Ibiki on another host, and is still verified.
			f := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
			r := httptest.NewRequest("POST", "http://10.0.0.5:8080/webhooks/tw-us/status", strings.NewReader(f.Encode()))
			r.Header.Set("X-Twilio-Signature", twilio.Signature(token, tt.want, f))
			if ups, err := verifyAndParse(c, r, f.Encode()); err != nil || len(ups) != 1 || ups[0].Status != model.StatusDelivered {
				t.Errorf("ParseStatus = %+v, %v", ups, err)
			}
		})
	}
}

// verifyAndParse is what hooks does with a status callback: verify, then parse.
func verifyAndParse(c *twilio.Client, r *http.Request, body string) ([]provider.StatusUpdate, error) {
	req := provider.Request{HTTP: r, Body: []byte(body), Status: true}
	if err := c.Verify(req); err != nil {
		return nil, err
	}
	return c.ParseStatus(req)
}

// Outside status callbacks (Twilio's inbound messages, next), the signed URL is the one Twilio
// called: IBIKI_PUBLIC_URL and the path, whatever host the request reached. The entry's own
// protection comes first.
func TestVerifySignedURLOutsideStatusCallbacks(t *testing.T) {
	a, err := twilio.FromEntry(provider.Entry{Name: "tw", Type: "twilio",
		Fields: json.RawMessage(`{"account_sid":"` + sid + `","auth_token":"` + token + `","status_callback":"https://cb.example/x"}`),
		Guard:  provider.Guard{AllowNets: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}},
		provider.Env{PublicURL: "https://sms.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	v := a.(provider.Verifier)
	f := url.Values{"From": {"+15550002"}, "Body": {"hi"}}
	req := func(sig string, ip string) provider.Request {
		r := httptest.NewRequest("POST", "http://10.0.0.5:8080/webhooks/tw?x=1", strings.NewReader(f.Encode()))
		r.Header.Set("X-Twilio-Signature", sig)
		return provider.Request{HTTP: r, Body: []byte(f.Encode()), ClientIP: netip.MustParseAddr(ip), PublicURL: "https://sms.example.com"}
	}
	tests := []struct {
		name string
		req  provider.Request
		want error
	}{
		{"a signature of the public URL passes", req(twilio.Signature(token, "https://sms.example.com/webhooks/tw?x=1", f), "203.0.113.9"), nil},
		{"a signature of the status callback does not", req(twilio.Signature(token, "https://cb.example/x", f), "203.0.113.9"), provider.ErrUnauthorized},
		{"a signature of the host the request reached does not", req(twilio.Signature(token, "http://10.0.0.5:8080/webhooks/tw?x=1", f), "203.0.113.9"), provider.ErrUnauthorized},
		{"a caller outside the entry's allow list is refused first", req(twilio.Signature(token, "https://sms.example.com/webhooks/tw?x=1", f), "198.51.100.1"), provider.ErrForbiddenIP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := v.Verify(tt.req); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("a status callback that is not a form is malformed, not unauthorized", func(t *testing.T) {
		r := provider.Request{HTTP: httptest.NewRequest("POST", "/webhooks/tw/status", nil), Body: []byte("%zz"),
			ClientIP: netip.MustParseAddr("203.0.113.9"), Status: true}
		if err := v.Verify(r); !errors.Is(err, provider.ErrMalformed) || err.Error() != "malformed payload: status callback is not a form" {
			t.Errorf("Verify = %v", err)
		}
	})
}

// A WhatsApp message through a Messaging Service: To carries the prefix, From is the service's
// to choose; the answer's whatsapp: sender is kept as a number.
func TestSendWhatsAppThroughAMessagingService(t *testing.T) {
	var got url.Values
	srv := fakeTwilio(t, 201, `{"sid":"SM7","status":"queued","from":"whatsapp:+15550009999"}`, &got)
	c, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, BaseURL: srv.URL, MessagingServiceSID: "MG1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), provider.Outbound{To: "+15550002", Body: "hi", Channel: model.ChannelWhatsApp,
		MediaURLs: []string{"https://m.example/1"}})
	if err != nil || res.From != "+15550009999" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if got.Get("To") != "whatsapp:+15550002" || got.Has("From") || got.Get("MessagingServiceSid") != "MG1" || got.Get("MediaUrl") != "https://m.example/1" {
		t.Errorf("form %v", got)
	}
	if !c.Capabilities().Carries(model.ChannelWhatsApp) || !c.Capabilities().Media || c.Capabilities().Carries(model.ChannelVoice) {
		t.Errorf("capabilities %+v", c.Capabilities())
	}
}

// WhatsApp's "outside the 24-hour window" (63016) fails the message with the code and a
// sentence a client can act on.
func TestStatusCallbackExplainsWhatsAppErrors(t *testing.T) {
	const cb = "https://ibiki.example/webhooks/tw/status"
	c, _ := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, StatusCallback: cb}, nil)
	f := url.Values{"MessageSid": {"SM8"}, "MessageStatus": {"failed"}, "ErrorCode": {"63016"}}
	r := httptest.NewRequest("POST", "/webhooks/tw/status", strings.NewReader(f.Encode()))
	r.Header.Set("X-Twilio-Signature", twilio.Signature(token, cb, f))
	ups, err := verifyAndParse(c, r, f.Encode())
	if err != nil || len(ups) != 1 || ups[0].Status != model.StatusFailed || ups[0].ErrorCode != "63016" ||
		!strings.Contains(ups[0].ErrorMessage, "24-hour window") {
		t.Errorf("ParseStatus = %+v, %v", ups, err)
	}
	if twilio.ErrorText("99999") != "Twilio error 99999" {
		t.Errorf("unknown code: %q", twilio.ErrorText("99999"))
	}
}
