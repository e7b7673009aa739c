package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// fakeConversations is Twilio's Conversations REST API: participants with their bindings, the
// conversations of an address, and a Messages resource that records what it is posted.
type fakeConversations struct {
	t            *testing.T
	mu           sync.Mutex
	participants map[string]string // participant sid → JSON of its messaging_binding ("null": a chat participant)
	byAddress    map[string]string // address → conversation sid
	fetches      map[string]int
	posted       []url.Values
	messages     []url.Values // posted to the Messages API
}

func (f *fakeConversations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, p, _ := r.BasicAuth(); u != sid || p != token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "GET" && len(parts) == 5 && parts[1] == "Conversations" && parts[3] == "Participants":
		f.fetches[parts[4]]++
		b, ok := f.participants[parts[4]]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, `{"sid":%q,"conversation_sid":%q,"messaging_binding":%s}`, parts[4], parts[2], b)
	case r.Method == "GET" && r.URL.Path == "/v1/ParticipantConversations":
		addr := r.URL.Query().Get("Address")
		f.fetches["address:"+addr]++
		conv, ok := f.byAddress[addr]
		if !ok {
			io.WriteString(w, `{"conversations":[],"meta":{}}`)
			return
		}
		fmt.Fprintf(w, `{"conversations":[{"conversation_sid":%q,"conversation_state":"active","participant_messaging_binding":{"address":%q,"proxy_address":"+15557654321"}}]}`, conv, addr)
	case r.Method == "POST" && len(parts) == 4 && parts[1] == "Conversations" && parts[3] == "Messages":
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		form.Set("ConversationSid", parts[2])
		f.posted = append(f.posted, form)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"IM%032d","conversation_sid":%q}`, len(f.posted), parts[2])
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/Messages.json"):
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		f.messages = append(f.messages, form)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM1","status":"queued"}`)
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func newFakeConversations(t *testing.T) (*fakeConversations, *httptest.Server) {
	f := &fakeConversations{t: t, participants: map[string]string{}, byAddress: map[string]string{}, fetches: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func conversationsAdapter(t testing.TB, base string, extra string) *twilio.Client {
	t.Helper()
	a, err := twilio.FromEntry(provider.Entry{Name: "tw", Type: "twilio", Fields: json.RawMessage(`{"account_sid":"` + sid +
		`","auth_token":"` + token + `","base_url":"` + base + `","conversations_base_url":"` + base + `"` + extra + `}`)}, provider.Env{Region: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return a.(*twilio.Client)
}

// event posts one Conversations event, form-encoded, and parses it.
func event(t *testing.T, c *twilio.Client, f url.Values) (provider.ConversationEvent, error) {
	t.Helper()
	return c.ParseConversationEvent(context.Background(), requestTo("https://sms.example.com", "/webhooks/tw/conversations", f.Encode(), ""))
}

func messageAdded(msg, part, author, body string) url.Values {
	return url.Values{"EventType": {"onMessageAdded"}, "ConversationSid": {"CH1"}, "MessageSid": {msg}, "ParticipantSid": {part},
		"Author": {author}, "Body": {body}, "AccountSid": {sid}, "ChatServiceSid": {"IS1"}, "Source": {"SMS"}, "Index": {"0"}}
}

func TestConversationEvents(t *testing.T) {
	fake, srv := newFakeConversations(t)
	fake.participants["MB1"] = `{"type":"sms","address":"+15551234567","proxy_address":"+15557654321"}`
	fake.participants["MBwa"] = `{"type":"whatsapp","address":"whatsapp:+447700900123","proxy_address":"whatsapp:+15557654321"}`
	fake.participants["MBchat"] = `null`
	c := conversationsAdapter(t, srv.URL, "")

	t.Run("a contact's message without the number: the participant is fetched once", func(t *testing.T) {
		for i, msg := range []string{"IM1", "IM2"} {
			ev, err := event(t, c, messageAdded(msg, "MB1", "+15551234567", "hello "+msg))
			if err != nil || ev.Message == nil {
				t.Fatalf("event %d: %+v, %v", i, ev, err)
			}
			m := ev.Message
			if m.From != "+15551234567" || m.To != "+15557654321" || m.Body != "hello "+msg || m.Channel != model.ChannelSMS ||
				m.ProviderMessageID != msg || m.Provider != "tw" || m.Meta["conversation_sid"] != "CH1" {
				t.Errorf("message %+v", m)
			}
		}
		if fake.fetches["MB1"] != 1 || c.ParticipantFetches() != 1 {
			t.Errorf("participant fetched %d times (adapter says %d), want once", fake.fetches["MB1"], c.ParticipantFetches())
		}
	})
	t.Run("a participant announced with its binding is never fetched", func(t *testing.T) {
		if _, err := event(t, c, url.Values{"EventType": {"onParticipantAdded"}, "ConversationSid": {"CH2"}, "ParticipantSid": {"MB9"},
			"MessagingBinding.Address": {"+15550000009"}, "MessagingBinding.ProxyAddress": {"+15557654321"}}); err != nil {
			t.Fatal(err)
		}
		ev, err := event(t, c, messageAdded("IM9", "MB9", "+15550000009", "hi"))
		if err != nil || ev.Message == nil || ev.Message.To != "+15557654321" || fake.fetches["MB9"] != 0 {
			t.Errorf("%+v %v, fetched %d", ev.Message, err, fake.fetches["MB9"])
		}
	})
	t.Run("a WhatsApp participant's message is on channel whatsapp", func(t *testing.T) {
		f := messageAdded("IM3", "MBwa", "whatsapp:+447700900123", "hola")
		f.Set("Media", `[{"Sid":"ME1","ContentType":"image/png","Filename":"a.png","Size":100}]`)
		ev, err := event(t, c, f)
		if err != nil || ev.Message == nil {
			t.Fatalf("%+v %v", ev, err)
		}
		if m := ev.Message; m.Channel != model.ChannelWhatsApp || m.From != "+447700900123" || m.To != "+15557654321" ||
			len(m.Media) != 1 || m.Media[0].URL != "https://mcs.us1.twilio.com/v1/Services/IS1/Media/ME1" || m.Media[0].ContentType != "image/png" {
			t.Errorf("message %+v", m)
		}
	})
	t.Run("Ibiki's own messages and a chat participant's are not inbound", func(t *testing.T) {
		for name, f := range map[string]url.Values{
			"own_message":   messageAdded("IM4", "MB1", "ibiki", "our reply"),
			"not_a_contact": messageAdded("IM5", "MBchat", "agent-ann", "staff note"),
		} {
			ev, err := event(t, c, f)
			if err != nil || ev.Message != nil || ev.Skip != name {
				t.Errorf("%s: %+v %v", name, ev, err)
			}
		}
	})
	t.Run("a delivery receipt is a status report", func(t *testing.T) {
		ev, err := event(t, c, url.Values{"EventType": {"onDeliveryUpdated"}, "ConversationSid": {"CH1"}, "MessageSid": {"IM7"},
			"Status": {"undelivered"}, "ErrorCode": {"30003"}})
		if err != nil || len(ev.Statuses) != 1 || ev.Statuses[0].ProviderMessageID != "IM7" || ev.Statuses[0].Status != model.StatusUndelivered ||
			ev.Statuses[0].ErrorCode != "30003" {
			t.Errorf("%+v %v", ev, err)
		}
	})
	t.Run("a JSON event reads as a form", func(t *testing.T) {
		body := `{"EventType":"onMessageAdded","ConversationSid":"CH1","MessageSid":"IM8","ParticipantSid":"MB1","Author":"+15551234567","Body":"json","Index":3}`
		ev, err := c.ParseConversationEvent(context.Background(), requestTo("https://sms.example.com", "/webhooks/tw/conversations", body, ""))
		if err != nil || ev.Message == nil || ev.Message.Body != "json" {
			t.Errorf("%+v %v", ev, err)
		}
	})
	t.Run("events Ibiki does not take are skipped", func(t *testing.T) {
		ev, err := event(t, c, url.Values{"EventType": {"onConversationStateUpdated"}, "ConversationSid": {"CH1"}})
		if err != nil || ev.Message != nil || ev.Skip == "" {
			t.Errorf("%+v %v", ev, err)
		}
	})
	t.Run("bad events are refused naming the field", func(t *testing.T) {
		for field, f := range map[string]url.Values{
			"EventType":  {"ConversationSid": {"CH1"}},
			"MessageSid": {"EventType": {"onMessageAdded"}, "ConversationSid": {"CH1"}, "ParticipantSid": {"MB1"}, "Author": {"+15551234567"}},
			"Media": func() url.Values {
				f := messageAdded("IM6", "MB1", "+15551234567", "x")
				f.Set("Media", "not json")
				return f
			}(),
		} {
			_, err := event(t, c, f)
			var fe *provider.FieldError
			if !errors.As(err, &fe) || fe.Field != field {
				t.Errorf("%s: %v", field, err)
			}
		}
	})
	t.Run("a participant the API cannot give keeps the message, without its number", func(t *testing.T) {
		ev, err := event(t, c, messageAdded("IM10", "MBgone", "+15550000010", "still here"))
		if err != nil || ev.Message == nil || ev.Message.From != "+15550000010" || ev.Message.To != "" {
			t.Errorf("%+v %v", ev.Message, err)
		}
	})
}

// With conversations_replies, a message to a contact who has a Twilio conversation with the
// sending number goes into that conversation; one to a contact without goes through the
// Messages API (the lookup's miss is remembered).
func TestRepliesGoIntoTheContactsConversation(t *testing.T) {
	fake, srv := newFakeConversations(t)
	fake.participants["MB1"] = `{"type":"sms","address":"+15551234567","proxy_address":"+15557654321"}`
	fake.byAddress["+15552222222"] = "CH22"
	c := conversationsAdapter(t, srv.URL, `,"conversations_replies":true,"conversations_author":"acme-bot"`)
	ctx := context.Background()
	if _, err := event(t, c, messageAdded("IM1", "MB1", "+15551234567", "hi")); err != nil {
		t.Fatal(err)
	}
	send := func(to string) provider.SendResult {
		t.Helper()
		res, err := c.Send(ctx, provider.Outbound{From: "+15557654321", To: to, Body: "reply to " + to})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := send("+15551234567"); !strings.HasPrefix(res.ProviderMessageID, "IM") {
		t.Errorf("known thread: %+v", res)
	}
	if res := send("+15552222222"); !strings.HasPrefix(res.ProviderMessageID, "IM") {
		t.Errorf("thread found by the API: %+v", res)
	}
	send("+15553333333")
	send("+15553333333")
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.posted) != 2 || fake.posted[0].Get("ConversationSid") != "CH1" || fake.posted[0].Get("Author") != "acme-bot" ||
		fake.posted[1].Get("ConversationSid") != "CH22" || fake.posted[0].Get("Body") != "reply to +15551234567" {
		t.Errorf("posted into conversations: %v", fake.posted)
	}
	if len(fake.messages) != 2 || fake.fetches["address:+15553333333"] != 1 || fake.fetches["address:+15551234567"] != 0 {
		t.Errorf("Messages API got %d, lookups %v", len(fake.messages), fake.fetches)
	}
	if ev, _ := event(t, c, messageAdded("IM2", "MB1", "acme-bot", "our own")); ev.Skip != "own_message" {
		t.Errorf("the configured author's message: %+v", ev)
	}
}

// A conversation Twilio refuses to post into (closed, removed) is forgotten, and the message
// goes through the Messages API in the same send; a removed participant is not remembered.
func TestAReplyToAClosedConversationFallsBackToTheMessagesAPI(t *testing.T) {
	fake, srv := newFakeConversations(t)
	c := conversationsAdapter(t, srv.URL, `,"conversations_replies":true`)
	if _, err := event(t, c, url.Values{"EventType": {"onParticipantRemoved"}, "ConversationSid": {"CHold"}, "ParticipantSid": {"MB1"},
		"MessagingBinding.Address": {"+15551234567"}, "MessagingBinding.ProxyAddress": {"+15557654321"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), provider.Outbound{From: "+15557654321", To: "+15551234567", Body: "after removal"}); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	if len(fake.posted) != 0 || len(fake.messages) != 1 || fake.fetches["address:+15551234567"] != 1 {
		t.Errorf("after a removal: posted %v, messages %d, lookups %v", fake.posted, len(fake.messages), fake.fetches)
	}
	fake.byAddress["+15551234567"] = "CHgone" // the API lists it, but posting into it is refused
	fake.mu.Unlock()
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.Contains(r.URL.Path, "/Conversations/") {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"code":20404,"message":"not found"}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer gone.Close()
	c2 := conversationsAdapter(t, gone.URL, `,"conversations_replies":true`)
	res, err := c2.Send(context.Background(), provider.Outbound{From: "+15557654321", To: "+15551234567", Body: "into a gone one"})
	if err != nil || res.ProviderMessageID != "SM1" {
		t.Fatalf("Send = %+v, %v: want the Messages API's answer", res, err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.messages) != 2 {
		t.Errorf("Messages API got %d, want 2", len(fake.messages))
	}
}
