package hooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

const (
	twSID   = "AC0123456789abcdef0123456789abcdef"
	twToken = "0123456789abcdef0123456789abcdef"
)

// twilioServer is an Ibiki with a Twilio entry "tw" that takes messages, client acme (webhook to
// rcv) owning the Twilio number +15557654321.
func twilioServer(t *testing.T) (*ibikitest.Server, *ibikitest.Receiver, ibikitest.CreatedClient) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"providers":[{"name":"tw","type":"twilio","account_sid":"`+twSID+
		`","auth_token":"`+twToken+`","base_url":"http://127.0.0.1:9"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	rcv := ibikitest.NewReceiver(t)
	c := s.CreateClient("acme", rcv.URL)
	if res := s.Do("POST", "/admin/v1/numbers", ibikitest.AdminToken, map[string]string{"number": "+15557654321", "client_id": "acme"}); res.Status != http.StatusCreated {
		t.Fatalf("number: %d %s", res.Status, res.Body)
	}
	return s, rcv, c
}

// postTwilio posts a form to one of the server's webhooks as Twilio does, signed over the URL
// it calls (sig "" signs it; anything else is sent as the signature).
func postTwilio(t *testing.T, s *ibikitest.Server, path string, f url.Values, sig string) ibikitest.Response {
	t.Helper()
	if sig == "" {
		sig = twilio.Signature(twToken, s.URL+path, f)
	}
	req, err := http.NewRequest("POST", s.URL+path, strings.NewReader(f.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	return send(t, req)
}

// rejected reads a counter of refused webhooks from /metrics.
func rejected(t *testing.T, s *ibikitest.Server, source, reason string) int {
	t.Helper()
	body := string(s.Do("GET", "/metrics", "", nil).Body)
	re := regexp.MustCompile(`ibiki_inbound_rejected_total\{provider="` + source + `",reason="` + reason + `"\} (\d+)`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func mmsForm(sid string) url.Values {
	return url.Values{"MessageSid": {sid}, "AccountSid": {twSID}, "From": {"+15551234567"}, "To": {"+15557654321"},
		"Body": {"Look at this"}, "NumMedia": {"2"},
		"MediaUrl0": {"https://api.twilio.com/2010-04-01/Accounts/" + twSID + "/Messages/" + sid + "/Media/ME1"}, "MediaContentType0": {"image/jpeg"},
		"MediaUrl1": {"https://api.twilio.com/2010-04-01/Accounts/" + twSID + "/Messages/" + sid + "/Media/ME2"}, "MediaContentType1": {"image/png"}}
}

// A Twilio MMS with two media on a client's number is answered with empty TwiML, routed by the
// number, and delivered to the client with its attachments; the API shows them too. The same
// MessageSid again is one message. A wrong or missing signature is a 403, counted, and stores
// nothing.
func TestTwilioMessageWebhook(t *testing.T) {
	s, rcv, c := twilioServer(t)
	refusedBefore := rejected(t, s, "tw", "signature")
	t.Run("a wrong or missing signature is refused and changes nothing", func(t *testing.T) {
		for _, sig := range []string{"bm9wZQ==", twilio.Signature("another-token", s.URL+"/webhooks/tw", mmsForm("SMbad"))} {
			res := postTwilio(t, s, "/webhooks/tw", mmsForm("SMbad"), sig)
			wantErr(t, res, http.StatusForbidden, "forbidden", "")
		}
		req, _ := http.NewRequest("POST", s.URL+"/webhooks/tw", strings.NewReader(mmsForm("SMbad").Encode()))
		wantErr(t, send(t, req), http.StatusForbidden, "forbidden", "")
		if got := rejected(t, s, "tw", "signature") - refusedBefore; got != 3 {
			t.Errorf("%d refusals counted, want 3", got)
		}
	})
	res := postTwilio(t, s, "/webhooks/tw", mmsForm("SM00000000000000000000000000000001"), "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/xml") ||
		string(res.Body) != `<?xml version="1.0" encoding="UTF-8"?><Response/>` {
		t.Fatalf("answer %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	t.Run("the same MessageSid again is answered the same and stored once", func(t *testing.T) {
		if again := postTwilio(t, s, "/webhooks/tw", mmsForm("SM00000000000000000000000000000001"), ""); again.Status != http.StatusOK {
			t.Errorf("retry answered %d %s", again.Status, again.Body)
		}
	})
	t.Run("a form Ibiki cannot read is a 400 naming the field", func(t *testing.T) {
		f := mmsForm("SM3")
		f.Set("MediaUrl1", "javascript:alert(1)")
		wantErr(t, postTwilio(t, s, "/webhooks/tw", f, ""), http.StatusBadRequest, "invalid_field", "MediaUrl1")
	})
	// A plain SMS from the same phone after it: once its delivery arrives, a second delivery of
	// the MMS would have arrived before it.
	sms := url.Values{"MessageSid": {"SM00000000000000000000000000000002"}, "From": {"+15551234567"}, "To": {"+15557654321"}, "Body": {"and hi"}}
	if res := postTwilio(t, s, "/webhooks/tw", sms, ""); res.Status != http.StatusOK {
		t.Fatalf("sms answered %d %s", res.Status, res.Body)
	}
	got := rcv.WaitFor(t, 2)
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2 (the MMS once, then the SMS)", len(got))
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ID       string `json:"id"`
			Channel  string `json:"channel"`
			RoutedBy string `json:"routed_by"`
			Provider string `json:"provider"`
			Body     string `json:"body"`
			Media    []struct {
				URL         string `json:"url"`
				ContentType string `json:"content_type"`
			} `json:"media"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if ev.Type != "message.received" || d.Channel != "sms" || d.RoutedBy != "number" || d.Provider != "tw" || d.Body != "Look at this" ||
		len(d.Media) != 2 || d.Media[0].ContentType != "image/jpeg" || !strings.HasSuffix(d.Media[1].URL, "/Media/ME2") {
		t.Errorf("delivery %s", got[0].Body)
	}
	if !strings.Contains(string(got[1].Body), `"media":[]`) {
		t.Errorf("an SMS's event should carry an empty media list: %s", got[1].Body)
	}
	t.Run("the API shows the attachments", func(t *testing.T) {
		res := s.Do("GET", "/api/v1/messages/"+d.ID, c.APIKey, nil)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"media":[{"url":"https://api.twilio.com/`) {
			t.Errorf("message %d %s", res.Status, res.Body)
		}
	})
}

// WhatsApp messages come on the same webhook with whatsapp: addresses: the channel is whatsapp,
// the numbers route as any, and the profile name is the contact's.
func TestTwilioWhatsAppWebhook(t *testing.T) {
	s, rcv, c := twilioServer(t)
	f := url.Values{"MessageSid": {"SM00000000000000000000000000000003"}, "From": {"whatsapp:+447700900123"},
		"To": {"whatsapp:+15557654321"}, "Body": {"hello on WhatsApp"}, "ProfileName": {"Asha Rao"}, "WaId": {"447700900123"}}
	if res := postTwilio(t, s, "/webhooks/tw", f, ""); res.Status != http.StatusOK {
		t.Fatalf("answered %d %s", res.Status, res.Body)
	}
	var ev struct {
		Data struct {
			From, To, Channel string
			RoutedBy          string `json:"routed_by"`
			Contact           struct {
				FirstName string `json:"first_name"`
			}
		} `json:"data"`
	}
	got := rcv.WaitFor(t, 1)
	if err := json.Unmarshal(got[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if d := ev.Data; d.From != "+447700900123" || d.To != "+15557654321" || d.Channel != "whatsapp" || d.RoutedBy != "number" || d.Contact.FirstName != "Asha Rao" {
		t.Errorf("delivery %s", got[0].Body)
	}
	t.Run("the conversation lists under its channel and its receiving number", func(t *testing.T) {
		for path, want := range map[string]int{
			"/api/v1/conversations?channel=whatsapp&to=%2B15557654321": 1,
			"/api/v1/conversations?to=%2B15557654321":                  1,
			"/api/v1/conversations?to=%2B15550000000":                  0,
			"/api/v1/conversations?channel=sms":                        0,
		} {
			var page struct {
				Data []struct {
					Phone   string `json:"phone"`
					Channel string `json:"channel"`
				} `json:"data"`
			}
			res := s.Do("GET", path, c.APIKey, nil)
			res.JSON(t, &page)
			if res.Status != http.StatusOK || len(page.Data) != want || (want == 1 && (page.Data[0].Phone != "+447700900123" || page.Data[0].Channel != "whatsapp")) {
				t.Errorf("%s: %d %s", path, res.Status, res.Body)
			}
		}
	})
}

// A call to a client's number is logged as a voice message, routed to the client, and answered
// with the number's voice answer (or its client's, or the default); a voicemail's recording and
// the call's status land on that message; reports on calls never logged are answered and
// dropped; an unsigned call changes nothing.
func TestTwilioVoiceWebhooks(t *testing.T) {
	s, rcv, c := twilioServer(t)
	call := func(sid string) url.Values {
		return url.Values{"CallSid": {sid}, "AccountSid": {twSID}, "From": {"+15551234567"}, "To": {"+15557654321"},
			"CallStatus": {"ringing"}, "Direction": {"inbound"}}
	}
	twiml := func(res ibikitest.Response) string {
		t.Helper()
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/xml") {
			t.Fatalf("answer %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
		}
		return strings.TrimPrefix(string(res.Body), `<?xml version="1.0" encoding="UTF-8"?>`)
	}
	t.Run("without a configured answer the caller is told to write", func(t *testing.T) {
		got := twiml(postTwilio(t, s, "/webhooks/tw/voice", call("CA01"), ""))
		if got != `<Response><Say>`+model.DefaultVoiceAnswer.Text+`</Say><Hangup/></Response>` {
			t.Errorf("TwiML %s", got)
		}
	})
	t.Run("the client's answer applies to its number", func(t *testing.T) {
		res := s.Do("PUT", "/api/v1/voice", c.APIKey, map[string]any{"action": "forward", "forward_to": "+15550009999"})
		if res.Status != http.StatusOK {
			t.Fatalf("PUT voice: %d %s", res.Status, res.Body)
		}
		if got := twiml(postTwilio(t, s, "/webhooks/tw/voice", call("CA02"), "")); got != `<Response><Dial>+15550009999</Dial></Response>` {
			t.Errorf("TwiML %s", got)
		}
	})
	var recordingURL string
	t.Run("the number's own answer wins: a voicemail", func(t *testing.T) {
		res := s.Do("PUT", "/admin/v1/numbers/%2B15557654321/voice", ibikitest.AdminToken, map[string]any{"action": "voicemail", "max_seconds": 30})
		if res.Status != http.StatusOK {
			t.Fatalf("PUT voice: %d %s", res.Status, res.Body)
		}
		got := twiml(postTwilio(t, s, "/webhooks/tw/voice", call("CA03"), ""))
		recordingURL = s.URL + "/webhooks/tw/voice/recording"
		want := `<Response><Say>` + model.DefaultVoicemailPrompt + `</Say><Record maxLength="30" playBeep="true" method="POST" action="` +
			recordingURL + `" recordingStatusCallback="` + recordingURL + `" recordingStatusCallbackMethod="POST"/><Hangup/></Response>`
		if got != want {
			t.Errorf("TwiML\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("a retried call is the same call", func(t *testing.T) {
		twiml(postTwilio(t, s, "/webhooks/tw/voice", call("CA03"), ""))
	})
	t.Run("an unsigned call is refused", func(t *testing.T) {
		wantErr(t, postTwilio(t, s, "/webhooks/tw/voice", call("CA99"), "bm9wZQ=="), http.StatusForbidden, "forbidden", "")
	})
	// The recording: first as <Record>'s action, then as its status callback (the same).
	rec := url.Values{"CallSid": {"CA03"}, "RecordingSid": {"RE1"}, "RecordingUrl": {"https://api.twilio.com/2010-04-01/Accounts/" + twSID + "/Recordings/RE1"},
		"RecordingDuration": {"12"}, "RecordingStatus": {"completed"}}
	for range 2 {
		if got := twiml(postTwilio(t, s, "/webhooks/tw/voice/recording", rec, "")); got != `<Response><Hangup/></Response>` {
			t.Errorf("recording answered %s", got)
		}
	}
	status := url.Values{"CallSid": {"CA03"}, "CallStatus": {"completed"}, "CallDuration": {"25"}}
	twiml(postTwilio(t, s, "/webhooks/tw/voice/status", status, ""))
	// A late "in-progress" does not undo "completed".
	twiml(postTwilio(t, s, "/webhooks/tw/voice/status", url.Values{"CallSid": {"CA03"}, "CallStatus": {"in-progress"}}, ""))
	t.Run("a report on a call never logged is answered, dropped and counted", func(t *testing.T) {
		before := rejected(t, s, "tw", "unknown_call")
		twiml(postTwilio(t, s, "/webhooks/tw/voice/status", url.Values{"CallSid": {"CAunknown"}, "CallStatus": {"completed"}}, ""))
		if n := rejected(t, s, "tw", "unknown_call") - before; n != 1 {
			t.Errorf("%d counted, want 1", n)
		}
	})

	got := rcv.WaitFor(t, 3) // one message.received per call
	if len(got) != 3 {
		t.Fatalf("%d deliveries, want 3", len(got))
	}
	var page struct {
		Data []struct {
			ID, Channel, Body string
			Call              *struct {
				Status           string `json:"status"`
				DurationSeconds  int    `json:"duration_seconds"`
				RecordingSeconds int    `json:"recording_seconds"`
			} `json:"call"`
			Media []struct {
				URL         string `json:"url"`
				ContentType string `json:"content_type"`
			} `json:"media"`
		} `json:"data"`
	}
	res := s.Do("GET", "/api/v1/conversations/%2B15551234567/messages?channel=voice", c.APIKey, nil)
	res.JSON(t, &page)
	if res.Status != http.StatusOK || len(page.Data) != 3 {
		t.Fatalf("voice conversation: %d %s", res.Status, res.Body)
	}
	last := page.Data[0] // newest first: CA03
	if last.Channel != "voice" || last.Call == nil || last.Call.Status != "completed" || last.Call.DurationSeconds != 25 ||
		last.Call.RecordingSeconds != 12 || len(last.Media) != 1 || last.Media[0].ContentType != "audio/mpeg" ||
		last.Media[0].URL != "https://api.twilio.com/2010-04-01/Accounts/"+twSID+"/Recordings/RE1.mp3" {
		t.Errorf("the voicemail's call: %+v", last)
	}
	if first := page.Data[2]; first.Call == nil || first.Call.Status != "ringing" || len(first.Media) != 0 {
		t.Errorf("the first call: %+v", first)
	}
}

// The Conversations URL verifies like the others, and skips (and counts) the messages of a
// number Ibiki does not manage.
func TestTwilioConversationsWebhook(t *testing.T) {
	s, rcv, c := twilioServer(t)
	joined := func(part, proxy string) url.Values {
		return url.Values{"EventType": {"onParticipantAdded"}, "ConversationSid": {"CH" + part}, "ParticipantSid": {part},
			"MessagingBinding.Address": {"+15551234567"}, "MessagingBinding.ProxyAddress": {proxy}}
	}
	added := func(part, msg string) url.Values {
		return url.Values{"EventType": {"onMessageAdded"}, "ConversationSid": {"CH" + part}, "ParticipantSid": {part},
			"MessageSid": {msg}, "Author": {"+15551234567"}, "Body": {"hi"}}
	}
	wantErr(t, postTwilio(t, s, "/webhooks/tw/conversations", added("MB1", "IM1"), "bm9wZQ=="), http.StatusForbidden, "forbidden", "")
	before := rejected(t, s, "tw", "unmanaged_number")
	for _, f := range []url.Values{joined("MB1", "+15550000000"), added("MB1", "IM1"), joined("MB2", "+15557654321"), added("MB2", "IM2")} {
		if res := postTwilio(t, s, "/webhooks/tw/conversations", f, ""); res.Status != http.StatusOK {
			t.Fatalf("%v: %d %s", f, res.Status, res.Body)
		}
	}
	if n := rejected(t, s, "tw", "unmanaged_number") - before; n != 1 {
		t.Errorf("%d skipped as unmanaged, want 1", n)
	}
	rcv.WaitFor(t, 1) // routed (IM1 was never stored: it would have been delivered first)
	var page struct {
		Data []struct {
			ProviderMessageID string `json:"provider_message_id"`
		} `json:"data"`
	}
	s.Do("GET", "/api/v1/messages", c.APIKey, nil).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].ProviderMessageID != "IM2" {
		t.Errorf("messages %+v, want only IM2's", page.Data)
	}
}

// A contact writing to a client's Twilio number gets the client's auto-reply in the TwiML
// answer, recorded as a sent message and charged; Twilio's report on it (to the action URL of
// the <Message>) binds its MessageSid and moves it on. The next message within the window gets
// no reply, and routing does not answer it a second time.
func TestTwilioAutoReplyInTheAnswer(t *testing.T) {
	s, rcv, c := twilioServer(t)
	if res := s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 10}); res.Status != http.StatusOK {
		t.Fatalf("credits: %d %s", res.Status, res.Body)
	}
	if res := s.Do("PUT", "/api/v1/auto-replies", c.APIKey, map[string]any{"text": "Thanks [firstname|there] & see you"}); res.Status != http.StatusOK {
		t.Fatalf("rule: %d %s", res.Status, res.Body)
	}
	sms := func(sid, body string) url.Values {
		return url.Values{"MessageSid": {sid}, "From": {"+15551234567"}, "To": {"+15557654321"}, "Body": {body}}
	}
	res := postTwilio(t, s, "/webhooks/tw", sms("SM00000000000000000000000000000101", "hello"), "")
	re := regexp.MustCompile(`^<\?xml version="1.0" encoding="UTF-8"\?><Response><Message action="([^"]+)" method="POST">Thanks there &amp; see you</Message></Response>$`)
	m := re.FindStringSubmatch(string(res.Body))
	if res.Status != http.StatusOK || m == nil {
		t.Fatalf("answer %d %s", res.Status, res.Body)
	}
	action := strings.ReplaceAll(m[1], "&amp;", "&")
	u, err := url.Parse(action)
	if err != nil || u.Path != "/webhooks/tw/status" || !strings.HasPrefix(u.Query().Get("ibiki_message"), "msg_") {
		t.Fatalf("action %q", action)
	}
	replyID := u.Query().Get("ibiki_message")
	if again := postTwilio(t, s, "/webhooks/tw", sms("SM00000000000000000000000000000102", "are you there?"), ""); !strings.HasSuffix(string(again.Body), "<Response/>") {
		t.Errorf("a second message within the window was answered: %s", again.Body)
	}
	rcv.WaitFor(t, 2) // both routed: a second reply would have been queued with the routing
	var reply struct {
		Status     string  `json:"status"`
		Provider   string  `json:"provider"`
		From       string  `json:"from"`
		ProviderID *string `json:"provider_message_id"`
		CostCents  int64   `json:"cost_cents"`
	}
	s.Do("GET", "/api/v1/messages/"+replyID, c.APIKey, nil).JSON(t, &reply)
	if reply.Status != "sent" || reply.Provider != "tw" || reply.From != "+15557654321" || reply.ProviderID != nil || reply.CostCents != 1 {
		t.Errorf("the reply %+v", reply)
	}
	// Twilio reports on the reply at the action URL, signed over it.
	report := url.Values{"MessageSid": {"SM00000000000000000000000000000201"}, "MessageStatus": {"delivered"}, "AccountSid": {twSID}}
	req, _ := http.NewRequest("POST", s.URL+u.RequestURI(), strings.NewReader(report.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(twToken, s.URL+u.RequestURI(), report))
	if res := send(t, req); res.Status != http.StatusOK {
		t.Fatalf("report: %d %s", res.Status, res.Body)
	}
	s.Do("GET", "/api/v1/messages/"+replyID, c.APIKey, nil).JSON(t, &reply)
	if reply.Status != "delivered" || reply.ProviderID == nil || *reply.ProviderID != "SM00000000000000000000000000000201" {
		t.Errorf("after the report: %+v", reply)
	}
	var out struct {
		Data []struct{ ID string } `json:"data"`
	}
	s.Do("GET", "/api/v1/messages?direction=outbound", c.APIKey, nil).JSON(t, &out)
	if len(out.Data) != 1 {
		t.Errorf("%d outbound messages, want the one reply", len(out.Data))
	}
	var bal struct {
		BalanceCents int64 `json:"balance_cents"`
	}
	if s.Do("GET", "/api/v1/balance", c.APIKey, nil).JSON(t, &bal); bal.BalanceCents != 9 {
		t.Errorf("balance %d, want 9: the reply charged once", bal.BalanceCents)
	}
}

// A Twilio number whose replies would go through another provider (here a Twilio entry behind
// a Messaging Service, which chooses no sender, beside the default simulator) gets no reply in
// the TwiML answer, and the window is left to the routing, which queues the reply.
func TestTwilioAutoReplyThroughAnotherProviderIsQueued(t *testing.T) {
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"providers":[{"name":"sim","type":"simulator"},{"name":"tw","type":"twilio","account_sid":"`+twSID+
		`","auth_token":"`+twToken+`","base_url":"http://127.0.0.1:9","messaging_service_sid":"MG0123456789abcdef0123456789abcdef"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	rcv := ibikitest.NewReceiver(t)
	c := s.CreateClient("acme", rcv.URL)
	if res := s.Do("POST", "/admin/v1/numbers", ibikitest.AdminToken, map[string]string{"number": "+15557654321", "client_id": "acme", "provider": "tw"}); res.Status != http.StatusCreated {
		t.Fatalf("number: %d %s", res.Status, res.Body)
	}
	s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 10})
	if res := s.Do("PUT", "/api/v1/auto-replies", c.APIKey, map[string]any{"text": "Thanks"}); res.Status != http.StatusOK {
		t.Fatalf("rule: %d %s", res.Status, res.Body)
	}
	res := postTwilio(t, s, "/webhooks/tw", url.Values{"MessageSid": {"SM00000000000000000000000000000101"}, "From": {"+15551234567"},
		"To": {"+15557654321"}, "Body": {"hello"}}, "")
	if res.Status != http.StatusOK || !strings.HasSuffix(string(res.Body), "<Response/>") {
		t.Fatalf("answer %d %s, want an empty TwiML answer", res.Status, res.Body)
	}
	rcv.WaitFor(t, 1)
	var out struct {
		Data []struct {
			Body     string `json:"body"`
			Provider string `json:"provider"`
		} `json:"data"`
	}
	s.Do("GET", "/api/v1/messages?direction=outbound", c.APIKey, nil).JSON(t, &out)
	if len(out.Data) != 1 || out.Data[0].Body != "Thanks" || out.Data[0].Provider != "sim" {
		t.Errorf("outbound %+v, want the reply queued by the routing through sim", out.Data)
	}
}

// A reply given in the TwiML answer that Twilio never reports on (it timed out, the connection
// broke) is failed and refunded after a while, rather than left "sent" and charged.
func TestTwilioAnsweredReplyNeverConfirmedIsRefunded(t *testing.T) {
	s, rcv, c := twilioServer(t)
	s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 10})
	if res := s.Do("PUT", "/api/v1/auto-replies", c.APIKey, map[string]any{"text": "Thanks"}); res.Status != http.StatusOK {
		t.Fatalf("rule: %d %s", res.Status, res.Body)
	}
	res := postTwilio(t, s, "/webhooks/tw", url.Values{"MessageSid": {"SM00000000000000000000000000000101"}, "From": {"+15551234567"},
		"To": {"+15557654321"}, "Body": {"hello"}}, "")
	if !strings.Contains(string(res.Body), "<Message") {
		t.Fatalf("answer %s, want the reply", res.Body)
	}
	rcv.WaitFor(t, 1)
	ctx := context.Background()
	if n, err := s.App.Outbound.ExpireUnconfirmedReplies(ctx, time.Now().Add(time.Minute), 48*time.Hour); err != nil || n != 0 {
		t.Fatalf("a minute later: %d failed (%v), want none yet", n, err)
	}
	if n, err := s.App.Outbound.ExpireUnconfirmedReplies(ctx, time.Now().Add(11*time.Minute), 48*time.Hour); err != nil || n != 1 {
		t.Fatalf("eleven minutes later: %d failed (%v), want the reply", n, err)
	}
	var out struct {
		Data []struct {
			Status    string `json:"status"`
			ErrorCode string `json:"error_code"`
		} `json:"data"`
	}
	s.Do("GET", "/api/v1/messages?direction=outbound", c.APIKey, nil).JSON(t, &out)
	if len(out.Data) != 1 || out.Data[0].Status != "failed" || out.Data[0].ErrorCode != "reply_unconfirmed" {
		t.Errorf("the reply %+v", out.Data)
	}
	var bal struct {
		BalanceCents int64 `json:"balance_cents"`
	}
	if s.Do("GET", "/api/v1/balance", c.APIKey, nil).JSON(t, &bal); bal.BalanceCents != 10 {
		t.Errorf("balance %d, want 10: refunded", bal.BalanceCents)
	}
}
