package twilio_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

func callForm(extra ...string) url.Values {
	f := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "AccountSid": {sid}, "From": {"+15551234567"},
		"To": {"+15557654321"}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "<none>" {
			f.Del(extra[i])
			continue
		}
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func TestParseCall(t *testing.T) {
	c := inboundAdapter(t)
	const base, uri = "https://sms.example.com", "/webhooks/tw/voice"
	in, err := c.ParseCall(requestTo(base, uri, callForm("CallerName", "ASHA RAO").Encode(), ""))
	if err != nil {
		t.Fatal(err)
	}
	if in.Channel != model.ChannelVoice || in.ProviderMessageID != "CA0123456789abcdef0123456789abcdef" || in.From != "+15551234567" ||
		in.To != "+15557654321" || in.Body != "" || in.Contact.FirstName != "ASHA RAO" || in.Meta["kind"] != "call" ||
		in.Meta["call_status"] != "ringing" || in.Provider != "tw" {
		t.Errorf("ParseCall = %+v", in)
	}
	for name, tc := range map[string]struct {
		form  url.Values
		field string
	}{
		"no call sid":             {callForm("CallSid", "<none>"), "CallSid"},
		"an anonymous caller":     {callForm("From", "anonymous"), "From"},
		"a browser client caller": {callForm("From", "client:alice"), "From"},
		"a call sid given twice":  {url.Values{"CallSid": {"CA1", "CA2"}, "From": {"+15551234567"}}, "CallSid"},
	} {
		_, err := c.ParseCall(requestTo(base, uri, tc.form.Encode(), ""))
		var fe *provider.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.field)
		}
	}
}

func TestParseCallUpdate(t *testing.T) {
	c := inboundAdapter(t)
	const base = "https://sms.example.com"
	tests := []struct {
		name string
		form url.Values
		want model.CallUpdate
	}{
		{"a status callback", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"42"}},
			model.CallUpdate{CallID: "CA1", Status: "completed", DurationSeconds: 42}},
		{"a recording, kept as MP3", url.Values{"CallSid": {"CA1"}, "RecordingSid": {"RE1"}, "RecordingStatus": {"completed"},
			"RecordingUrl": {"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"}, "RecordingDuration": {"17"}},
			model.CallUpdate{CallID: "CA1", RecordingSeconds: 17, Recording: &model.Attachment{
				URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1.mp3", ContentType: "audio/mpeg"}}},
		{"a recording with its own extension", url.Values{"CallSid": {"CA1"}, "RecordingUrl": {"https://r.example/RE1.wav"}},
			model.CallUpdate{CallID: "CA1", Recording: &model.Attachment{URL: "https://r.example/RE1.wav"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := c.ParseCallUpdate(requestTo(base, "/webhooks/tw/voice/recording", tt.form.Encode(), ""))
			if err != nil {
				t.Fatal(err)
			}
			if u.CallID != tt.want.CallID || u.Status != tt.want.Status || u.DurationSeconds != tt.want.DurationSeconds ||
				u.RecordingSeconds != tt.want.RecordingSeconds || (u.Recording == nil) != (tt.want.Recording == nil) ||
				(u.Recording != nil && *u.Recording != *tt.want.Recording) {
				t.Errorf("got %+v (recording %+v), want %+v", u, u.Recording, tt.want)
			}
		})
	}
	for name, f := range map[string]url.Values{
		"CallSid":      {"CallStatus": {"completed"}},
		"CallDuration": {"CallSid": {"CA1"}, "CallDuration": {"-3"}},
		"RecordingUrl": {"CallSid": {"CA1"}, "RecordingUrl": {"ftp://x/y"}},
	} {
		_, err := c.ParseCallUpdate(requestTo(base, "/webhooks/tw/voice/status", f.Encode(), ""))
		var fe *provider.FieldError
		if !errors.As(err, &fe) || fe.Field != name {
			t.Errorf("%v: %v, want an error naming %s", f, err, name)
		}
	}
}

// Each answer renders as TwiML Twilio runs: text escaped, a voicemail reporting beside the
// webhook it came in on (the public URL, without the query), a callback answered with a hang-up.
func TestAnswerCall(t *testing.T) {
	c := inboundAdapter(t)
	req := requestTo("https://sms.example.com/ibiki", "/webhooks/tw/voice?x=1", "", "")
	const head = `<?xml version="1.0" encoding="UTF-8"?><Response>`
	tests := []struct {
		name   string
		a      model.VoiceAnswer
		update bool
		want   string
	}{
		{"say", model.VoiceAnswer{Action: model.VoiceSay, Text: `Closed <today> & "tomorrow"`, Language: "en-GB"}, false,
			head + `<Say language="en-GB">Closed &lt;today&gt; &amp; &#34;tomorrow&#34;</Say><Hangup/></Response>`},
		{"forward", model.VoiceAnswer{Action: model.VoiceForward, ForwardTo: "+15550001111", Text: "Connecting you"}, false,
			head + `<Say>Connecting you</Say><Dial>+15550001111</Dial></Response>`},
		{"forward without words", model.VoiceAnswer{Action: model.VoiceForward, ForwardTo: "+15550001111"}, false,
			head + `<Dial>+15550001111</Dial></Response>`},
		{"voicemail", model.VoiceAnswer{Action: model.VoiceVoicemail, Text: "Leave a message", MaxSeconds: 60}, false,
			head + `<Say>Leave a message</Say><Record maxLength="60" playBeep="true" method="POST" action="https://sms.example.com/ibiki/webhooks/tw/voice/recording" recordingStatusCallback="https://sms.example.com/ibiki/webhooks/tw/voice/recording" recordingStatusCallbackMethod="POST"/><Hangup/></Response>`},
		{"a callback", model.VoiceAnswer{}, true, head + `<Hangup/></Response>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.AnswerCall(req, tt.a, tt.update)
			if a.ContentType != "text/xml; charset=utf-8" || string(a.Body) != tt.want {
				t.Errorf("AnswerCall =\n%s\nwant\n%s", a.Body, tt.want)
			}
		})
	}
}
