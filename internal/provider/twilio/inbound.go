package twilio

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/sms"
)

// Limits on what one Twilio message may carry: Twilio itself sends at most 10 media, and a
// media URL or type longer than these is not Twilio's.
const (
	maxMedia            = 10
	maxMediaURLRunes    = 2048
	maxContentTypeRunes = 128
)

// whatsappPrefix marks a WhatsApp address in Twilio's From and To: "whatsapp:+15551234567".
const whatsappPrefix = "whatsapp:"

// emptyTwiML acknowledges a message without replying to it.
var emptyTwiML = provider.Answer{ContentType: "text/xml; charset=utf-8",
	Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`)}

// ParseInbound reads Twilio's incoming-message webhook (SMS, MMS and WhatsApp, form-encoded):
// MessageSid is the provider message id (the idempotency key of a retried webhook); a
// "whatsapp:" address makes it a WhatsApp message, the prefix stripped so that the number
// routes and names a contact like any other; NumMedia, MediaUrlN and MediaContentTypeN become
// the attachments; WhatsApp's ProfileName is the contact's name as far as Twilio knows it. The
// answer is an empty TwiML <Response/>: Twilio is told nothing more inside its request.
func (c *Client) ParseInbound(r provider.Request) ([]provider.Inbound, provider.Answer, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, provider.Answer{}, fmt.Errorf("%w: Twilio's message webhook is a form", provider.ErrMalformed)
	}
	in, err := c.parseMessage(form)
	if err != nil {
		return nil, provider.Answer{}, err
	}
	return []provider.Inbound{in}, emptyTwiML, nil
}

func (c *Client) parseMessage(form url.Values) (provider.Inbound, error) {
	in := provider.Inbound{Provider: c.name, Status: model.StatusReceived, Channel: model.ChannelSMS}
	f := fields(form)
	var err error
	sid, err := f.text("MessageSid", provider.MaxIDRunes)
	if err == nil && sid == "" {
		// Older webhooks name it SmsMessageSid or SmsSid.
		if sid, err = f.text("SmsMessageSid", provider.MaxIDRunes); err == nil && sid == "" {
			sid, err = f.text("SmsSid", provider.MaxIDRunes)
		}
	}
	if err != nil {
		return in, err
	}
	if sid == "" {
		return in, provider.Required("MessageSid")
	}
	in.ProviderMessageID = sid
	from, fromWA, err := f.address("From", true, c.region)
	if err != nil {
		return in, err
	}
	to, toWA, err := f.address("To", false, c.region)
	if err != nil {
		return in, err
	}
	if fromWA != toWA && to != "" {
		return in, &provider.FieldError{Field: "To", Reason: "must be a WhatsApp address when From is one, and not otherwise"}
	}
	if fromWA {
		in.Channel = model.ChannelWhatsApp
	}
	in.From, in.To = from, to
	if in.Media, err = f.media(); err != nil {
		return in, err
	}
	// The body is kept as sent, spaces and all; an MMS may come without one.
	switch body := form["Body"]; {
	case len(body) > 1:
		return in, &provider.FieldError{Field: "Body", Reason: "must be given once"}
	case len(body) == 1:
		if in.Body, err = f.check("Body", body[0], provider.MaxBodyRunes); err != nil {
			return in, err
		}
	case len(in.Media) == 0:
		return in, provider.Required("Body")
	}
	if in.Contact.FirstName, err = f.text("ProfileName", provider.MaxNameRunes); err != nil {
		return in, err
	}
	in.Meta = map[string]string{}
	for name, key := range metaFields {
		v, err := f.text(name, provider.MaxIDRunes)
		if err != nil {
			return in, err
		}
		if v != "" {
			in.Meta[key] = v
		}
	}
	return in, nil
}

// metaFields are the parameters kept with a message for the operator (Message.Meta).
var metaFields = map[string]string{
	"AccountSid": "account_sid", "MessagingServiceSid": "messaging_service_sid", "WaId": "wa_id",
	"FromCountry": "from_country", "ToCountry": "to_country",
}

// fields reads the parameters of a Twilio form, each given once (a repeated one is refused:
// Twilio never repeats a parameter, and two values would leave the meaning unclear).
type fields url.Values

// check refuses a value that is not text or is longer than maxRunes.
func (f fields) check(name, v string, maxRunes int) (string, error) {
	if reason := provider.NotText(v); reason != "" {
		return "", &provider.FieldError{Field: name, Reason: reason}
	}
	if utf8.RuneCountInString(v) > maxRunes {
		return "", &provider.FieldError{Field: name, Reason: fmt.Sprintf("must be at most %d characters", maxRunes)}
	}
	return v, nil
}

// text returns an optional parameter trimmed of surrounding space, "" when absent.
func (f fields) text(name string, maxRunes int) (string, error) {
	vs := f[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return f.check(name, strings.TrimSpace(vs[0]), maxRunes)
	}
	return "", &provider.FieldError{Field: name, Reason: "must be given once"}
}

// address reads a phone number, or on To a short code, with or without the "whatsapp:" prefix;
// wa reports the prefix. A required one that is absent is a *provider.FieldError.
func (f fields) address(name string, required bool, region string) (addr string, wa bool, err error) {
	s, err := f.text(name, 64)
	if err != nil {
		return "", false, err
	}
	if len(s) >= len(whatsappPrefix) && strings.EqualFold(s[:len(whatsappPrefix)], whatsappPrefix) {
		s, wa = s[len(whatsappPrefix):], true
	} else if i := strings.IndexByte(s, ':'); i > 0 {
		return "", false, &provider.FieldError{Field: name, Reason: fmt.Sprintf("channel %q is not taken here (sms and whatsapp are)", s[:i])}
	}
	if s == "" {
		if required {
			return "", false, provider.Required(name)
		}
		return "", wa, nil
	}
	if required {
		addr, err = sms.NormalizeE164(s, region)
	} else {
		addr, err = sms.NormalizeAddress(s, region)
	}
	if err != nil {
		return "", false, &provider.FieldError{Field: name, Reason: err.Error()}
	}
	return addr, wa, nil
}

// media reads NumMedia and its MediaUrlN / MediaContentTypeN pairs. Each URL must be an
// absolute http(s) URL: it is shown to the client as a link.
func (f fields) media() ([]model.Attachment, error) {
	s, err := f.text("NumMedia", 4)
	if err != nil || s == "" {
		return nil, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxMedia {
		return nil, &provider.FieldError{Field: "NumMedia", Reason: fmt.Sprintf("must be a whole number from 0 to %d", maxMedia)}
	}
	var media []model.Attachment
	for i := range n {
		name := "MediaUrl" + strconv.Itoa(i)
		raw, err := f.text(name, maxMediaURLRunes)
		if err != nil {
			return nil, err
		}
		if raw == "" {
			return nil, provider.Required(name)
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, &provider.FieldError{Field: name, Reason: "must be an absolute http or https URL"}
		}
		typ, err := f.text("MediaContentType"+strconv.Itoa(i), maxContentTypeRunes)
		if err != nil {
			return nil, err
		}
		media = append(media, model.Attachment{URL: raw, ContentType: typ})
	}
	return media, nil
}

// replyParam names, in the status callback of a reply given as TwiML, Ibiki's id of that reply:
// Twilio's report is the first place its MessageSid appears.
const replyParam = "ibiki_message"

// InstantReply answers Twilio's message webhook with a TwiML <Message>: Twilio sends body back
// to the sender, from the number it wrote to, and reports the reply's status to this entry's
// status endpoint, naming messageID.
func (c *Client) InstantReply(r provider.Request, body, messageID string) provider.Answer {
	cb := replyStatusURL(r.URL(), messageID)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response><Message action="`)
	xmlEscape(&b, cb)
	b.WriteString(`" method="POST">`)
	xmlEscape(&b, body)
	b.WriteString(`</Message></Response>`)
	return provider.Answer{ContentType: emptyTwiML.ContentType, Body: b.Bytes()}
}

// replyStatusURL is the status endpoint beside the message webhook a message came in on (the
// public URL of the request with "/status" added, its query replaced by the reply's id).
func replyStatusURL(webhookURL, messageID string) string {
	u, err := url.Parse(webhookURL)
	if err != nil {
		return webhookURL
	}
	u.Path, u.RawPath, u.Fragment = strings.TrimSuffix(u.Path, "/")+"/status", "", ""
	u.RawQuery = url.Values{replyParam: {messageID}}.Encode()
	return u.String()
}
