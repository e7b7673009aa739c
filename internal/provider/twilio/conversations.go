package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

// Twilio's Conversations API posts the events of every conversation of an account (or of a
// Conversations service) to one URL, POST /webhooks/{name}/conversations, whichever Twilio
// number each conversation runs on. A contact's message (onMessageAdded by a participant with a
// messaging binding) becomes an inbound message whose To is that number: the participant's
// MessagingBinding.ProxyAddress, from the event when it carries it, else fetched once from the
// REST API (GET /v1/Conversations/{sid}/Participants/{sid}) and cached. Delivery receipts
// (onDeliveryUpdated) become status reports of the messages Ibiki sent into conversations.

// defaultConversationsURL is Twilio's Conversations REST API.
const defaultConversationsURL = "https://conversations.twilio.com"

// defaultAuthor is the author of the messages Ibiki posts into conversations: its own messages
// come back as onMessageAdded events, and are recognised by it.
const defaultAuthor = "ibiki"

// binding is a conversation participant's messaging binding: the contact's address and the
// Twilio number (proxy address) the conversation runs on, "whatsapp:" prefixes kept; both are
// empty for a chat participant (a person in an app, not a phone).
type binding struct {
	Address      string `json:"address"`
	ProxyAddress string `json:"proxy_address"`
}

// memo is a small map safe for concurrent use, bounded by dropping everything when full (it
// refills from the events and the API).
type memo[T any] struct {
	mu sync.Mutex
	m  map[string]memoEntry[T]
}

type memoEntry[T any] struct {
	v     T
	until time.Time // zero: for good
}

const memoMax = 50_000

func (c *memo[T]) get(key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if ok && !e.until.IsZero() && time.Now().After(e.until) {
		delete(c.m, key)
		ok = false
	}
	return e.v, ok
}

func (c *memo[T]) put(key string, v T, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= memoMax {
		c.m = map[string]memoEntry[T]{}
	}
	e := memoEntry[T]{v: v}
	if ttl > 0 {
		e.until = time.Now().Add(ttl)
	}
	c.m[key] = e
}

// ParseConversationEvent reads one verified Conversations event (form-encoded, or JSON signed
// through bodySHA256). An event that carries a participant's binding teaches the adapter the
// participant's number (and the thread a contact's replies go into).
func (c *Client) ParseConversationEvent(ctx context.Context, r provider.Request) (provider.ConversationEvent, error) {
	form, err := eventForm(r)
	if err != nil {
		return provider.ConversationEvent{}, err
	}
	f := fields(form)
	typ, err := f.text("EventType", 64)
	if err != nil {
		return provider.ConversationEvent{}, err
	}
	conv, _ := f.text("ConversationSid", provider.MaxIDRunes)
	part, _ := f.text("ParticipantSid", provider.MaxIDRunes)
	if b := (binding{Address: form.Get("MessagingBinding.Address"), ProxyAddress: form.Get("MessagingBinding.ProxyAddress")}); b.Address != "" &&
		typ != "onParticipantRemoved" && typ != "onConversationRemoved" {
		if part != "" {
			c.participants.put(part, b, 0)
		}
		if conv != "" {
			c.threads.put(threadKey(b.Address, b.ProxyAddress), conv, 0)
		}
	}
	switch typ {
	case "onMessageAdded":
		return c.conversationMessage(ctx, f, conv, part)
	case "onDeliveryUpdated":
		return c.deliveryUpdate(f)
	case "":
		return provider.ConversationEvent{}, provider.Required("EventType")
	}
	return provider.ConversationEvent{Skip: "event " + typ}, nil
}

// eventForm reads an event's parameters: a form, or a JSON object of strings (what Twilio posts
// with bodySHA256) read as one.
func eventForm(r provider.Request) (url.Values, error) {
	body := strings.TrimSpace(string(r.Body))
	if !strings.HasPrefix(body, "{") {
		form, err := url.ParseQuery(body)
		if err != nil {
			return nil, fmt.Errorf("%w: a Conversations event is a form or a JSON object", provider.ErrMalformed)
		}
		return form, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(r.Body, &obj); err != nil {
		return nil, fmt.Errorf("%w: a Conversations event is a form or a JSON object", provider.ErrMalformed)
	}
	form := url.Values{}
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			form.Set(k, v)
		case nil:
		default:
			b, _ := json.Marshal(v) // decoded from JSON: always encodes
			form.Set(k, string(b))
		}
	}
	return form, nil
}

func (c *Client) conversationMessage(ctx context.Context, f fields, conv, part string) (provider.ConversationEvent, error) {
	author, err := f.text("Author", 128)
	if err != nil {
		return provider.ConversationEvent{}, err
	}
	if author == c.author() {
		return provider.ConversationEvent{Skip: "own_message"}, nil
	}
	sid, err := f.text("MessageSid", provider.MaxIDRunes)
	if err != nil {
		return provider.ConversationEvent{}, err
	}
	if sid == "" {
		return provider.ConversationEvent{}, provider.Required("MessageSid")
	}
	if conv == "" {
		return provider.ConversationEvent{}, provider.Required("ConversationSid")
	}
	if part == "" {
		return provider.ConversationEvent{}, provider.Required("ParticipantSid")
	}
	b, err := c.participant(ctx, conv, part)
	if err != nil {
		// Twilio does not retry a post-event webhook: keep the message rather than lose it.
		// Without its number it routes by the contact's other rules, or waits for the operator.
		c.log.Warn("twilio: a Conversations message taken without its number", "conversation", conv, "error", err)
		b, err = c.authorBinding(f)
		if err != nil {
			return provider.ConversationEvent{}, err
		}
	}
	if b.Address == "" {
		// A chat participant (staff in an app, or Ibiki): not a contact writing in.
		return provider.ConversationEvent{Skip: "not_a_contact"}, nil
	}
	c.threads.put(threadKey(b.Address, b.ProxyAddress), conv, 0)
	form := url.Values{"From": {b.Address}, "To": {b.ProxyAddress}}
	in := provider.Inbound{Provider: c.name, Status: model.StatusReceived, Channel: model.ChannelSMS, ProviderMessageID: sid}
	ff := fields(form)
	from, fromWA, err := ff.address("From", true, c.region)
	if err != nil {
		return provider.ConversationEvent{}, renamed(err, "MessagingBinding.Address")
	}
	to, _, err := ff.address("To", false, c.region)
	if err != nil {
		return provider.ConversationEvent{}, renamed(err, "MessagingBinding.ProxyAddress")
	}
	if fromWA {
		in.Channel = model.ChannelWhatsApp
	}
	in.From, in.To = from, to
	body := f["Body"]
	if len(body) > 1 {
		return provider.ConversationEvent{}, &provider.FieldError{Field: "Body", Reason: "must be given once"}
	}
	if len(body) == 1 {
		if in.Body, err = f.check("Body", body[0], provider.MaxBodyRunes); err != nil {
			return provider.ConversationEvent{}, err
		}
	}
	if in.Media, err = c.conversationMedia(f); err != nil {
		return provider.ConversationEvent{}, err
	}
	in.Meta = map[string]string{"conversation_sid": conv, "participant_sid": part}
	if s, _ := f.text("ChatServiceSid", provider.MaxIDRunes); s != "" {
		in.Meta["chat_service_sid"] = s
	}
	return provider.ConversationEvent{Message: &in}, nil
}

// authorBinding is the binding of a message's author when its participant could not be read:
// an author that is a phone address is the contact, with the number unknown; any other author
// is a chat participant.
func (c *Client) authorBinding(f fields) (binding, error) {
	author, err := f.text("Author", 128)
	if err != nil {
		return binding{}, err
	}
	addr := strings.TrimPrefix(author, whatsappPrefix)
	if !strings.HasPrefix(addr, "+") {
		return binding{}, nil
	}
	return binding{Address: author}, nil
}

// renamed gives a field error the name of the field it came from.
func renamed(err error, field string) error {
	var fe *provider.FieldError
	if errors.As(err, &fe) {
		return &provider.FieldError{Field: field, Reason: fe.Reason}
	}
	return err
}

// conversationMedia reads an event's Media, a JSON array of {Sid, ContentType}: each medium is
// served by Twilio's Media Content Service under the conversation's service.
func (c *Client) conversationMedia(f fields) ([]model.Attachment, error) {
	raw, err := f.text("Media", 1<<16)
	if err != nil || raw == "" {
		return nil, err
	}
	var items []struct {
		Sid         string `json:"Sid"`
		ContentType string `json:"ContentType"`
	}
	if err := json.Unmarshal([]byte(raw), &items); err != nil || len(items) > maxMedia {
		return nil, &provider.FieldError{Field: "Media", Reason: fmt.Sprintf("must be a JSON array of at most %d media", maxMedia)}
	}
	svc, _ := f.text("ChatServiceSid", provider.MaxIDRunes)
	var media []model.Attachment
	for _, it := range items {
		if it.Sid == "" || strings.ContainsAny(it.Sid, "/?#%") || svc == "" || strings.ContainsAny(svc, "/?#%") {
			return nil, &provider.FieldError{Field: "Media", Reason: "each medium needs a Sid, and the event a ChatServiceSid"}
		}
		if provider.NotText(it.ContentType) != "" || len(it.ContentType) > maxContentTypeRunes {
			return nil, &provider.FieldError{Field: "Media", Reason: "a ContentType is not text"}
		}
		media = append(media, model.Attachment{URL: "https://mcs.us1.twilio.com/v1/Services/" + svc + "/Media/" + it.Sid, ContentType: it.ContentType})
	}
	return media, nil
}

// deliveryUpdate reads a delivery receipt of a message Ibiki posted into a conversation.
func (c *Client) deliveryUpdate(f fields) (provider.ConversationEvent, error) {
	sid, err := f.text("MessageSid", provider.MaxIDRunes)
	if err != nil {
		return provider.ConversationEvent{}, err
	}
	status, err := f.text("Status", 32)
	if err != nil {
		return provider.ConversationEvent{}, err
	}
	st := mapStatus(status)
	if sid == "" || st == "" {
		return provider.ConversationEvent{Skip: "delivery step"}, nil
	}
	u := provider.StatusUpdate{ProviderMessageID: sid, Status: st}
	if u.ErrorCode, err = f.text("ErrorCode", 16); err != nil {
		return provider.ConversationEvent{}, err
	}
	if u.ErrorCode != "" && u.ErrorCode != "0" {
		u.ErrorMessage = ErrorText(u.ErrorCode)
	} else {
		u.ErrorCode = ""
	}
	return provider.ConversationEvent{Statuses: []provider.StatusUpdate{u}}, nil
}

// participant returns a participant's binding: remembered, or fetched from the REST API.
func (c *Client) participant(ctx context.Context, conv, part string) (binding, error) {
	if b, ok := c.participants.get(part); ok {
		return b, nil
	}
	var out struct {
		MessagingBinding *binding `json:"messaging_binding"`
	}
	u := c.convURL + "/v1/Conversations/" + url.PathEscape(conv) + "/Participants/" + url.PathEscape(part)
	if err := c.restGet(ctx, u, &out); err != nil {
		return binding{}, fmt.Errorf("twilio: participant %s of %s: %w", part, conv, err)
	}
	var b binding
	if out.MessagingBinding != nil {
		b = *out.MessagingBinding
	}
	c.participants.put(part, b, 0)
	c.fetched.Add(1)
	return b, nil
}

// ParticipantFetches counts the participants fetched from the REST API (the others came from
// events or from memory).
func (c *Client) ParticipantFetches() int64 { return c.fetched.Load() }

// restGet reads a JSON resource of the account.
func (c *Client) restGet(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %d %.200s", u, res.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

func (c *Client) author() string {
	if c.cfg.ConversationsAuthor != "" {
		return c.cfg.ConversationsAuthor
	}
	return defaultAuthor
}

// threadKey names the conversation between a contact's address and a Twilio number.
func threadKey(address, proxy string) string { return address + "|" + proxy }

// thread returns the Twilio conversation a message to `to` from `from` belongs in ("" for
// none): remembered from the events, else looked up (GET /v1/ParticipantConversations?Address=),
// a miss remembered for a while.
func (c *Client) thread(ctx context.Context, to, from string) (string, error) {
	key := threadKey(to, from)
	if sid, ok := c.threads.get(key); ok {
		return sid, nil
	}
	var out struct {
		Conversations []struct {
			ConversationSid   string  `json:"conversation_sid"`
			ConversationState string  `json:"conversation_state"`
			Binding           binding `json:"participant_messaging_binding"`
		} `json:"conversations"`
	}
	u := c.convURL + "/v1/ParticipantConversations?Address=" + url.QueryEscape(to)
	if err := c.restGet(ctx, u, &out); err != nil {
		return "", err
	}
	sid := ""
	for _, cv := range out.Conversations {
		if cv.ConversationState != "closed" && (from == "" || cv.Binding.ProxyAddress == from) {
			sid = cv.ConversationSid
			break
		}
	}
	ttl := time.Duration(0)
	if sid == "" {
		ttl = 5 * time.Minute // the contact may start a conversation later
	}
	c.threads.put(key, sid, ttl)
	return sid, nil
}

// sendInConversation posts a message into a Twilio conversation, authored by Ibiki.
func (c *Client) sendInConversation(ctx context.Context, conv string, m provider.Outbound) (provider.SendResult, error) {
	form := url.Values{"Author": {c.author()}, "Body": {m.Body}}
	u := c.convURL + "/v1/Conversations/" + url.PathEscape(conv) + "/Messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "bad_request", Message: err.Error()}
	}
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return provider.SendResult{}, httpapi.NotSent(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err := httpapi.Classify(res, body); err != nil {
		return provider.SendResult{}, err
	}
	var out struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(body, &out) != nil || out.SID == "" {
		return provider.SendResult{}, fmt.Errorf("twilio: Conversations answer without a sid: %.200s", body)
	}
	return provider.SendResult{ProviderMessageID: out.SID, Status: model.StatusSent}, nil
}
