package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

const (
	twSID    = "AC0123456789abcdef0123456789abcdef"
	twToken  = "fedcba9876543210fedcba9876543210"
	twPublic = "https://sms.example.com" // IBIKI_PUBLIC_URL: Twilio calls it, a proxy forwards to the instance
)

// fakeTwilioAPI is Twilio's Messages endpoint: it records each form it is posted.
type fakeTwilioAPI struct {
	mu    sync.Mutex
	forms []url.Values
}

func (f *fakeTwilioAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, _ := r.BasicAuth(); u != twSID || p != twToken || r.URL.Path != "/2010-04-01/Accounts/"+twSID+"/Messages.json" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	f.mu.Lock()
	f.forms = append(f.forms, form)
	n := len(f.forms)
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","from":%q}`, n, form.Get("From"))
}

func (f *fakeTwilioAPI) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

// postTwilio posts a form to the instance as Twilio would post it to the public URL, signed
// over that URL; it returns the status and the body.
func postTwilio(t *testing.T, in *instance, path string, f url.Values) (int, string) {
	t.Helper()
	sig := twilio.Signature(twToken, twPublic+path, f)
	params := map[string]string{}
	for k := range f {
		params[k] = f.Get(k)
	}
	// The oracle: what Twilio's own library accepts is what this test sends.
	v := twclient.NewRequestValidator(twToken)
	if !v.Validate(twPublic+path, params, sig) {
		t.Fatal("twilio-go does not accept the test's signature")
	}
	req, _ := http.NewRequest(http.MethodPost, in.URL+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type twilioEvent struct {
	Type string `json:"type"`
	Data struct {
		ID, From, To, Body, Channel, Provider string
		RoutedBy                              string `json:"routed_by"`
		ClientID                              string `json:"client_id"`
		Media                                 []struct {
			URL         string `json:"url"`
			ContentType string `json:"content_type"`
		} `json:"media"`
	} `json:"data"`
}

// Across real processes, behind a proxy (IBIKI_PUBLIC_URL): a Twilio MMS with two media to a
// client's number is routed to it and delivered with its attachments, once though Twilio posts
// it twice; a WhatsApp message comes in on the same webhook, and the client's reply goes out
// through the Twilio API to the whatsapp: address, from the number it came to.
func TestTwilioMessagesInAndAWhatsAppReplyOut(t *testing.T) {
	api := &fakeTwilioAPI{}
	fake := httptest.NewServer(api)
	defer fake.Close()
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"default":"twilio","providers":[{"name":"twilio","type":"twilio",
		"account_sid":"`+twSID+`","auth_token":"`+twToken+`","base_url":"`+fake.URL+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := ibikitest.NewReceiver(t)
	srv := start(t, ibikitest.DatabaseURL(t), "IBIKI_PROVIDERS_FILE="+file, "IBIKI_PUBLIC_URL="+twPublic)
	acme := createClient(t, srv, "acme", rec.URL)
	if status, body := post(srv.URL+"/admin/v1/numbers", adminToken, map[string]string{"number": "+15557654321", "client_id": "acme", "provider": "twilio"}); status != http.StatusCreated {
		t.Fatalf("number: %d %s", status, body)
	}
	if status, body := post(srv.URL+"/admin/v1/clients/acme/credits", adminToken, map[string]any{"amount_cents": 100}); status != http.StatusOK {
		t.Fatalf("credits: %d %s", status, body)
	}

	mms := url.Values{"MessageSid": {"MM0123456789abcdef0123456789abcdef"}, "AccountSid": {twSID}, "From": {"+15551234567"},
		"To": {"+15557654321"}, "Body": {"the receipt"}, "NumMedia": {"2"},
		"MediaUrl0": {"https://api.twilio.com/2010-04-01/Accounts/" + twSID + "/Messages/MM01/Media/ME1"}, "MediaContentType0": {"image/jpeg"},
		"MediaUrl1": {"https://api.twilio.com/2010-04-01/Accounts/" + twSID + "/Messages/MM01/Media/ME2"}, "MediaContentType1": {"application/pdf"}}
	for range 2 { // Twilio retries; the second is the same message
		if status, body := postTwilio(t, srv, "/webhooks/twilio", mms); status != http.StatusOK || !strings.Contains(body, "<Response/>") {
			t.Fatalf("MMS: %d %s", status, body)
		}
	}
	wa := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {twSID}, "From": {"whatsapp:+447700900123"},
		"To": {"whatsapp:+15557654321"}, "Body": {"hi from WhatsApp"}, "ProfileName": {"Asha"}, "WaId": {"447700900123"}}
	if status, body := postTwilio(t, srv, "/webhooks/twilio", wa); status != http.StatusOK {
		t.Fatalf("WhatsApp: %d %s", status, body)
	}
	got := rec.WaitFor(t, 2)
	time.Sleep(300 * time.Millisecond) // a second delivery of the MMS would have come by now
	if n := len(rec.Requests()); n != 2 {
		t.Fatalf("%d deliveries, want 2 (the MMS once, the WhatsApp message)", n)
	}
	events := map[string]twilioEvent{}
	for _, r := range got {
		var ev twilioEvent
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		events[ev.Data.Channel] = ev
	}
	m := events["sms"].Data
	if m.ClientID != "acme" || m.RoutedBy != "number" || m.Provider != "twilio" || m.Body != "the receipt" || len(m.Media) != 2 ||
		m.Media[0].ContentType != "image/jpeg" || !strings.HasSuffix(m.Media[1].URL, "/Media/ME2") || m.Media[1].ContentType != "application/pdf" {
		t.Errorf("MMS event %+v", events["sms"])
	}
	w := events["whatsapp"].Data
	if w.ClientID != "acme" || w.From != "+447700900123" || w.To != "+15557654321" || w.RoutedBy != "number" {
		t.Errorf("WhatsApp event %+v", events["whatsapp"])
	}

	status, body := post(srv.URL+"/api/v1/conversations/+447700900123/messages", acme.APIKey, map[string]string{"body": "hello Asha", "channel": "whatsapp"})
	if status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", status, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(api.sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	sent := api.sent()
	if len(sent) != 1 {
		t.Fatalf("Twilio got %d messages, want the reply", len(sent))
	}
	if f := sent[0]; f.Get("To") != "whatsapp:+447700900123" || f.Get("From") != "whatsapp:+15557654321" || f.Get("Body") != "hello Asha" {
		t.Errorf("Twilio got %v", f)
	}
}

// A call across real processes, behind a proxy: answered with the number's voicemail TwiML
// (reporting to the public URL), logged as a voice message of the client, the recording added.
func TestTwilioCallWithVoicemail(t *testing.T) {
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"providers":[{"name":"twilio","type":"twilio",
		"account_sid":"`+twSID+`","auth_token":"`+twToken+`","base_url":"http://127.0.0.1:9"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := ibikitest.NewReceiver(t)
	srv := start(t, ibikitest.DatabaseURL(t), "IBIKI_PROVIDERS_FILE="+file, "IBIKI_PUBLIC_URL="+twPublic)
	acme := createClient(t, srv, "acme", rec.URL)
	if status, body := post(srv.URL+"/admin/v1/numbers", adminToken, map[string]string{"number": "+15557654321", "client_id": "acme", "provider": "twilio"}); status != http.StatusCreated {
		t.Fatalf("number: %d %s", status, body)
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/voice", strings.NewReader(`{"action":"voicemail","text":"Hi, leave a message","max_seconds":60}`))
	req.Header.Set("Authorization", "Bearer "+acme.APIKey)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT /api/v1/voice: %v %v", res, err)
	}
	call := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "AccountSid": {twSID}, "From": {"+15551234567"},
		"To": {"+15557654321"}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "CallerName": {"ASHA"}}
	status, body := postTwilio(t, srv, "/webhooks/twilio/voice", call)
	cb := twPublic + "/webhooks/twilio/voice/recording"
	if status != http.StatusOK || !strings.Contains(body, `<Say>Hi, leave a message</Say><Record maxLength="60"`) ||
		!strings.Contains(body, `action="`+cb+`"`) {
		t.Fatalf("call answered %d %s", status, body)
	}
	recording := url.Values{"CallSid": call["CallSid"], "RecordingSid": {"RE1"}, "RecordingStatus": {"completed"},
		"RecordingUrl": {"https://api.twilio.com/2010-04-01/Accounts/" + twSID + "/Recordings/RE1"}, "RecordingDuration": {"9"}}
	if status, body := postTwilio(t, srv, "/webhooks/twilio/voice/recording", recording); status != http.StatusOK || !strings.Contains(body, "<Hangup/>") {
		t.Fatalf("recording answered %d %s", status, body)
	}
	got := rec.WaitFor(t, 1)
	var ev twilioEvent
	if err := json.Unmarshal(got[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "message.received" || ev.Data.Channel != "voice" || ev.Data.ClientID != "acme" || ev.Data.RoutedBy != "number" {
		t.Errorf("call event %s", got[0].Body)
	}
	var m struct {
		Channel string `json:"channel"`
		Call    struct {
			RecordingSeconds int `json:"recording_seconds"`
		} `json:"call"`
		Media []struct {
			URL string `json:"url"`
		} `json:"media"`
	}
	getJSON(t, srv.URL+"/api/v1/messages/"+ev.Data.ID, acme.APIKey, &m)
	if m.Channel != "voice" || m.Call.RecordingSeconds != 9 || len(m.Media) != 1 || !strings.HasSuffix(m.Media[0].URL, "/Recordings/RE1.mp3") {
		t.Errorf("the call's message %+v", m)
	}
}

// fakeConversationsAPI serves the participants of Twilio conversations and counts the reads.
type fakeConversationsAPI struct {
	mu      sync.Mutex
	fetches map[string]int
	posted  []url.Values
}

func (f *fakeConversationsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, p, _ := r.BasicAuth(); u != twSID || p != twToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	bindings := map[string]string{
		"MBacme":  `{"type":"sms","address":"+15551234567","proxy_address":"+15557654321"}`,
		"MBother": `{"type":"sms","address":"+15551234568","proxy_address":"+15559999999"}`,
	}
	var conv, part string
	if _, err := fmt.Sscanf(strings.ReplaceAll(r.URL.Path, "/", " "), " v1 Conversations %s Participants %s", &conv, &part); err == nil && r.Method == http.MethodGet {
		f.fetches[part]++
		fmt.Fprintf(w, `{"sid":%q,"conversation_sid":%q,"messaging_binding":%s}`, part, conv, bindings[part])
		return
	}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages") {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		form.Set("path", r.URL.Path)
		f.posted = append(f.posted, form)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"IM%032d"}`, len(f.posted))
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

// One URL for the events of every conversation of the account, across real processes: a
// contact's message without the number is routed by the number fetched from the REST API,
// once (the second message of the participant reads it from memory); a conversation on a number
// Ibiki does not manage is answered and skipped; Ibiki's reply goes back into the conversation.
func TestTwilioConversationsOnOneURL(t *testing.T) {
	api := &fakeConversationsAPI{fetches: map[string]int{}}
	fake := httptest.NewServer(api)
	defer fake.Close()
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"default":"twilio","providers":[{"name":"twilio","type":"twilio",
		"account_sid":"`+twSID+`","auth_token":"`+twToken+`","base_url":"`+fake.URL+`",
		"conversations_base_url":"`+fake.URL+`","conversations_replies":true}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := ibikitest.NewReceiver(t)
	srv := start(t, ibikitest.DatabaseURL(t), "IBIKI_PROVIDERS_FILE="+file, "IBIKI_PUBLIC_URL="+twPublic)
	acme := createClient(t, srv, "acme", rec.URL)
	if status, body := post(srv.URL+"/admin/v1/numbers", adminToken, map[string]string{"number": "+15557654321", "client_id": "acme", "provider": "twilio"}); status != http.StatusCreated {
		t.Fatalf("number: %d %s", status, body)
	}
	if status, body := post(srv.URL+"/admin/v1/clients/acme/credits", adminToken, map[string]any{"amount_cents": 100}); status != http.StatusOK {
		t.Fatalf("credits: %d %s", status, body)
	}
	added := func(conv, msg, part, author, body string) url.Values {
		return url.Values{"EventType": {"onMessageAdded"}, "ConversationSid": {conv}, "MessageSid": {msg}, "ParticipantSid": {part},
			"Author": {author}, "Body": {body}, "AccountSid": {twSID}, "Source": {"SMS"}}
	}
	for _, f := range []url.Values{
		added("CHacme", "IM01", "MBacme", "+15551234567", "first"),
		added("CHacme", "IM02", "MBacme", "+15551234567", "second"),
		added("CHother", "IM03", "MBother", "+15551234568", "not ours"),
		added("CHacme", "IM01", "MBacme", "+15551234567", "first"), // Twilio's retry
	} {
		if status, body := postTwilio(t, srv, "/webhooks/twilio/conversations", f); status != http.StatusOK {
			t.Fatalf("event %v: %d %s", f, status, body)
		}
	}
	got := rec.WaitFor(t, 2)
	for i, want := range []string{"first", "second"} {
		var ev twilioEvent
		if err := json.Unmarshal(got[i].Body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Body != want || ev.Data.ClientID != "acme" || ev.Data.RoutedBy != "number" || ev.Data.To != "+15557654321" {
			t.Errorf("delivery %d: %s", i, got[i].Body)
		}
	}
	api.mu.Lock()
	fetches := maps.Clone(api.fetches)
	api.mu.Unlock()
	if fetches["MBacme"] != 1 {
		t.Errorf("participant fetches %v, want MBacme once", fetches)
	}
	var page struct {
		Data []struct{ Body string } `json:"data"`
	}
	getJSON(t, srv.URL+"/api/v1/messages?direction=inbound", acme.APIKey, &page)
	if len(page.Data) != 2 {
		t.Errorf("acme has %d inbound messages, want 2 (the other number's is skipped, the retry is the same)", len(page.Data))
	}

	status, body := post(srv.URL+"/api/v1/conversations/+15551234567/messages", acme.APIKey, map[string]string{"body": "thanks!"})
	if status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", status, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		api.mu.Lock()
		posted := append([]url.Values(nil), api.posted...)
		api.mu.Unlock()
		if len(posted) > 0 {
			if p := posted[0]; p.Get("path") != "/v1/Conversations/CHacme/Messages" || p.Get("Body") != "thanks!" || p.Get("Author") != "ibiki" {
				t.Errorf("reply posted %v", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reply never reached the conversation")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
