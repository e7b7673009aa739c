package twilio_test

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// Status callbacks are outside input: any body, signed or not, is refused or read, never a panic.
func FuzzParseStatus(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=delivered", true)
	f.Add("MessageSid=&MessageStatus=", true)
	f.Add("%zz", false)
	f.Add("MessageStatus=failed&ErrorCode=30003&SmsSid=SM2", true)
	const cb = "https://ibiki.example/webhooks/tw/status"
	c, err := twilio.New(twilio.Config{AccountSID: "AC1", AuthToken: "tok", StatusCallback: cb}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string, sign bool) {
		r := httptest.NewRequest("POST", "/webhooks/tw/status", strings.NewReader(body))
		if form, err := url.ParseQuery(body); err == nil && sign {
			r.Header.Set("X-Twilio-Signature", twilio.Signature("tok", cb, form))
		}
		ups, err := verifyAndParse(c, r, body)
		if err == nil {
			for _, u := range ups {
				if u.ProviderMessageID == "" || !u.Status.Final() && u.Status != "sent" {
					t.Fatalf("update %+v from %q", u, body)
				}
			}
		}
	})
}

// Message webhooks are outside input: whatever the form, ParseInbound refuses it or returns one
// message with a sender in E.164, an id, and only web URLs as media.
func FuzzParseInbound(f *testing.F) {
	f.Add(twilioForm().Encode())
	f.Add(twilioForm("From", "whatsapp:+447700900123", "To", "whatsapp:+15557654321", "ProfileName", "A").Encode())
	f.Add(twilioForm("NumMedia", "2", "MediaUrl0", "https://m.example/1", "MediaUrl1", "http://m.example/2").Encode())
	f.Add("MessageSid=SM1&From=%2B15551234567&Body=%00")
	f.Add("%zz")
	c := inboundAdapter(f)
	f.Fuzz(func(t *testing.T, body string) {
		msgs, answer, err := c.ParseInbound(requestTo("https://sms.example.com", "/webhooks/tw", body, ""))
		if err != nil {
			var fe *provider.FieldError
			if !errors.As(err, &fe) && !errors.Is(err, provider.ErrMalformed) {
				t.Fatalf("error %v is neither a field error nor malformed", err)
			}
			return
		}
		if len(msgs) != 1 || answer.ContentType == "" {
			t.Fatalf("%d messages, answer %q", len(msgs), answer.ContentType)
		}
		m := msgs[0]
		if !strings.HasPrefix(m.From, "+") || m.ProviderMessageID == "" || len(m.Media) > 10 {
			t.Fatalf("message %+v from %q", m, body)
		}
		for _, a := range m.Media {
			if u := strings.ToLower(a.URL); !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				t.Fatalf("medium %q from %q", a.URL, body)
			}
		}
	})
}
