package twilio_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
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

// Call webhooks and their callbacks are outside input: refused or read, never a panic; a call
// read has its id, a caller in E.164 and channel voice; a recording is a web URL.
func FuzzParseCall(f *testing.F) {
	f.Add(callForm().Encode())
	f.Add(callForm("From", "anonymous").Encode())
	f.Add("CallSid=CA1&RecordingUrl=https%3A%2F%2Fr.example%2FRE1&RecordingDuration=9&CallStatus=completed&CallDuration=30")
	f.Add("CallSid=CA1&RecordingUrl=%zz")
	c := inboundAdapter(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := requestTo("https://sms.example.com", "/webhooks/tw/voice", body, "")
		if in, err := c.ParseCall(req); err == nil {
			if in.ProviderMessageID == "" || !strings.HasPrefix(in.From, "+") || in.Channel != "voice" {
				t.Fatalf("call %+v from %q", in, body)
			}
		}
		if u, err := c.ParseCallUpdate(req); err == nil {
			if u.CallID == "" || u.DurationSeconds < 0 || u.RecordingSeconds < 0 {
				t.Fatalf("update %+v from %q", u, body)
			}
			if u.Recording != nil {
				if l := strings.ToLower(u.Recording.URL); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
					t.Fatalf("recording %q from %q", u.Recording.URL, body)
				}
			}
		}
		c.AnswerCall(req, model.VoiceAnswer{Action: model.VoiceVoicemail, Text: body, MaxSeconds: 5}, false)
	})
}

// Conversations events are outside input (forms or JSON): refused, skipped or read, never a
// panic; a message read has its id and a sender in E.164. Participants come from the events
// only here (the REST API is unreachable, so a participant never announced is kept without its
// number).
func FuzzParseConversationEvent(f *testing.F) {
	f.Add(messageAdded("IM1", "MB1", "+15551234567", "hi").Encode())
	f.Add(`{"EventType":"onMessageAdded","ConversationSid":"CH1","MessageSid":"IM2","ParticipantSid":"MB1","Author":"+15551234567","Media":[{"Sid":"ME1"}]}`)
	f.Add("EventType=onParticipantAdded&ParticipantSid=MB1&MessagingBinding.Address=%2B15551234567&MessagingBinding.ProxyAddress=%2B15557654321")
	f.Add("EventType=onDeliveryUpdated&MessageSid=IM1&Status=failed&ErrorCode=30003")
	f.Add("%zz")
	c := conversationsAdapter(f, "http://127.0.0.1:9", "")
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := c.ParseConversationEvent(context.Background(), requestTo("https://sms.example.com", "/webhooks/tw/conversations", body, ""))
		if err != nil {
			var fe *provider.FieldError
			if !errors.As(err, &fe) && !errors.Is(err, provider.ErrMalformed) {
				t.Fatalf("error %v is neither a field error nor malformed", err)
			}
			return
		}
		if m := ev.Message; m != nil && (m.ProviderMessageID == "" || !strings.HasPrefix(m.From, "+")) {
			t.Fatalf("message %+v from %q", m, body)
		}
		for _, u := range ev.Statuses {
			if u.ProviderMessageID == "" || u.Status == "" {
				t.Fatalf("status %+v from %q", u, body)
			}
		}
	})
}
