package twilio

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// ParseCall reads Twilio's incoming-call webhook (POST /webhooks/{name}/voice, form-encoded):
// the call is logged as an inbound message of channel voice whose provider message id is the
// CallSid (Twilio's retry is the same call), with an empty body and the call's status in its
// meta ({"kind":"call",…}); the caller's name (CallerName, from caller ID) is the contact's.
func (c *Client) ParseCall(r provider.Request) (provider.Inbound, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return provider.Inbound{}, fmt.Errorf("%w: Twilio's voice webhook is a form", provider.ErrMalformed)
	}
	f := fields(form)
	in := provider.Inbound{Provider: c.name, Status: model.StatusReceived, Channel: model.ChannelVoice}
	if in.ProviderMessageID, err = f.text("CallSid", provider.MaxIDRunes); err != nil {
		return in, err
	}
	if in.ProviderMessageID == "" {
		return in, provider.Required("CallSid")
	}
	if in.From, _, err = f.address("From", true, c.region); err != nil {
		return in, err
	}
	if in.To, _, err = f.address("To", false, c.region); err != nil {
		return in, err
	}
	if in.Contact.FirstName, err = f.text("CallerName", provider.MaxNameRunes); err != nil {
		return in, err
	}
	status, err := f.text("CallStatus", 32)
	if err != nil {
		return in, err
	}
	in.Meta = map[string]string{"kind": "call", "call_status": cmp.Or(status, "ringing")}
	if sid, err := f.text("AccountSid", provider.MaxIDRunes); err != nil {
		return in, err
	} else if sid != "" {
		in.Meta["account_sid"] = sid
	}
	return in, nil
}

// ParseCallUpdate reads a call status callback (CallStatus, CallDuration) or a recording
// callback (RecordingUrl, RecordingDuration), both keyed by CallSid. The recording is kept as
// its MP3 address (Twilio serves any recording as MP3 when ".mp3" is appended).
func (c *Client) ParseCallUpdate(r provider.Request) (model.CallUpdate, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return model.CallUpdate{}, fmt.Errorf("%w: Twilio's voice callback is a form", provider.ErrMalformed)
	}
	f := fields(form)
	var u model.CallUpdate
	if u.CallID, err = f.text("CallSid", provider.MaxIDRunes); err != nil {
		return u, err
	}
	if u.CallID == "" {
		return u, provider.Required("CallSid")
	}
	if u.Status, err = f.text("CallStatus", 32); err != nil {
		return u, err
	}
	if u.DurationSeconds, err = f.seconds("CallDuration"); err != nil {
		return u, err
	}
	rec, err := f.text("RecordingUrl", maxMediaURLRunes)
	if err != nil || rec == "" {
		return u, err
	}
	if p, err := url.Parse(rec); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return u, &provider.FieldError{Field: "RecordingUrl", Reason: "must be an absolute http or https URL"}
	} else if path.Ext(p.Path) == "" {
		p.Path += ".mp3"
		rec = p.String()
	}
	u.Recording = &model.Attachment{URL: rec, ContentType: "audio/mpeg"}
	if !strings.HasSuffix(strings.ToLower(rec), ".mp3") {
		u.Recording.ContentType = ""
	}
	u.RecordingSeconds, err = f.seconds("RecordingDuration")
	return u, err
}

// seconds reads an optional whole number of seconds.
func (f fields) seconds(name string) (int, error) {
	s, err := f.text(name, 10)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &provider.FieldError{Field: name, Reason: "must be a whole number of seconds"}
	}
	return n, nil
}

// AnswerCall renders the TwiML of a voice answer. A voicemail's <Record> reports to
// /webhooks/{name}/voice/recording (its action, then its status callback), which answers
// <Hangup/>: without an action Twilio would post the recording to the call's own URL again.
func (c *Client) AnswerCall(r provider.Request, a model.VoiceAnswer, update bool) provider.Answer {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response>`)
	say := func(text string) {
		if strings.TrimSpace(text) == "" {
			return
		}
		b.WriteString("<Say")
		if a.Language != "" {
			b.WriteString(` language="`)
			xmlEscape(&b, a.Language)
			b.WriteString(`"`)
		}
		b.WriteString(">")
		xmlEscape(&b, text)
		b.WriteString("</Say>")
	}
	switch {
	case update:
		b.WriteString("<Hangup/>")
	case a.Action == model.VoiceForward:
		say(a.Text)
		b.WriteString("<Dial>")
		xmlEscape(&b, a.ForwardTo)
		b.WriteString("</Dial>")
	case a.Action == model.VoiceVoicemail:
		say(a.Text)
		cb := recordingURL(r.URL())
		fmt.Fprintf(&b, `<Record maxLength="%d" playBeep="true" method="POST" action="`, a.MaxSeconds)
		xmlEscape(&b, cb)
		b.WriteString(`" recordingStatusCallback="`)
		xmlEscape(&b, cb)
		b.WriteString(`" recordingStatusCallbackMethod="POST"/><Hangup/>`)
	default:
		say(a.Text)
		b.WriteString("<Hangup/>")
	}
	b.WriteString("</Response>")
	return provider.Answer{ContentType: "text/xml; charset=utf-8", Body: b.Bytes()}
}

// recordingURL is the recording callback beside the voice webhook a call came in on: the
// public URL of the request with "/recording" added to its path, without its query.
func recordingURL(voiceURL string) string {
	u, err := url.Parse(voiceURL)
	if err != nil {
		return voiceURL + "/recording"
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/") + "/recording"
	u.RawPath = ""
	return u.String()
}

func xmlEscape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}
