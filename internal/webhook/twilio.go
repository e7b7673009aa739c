package webhook

import (
	"context"
	"encoding/xml"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Twilio-format deliveries (docs/twilio-api.md): for a client whose webhook format is "twilio",
// an inbound message goes to its webhook as Twilio's incoming-message form (and no other event
// does); a message sent with a StatusCallback has its status changes posted there as Twilio's
// status callback form, whatever the client's format. They are signed with X-Twilio-Signature
// over the URL and the form, keyed with the client's auth token.

// twilioAPIVersion is the ApiVersion field of Twilio's forms.
const twilioAPIVersion = "2010-04-01"

// IncomingForm is Twilio's incoming-message webhook form for an inbound message.
func IncomingForm(accountSID string, m model.Message, contact model.ContactInfo) url.Values {
	sid := model.TwilioMessageSID(m)
	f := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {accountSID},
		"From": {model.TwilioAddress(m.Channel, m.From)}, "To": {model.TwilioAddress(m.Channel, m.To)}, "Body": {m.Body},
		"NumMedia": {strconv.Itoa(len(m.Media))}, "NumSegments": {strconv.Itoa(max(m.Segments, 1))},
		"SmsStatus": {"received"}, "ApiVersion": {twilioAPIVersion},
	}
	for i, a := range m.Media {
		n := strconv.Itoa(i)
		f.Set("MediaUrl"+n, a.URL)
		f.Set("MediaContentType"+n, a.ContentType)
	}
	if m.Channel == model.ChannelWhatsApp {
		f.Set("WaId", strings.TrimPrefix(m.From, "+"))
		if name := strings.TrimSpace(contact.FirstName + " " + contact.LastName); name != "" {
			f.Set("ProfileName", name)
		}
	}
	return f
}

// StatusForm is Twilio's status callback form for an outbound message's status.
func StatusForm(accountSID string, m model.Message) url.Values {
	sid, status := model.TwilioMessageSID(m), model.TwilioStatus(m.Status)
	f := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {accountSID},
		"From": {model.TwilioAddress(m.Channel, m.From)}, "To": {model.TwilioAddress(m.Channel, m.To)},
		"MessageStatus": {status}, "SmsStatus": {status}, "ApiVersion": {twilioAPIVersion},
	}
	if m.ErrorCode != "" {
		f.Set("ErrorCode", strconv.Itoa(model.TwilioErrorCode(m.ErrorCode)))
	}
	return f
}

// twilioDeliveries are the Twilio-format deliveries of an event about m: to the client's
// webhook when its format is twilio, and to m's status callback. url "" is the client's.
func twilioDeliveries(ctx context.Context, tx *store.Tx, c model.Client, typ model.EventType, m model.Message) (standard bool, out []model.Delivery, err error) {
	// As with Twilio, the client's webhook hears of incoming messages only; statuses go to the
	// status callback each message was sent with.
	toClient := c.WebhookURL != "" && c.WebhookFormat == model.DeliveryTwilio && typ == model.EventMessageReceived
	smppReceipt, _ := model.SMPPReceipt(m)
	callback := m.StatusCallback != "" && !smppReceipt && typ == model.EventMessageStatus && m.Direction == model.Outbound
	standard = c.WebhookURL != "" && c.WebhookFormat != model.DeliveryTwilio
	if !toClient && !callback {
		return standard, nil, nil
	}
	acct, err := tx.TwilioAccount(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return standard, nil, nil // its credentials are gone: nothing can sign (tenant keeps them once made)
	}
	if err != nil {
		return standard, nil, err
	}
	if toClient {
		out = append(out, model.Delivery{Payload: []byte(IncomingForm(acct.AccountSID, m, m.Contact).Encode()), Format: model.DeliveryTwilio})
	}
	if callback {
		out = append(out, model.Delivery{URL: m.StatusCallback, Payload: []byte(StatusForm(acct.AccountSID, m).Encode()),
			Format: model.DeliveryTwilio})
	}
	return standard, out, nil
}

// TwiMLMessage is one <Message> of a TwiML answer: its text, media, and the optional to and
// from attributes.
type TwiMLMessage struct {
	To, From string
	Body     string
	Media    []string
}

// MaxTwiMLMessages bounds the messages one TwiML answer may send.
const MaxTwiMLMessages = 10

// ParseTwiML reads the <Message> verbs of a TwiML answer: <Message>text</Message>, or with
// <Body> and <Media> nouns. An answer that is not TwiML (not XML, or not a <Response>) has
// none; other verbs are ignored.
func ParseTwiML(b []byte) ([]TwiMLMessage, error) {
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "<") {
		return nil, nil
	}
	var doc struct {
		XMLName  xml.Name
		Messages []struct {
			To    string   `xml:"to,attr"`
			From  string   `xml:"from,attr"`
			Text  string   `xml:",chardata"`
			Body  []string `xml:"Body"`
			Media []string `xml:"Media"`
		} `xml:"Message"`
	}
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, err
	}
	if doc.XMLName.Local != "Response" {
		return nil, nil
	}
	var out []TwiMLMessage
	for _, m := range doc.Messages {
		body := strings.Join(m.Body, "")
		if len(m.Body) == 0 {
			body = m.Text
		}
		tm := TwiMLMessage{To: strings.TrimSpace(m.To), From: strings.TrimSpace(m.From), Body: strings.TrimSpace(body)}
		for _, u := range m.Media {
			if u = strings.TrimSpace(u); u != "" {
				tm.Media = append(tm.Media, u)
			}
		}
		if tm.Body == "" && len(tm.Media) == 0 {
			continue
		}
		if len(out) == MaxTwiMLMessages {
			return out, errors.New("more than 10 <Message> verbs: the rest are not sent")
		}
		out = append(out, tm)
	}
	return out, nil
}

// twilioTestForm is the body of a webhook.test delivery to a Twilio-format endpoint.
func twilioTestForm(ctx context.Context, st *store.Store, c model.Client) ([]byte, error) {
	acct, err := st.TwilioAccount(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	f := url.Values{"MessageSid": {"SM" + strings.Repeat("0", 32)}, "AccountSid": {acct.AccountSID}, "From": {""}, "To": {""},
		"Body": {"This is a test event sent from the Ibiki dashboard."}, "NumMedia": {"0"}, "SmsStatus": {"received"},
		"ApiVersion": {twilioAPIVersion}}
	return []byte(f.Encode()), nil
}
