package twilio_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
