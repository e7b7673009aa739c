package twilio_test

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// parse is what hooks does with a message webhook: verify (signed here), then parse.
func parse(t testing.TB, c *twilio.Client, f url.Values) ([]provider.Inbound, provider.Answer, error) {
	t.Helper()
	const base, uri = "https://sms.example.com", "/webhooks/tw"
	req := requestTo(base, uri, f.Encode(), twilio.Signature(token, base+uri, f))
	if err := c.Verify(req); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return c.ParseInbound(req)
}

func twilioForm(extra ...string) url.Values {
	f := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {sid},
		"From": {"+15551234567"}, "To": {"+15557654321"}, "Body": {"Hello"}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}, "FromCountry": {"US"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "<none>" {
			f.Del(extra[i])
			continue
		}
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func TestParseInboundMessages(t *testing.T) {
	c := inboundAdapter(t)
	tests := []struct {
		name string
		form url.Values
		want provider.Inbound // the fields compared
	}{
		{"an SMS", twilioForm(), provider.Inbound{From: "+15551234567", To: "+15557654321", Body: "Hello", Channel: model.ChannelSMS}},
		{"an MMS with two media and no text", twilioForm("Body", "", "NumMedia", "2",
			"MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "MediaContentType0", "image/jpeg",
			"MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "MediaContentType1", "application/pdf"),
			provider.Inbound{From: "+15551234567", To: "+15557654321", Channel: model.ChannelSMS, Media: []model.Attachment{
				{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", ContentType: "image/jpeg"},
				{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", ContentType: "application/pdf"}}}},
		{"an MMS without a Body parameter at all", twilioForm("Body", "<none>", "NumMedia", "1", "MediaUrl0", "http://m.example/1"),
			provider.Inbound{From: "+15551234567", To: "+15557654321", Channel: model.ChannelSMS,
				Media: []model.Attachment{{URL: "http://m.example/1"}}}},
		{"a WhatsApp message, its profile name the contact's", twilioForm("From", "whatsapp:+447700900123", "To", "whatsapp:+15557654321",
			"ProfileName", "Asha Rao", "WaId", "447700900123", "Body", "  hi there "),
			provider.Inbound{From: "+447700900123", To: "+15557654321", Body: "  hi there ", Channel: model.ChannelWhatsApp,
				Contact: model.ContactInfo{FirstName: "Asha Rao"}}},
		{"a message to a short code", twilioForm("To", "57675", "Body", "BAL"),
			provider.Inbound{From: "+15551234567", To: "57675", Body: "BAL", Channel: model.ChannelSMS}},
		{"the older SmsSid names the message", twilioForm("MessageSid", "<none>", "SmsSid", "SMold"),
			provider.Inbound{From: "+15551234567", To: "+15557654321", Body: "Hello", Channel: model.ChannelSMS}},
		{"unicode is kept", twilioForm("Body", "नमस्ते 👋"),
			provider.Inbound{From: "+15551234567", To: "+15557654321", Body: "नमस्ते 👋", Channel: model.ChannelSMS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, answer, err := parse(t, c, tt.form)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("ParseInbound = %v, %v", msgs, err)
			}
			m := msgs[0]
			if m.From != tt.want.From || m.To != tt.want.To || m.Body != tt.want.Body || m.Channel != tt.want.Channel ||
				!reflect.DeepEqual(m.Media, tt.want.Media) || m.Contact != tt.want.Contact {
				t.Errorf("got %+v\nwant %+v", m, tt.want)
			}
			wantID := tt.form.Get("MessageSid")
			if wantID == "" {
				wantID = tt.form.Get("SmsSid")
			}
			if m.Provider != "tw" || m.ProviderMessageID != wantID || m.Status != model.StatusReceived {
				t.Errorf("provider %q id %q status %q", m.Provider, m.ProviderMessageID, m.Status)
			}
			if m.Meta["account_sid"] != sid || m.Meta["from_country"] != "US" {
				t.Errorf("meta %v", m.Meta)
			}
			if answer.ContentType != "text/xml; charset=utf-8" || string(answer.Body) != `<?xml version="1.0" encoding="UTF-8"?><Response/>` {
				t.Errorf("answer %q %s", answer.ContentType, answer.Body)
			}
		})
	}
}

func TestParseInboundRefusals(t *testing.T) {
	c := inboundAdapter(t)
	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no message sid", twilioForm("MessageSid", "<none>"), "MessageSid"},
		{"no sender", twilioForm("From", "<none>"), "From"},
		{"a sender that is not a number", twilioForm("From", "hello"), "From"},
		{"a channel Ibiki does not take", twilioForm("From", "messenger:12345"), "From"},
		{"a WhatsApp sender to an SMS number", twilioForm("From", "whatsapp:+15551234567"), "To"},
		{"no body and no media", twilioForm("Body", "<none>"), "Body"},
		{"a NUL byte in the body", twilioForm("Body", "a\x00b"), "Body"},
		{"a body too long", twilioForm("Body", strings.Repeat("x", provider.MaxBodyRunes+1)), "Body"},
		{"NumMedia not a number", twilioForm("NumMedia", "two"), "NumMedia"},
		{"more media than Twilio sends", twilioForm("NumMedia", "11"), "NumMedia"},
		{"a medium without its URL", twilioForm("NumMedia", "1"), "MediaUrl0"},
		{"a medium that is not a web URL", twilioForm("NumMedia", "1", "MediaUrl0", "javascript:alert(1)"), "MediaUrl0"},
		{"a relative medium URL", twilioForm("NumMedia", "1", "MediaUrl0", "/media/1"), "MediaUrl0"},
		{"a profile name too long", twilioForm("ProfileName", strings.Repeat("n", provider.MaxNameRunes+1)), "ProfileName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(t, c, tt.form)
			var fe *provider.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("ParseInbound error = %v, want one naming %s", err, tt.field)
			}
		})
	}
	t.Run("a parameter given twice", func(t *testing.T) {
		f := twilioForm()
		f.Add("From", "+15550000000")
		_, _, err := parse(t, c, f)
		var fe *provider.FieldError
		if !errors.As(err, &fe) || fe.Field != "From" || fe.Reason != "must be given once" {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("a body that is not a form", func(t *testing.T) {
		_, _, err := c.ParseInbound(requestTo("https://sms.example.com", "/webhooks/tw", "%zz", ""))
		if !errors.Is(err, provider.ErrMalformed) {
			t.Errorf("error = %v", err)
		}
	})
}
