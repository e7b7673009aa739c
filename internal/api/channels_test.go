package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// A message on WhatsApp, or with media, goes through a provider that carries them (Twilio),
// from a number of that provider; a provider that does not carry them refuses the send with a
// 422 naming the field, before anything is charged.
func TestSendOnChannels(t *testing.T) {
	const sid, token = "AC00000000000000000000000000000002", "0123456789abcdef0123456789abcdef"
	var (
		mu   sync.Mutex
		sent []url.Values
	)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(b))
		mu.Lock()
		sent = append(sent, f)
		n := len(sent)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM000`+string(rune('0'+n))+`","status":"queued","from":"`+f.Get("From")+`"}`)
	}))
	defer fake.Close()
	file := writeFile(t, `{"default":"sim","providers":[
		{"name":"tw","type":"twilio","account_sid":"`+sid+`","auth_token":"`+token+`","base_url":"`+fake.URL+`"},
		{"name":"sim","type":"simulator","latency":"1ms"}]}`)
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
	topUp(t, s, "acme", 100)
	topUp(t, s, "globex", 100)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000041", "provider": "sim", "client_id": "globex"}, http.StatusCreated)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000042", "provider": "tw", "client_id": "acme"}, http.StatusCreated)

	t.Run("a provider that does not carry WhatsApp refuses it, and nothing is charged", func(t *testing.T) {
		before := getBalance(t, s, globex.APIKey)
		wantError(t, s.Do("POST", "/api/v1/messages", globex.APIKey, map[string]any{"to": "+15552080001", "body": "hi", "channel": "whatsapp"}),
			http.StatusUnprocessableEntity, "channel_not_supported", "channel")
		wantError(t, s.Do("POST", "/api/v1/messages", globex.APIKey, map[string]any{"to": "+15552080001", "body": "hi",
			"media_urls": []string{"https://example.com/a.jpg"}}), http.StatusUnprocessableEntity, "media_not_supported", "media_urls")
		wantError(t, s.Do("POST", "/api/v1/messages", globex.APIKey, map[string]any{"to": "+15552080001", "body": "hi", "channel": "whatsapp",
			"from": "+15550000041"}), http.StatusUnprocessableEntity, "channel_not_supported", "channel")
		var bulk bulkAnswer
		mustDo(t, s, "POST", "/api/v1/messages/bulk", globex.APIKey, map[string]any{"messages": []map[string]string{
			{"to": "whatsapp:+15552080009", "body": "hi"}}}, http.StatusUnprocessableEntity).JSON(t, &bulk)
		if bulk.Accepted != 0 || len(bulk.Errors) != 1 || bulk.Errors[0].Code != "channel_not_supported" || bulk.CostCents != 0 {
			t.Errorf("a WhatsApp item of a bulk send: %+v", bulk)
		}
		if after := getBalance(t, s, globex.APIKey); after != before {
			t.Errorf("balance %+v, then %+v", before, after)
		}
	})
	t.Run("bad channels and media are refused naming the field", func(t *testing.T) {
		for _, tc := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{"to": "+15552080001", "body": "hi", "channel": "voice"}, "channel"},
			{map[string]any{"to": "+15552080001", "body": "hi", "channel": "fax"}, "channel"},
			{map[string]any{"to": "whatsapp:+15552080001", "body": "hi", "channel": "sms"}, "channel"},
			{map[string]any{"to": "+15552080001", "body": "hi", "media_urls": []string{"javascript:alert(1)"}}, "media_urls[0]"},
			{map[string]any{"to": "+15552080001", "body": "hi", "media_urls": []string{"https://a.example/1", "/relative"}}, "media_urls[1]"},
			{map[string]any{"to": "+15552080001", "body": "hi", "media_urls": strings.Split(strings.Repeat("https://a.example/x,", 11), ",")[:11]}, "media_urls"},
			{map[string]any{"to": "+15552080001", "body": " "}, "body"},
		} {
			wantError(t, s.Do("POST", "/api/v1/messages", acme.APIKey, tc.body), http.StatusBadRequest, "invalid_field", tc.param)
		}
	})
	t.Run("WhatsApp goes through the provider that carries it, with whatsapp: addresses", func(t *testing.T) {
		m := sendMessage(t, s, acme.APIKey, map[string]any{"to": "whatsapp:+15552080001", "body": "hola",
			"media_urls": []string{"https://example.com/a.jpg", "https://example.com/b.pdf"}})
		if m.Provider != "tw" || m.From != "+15550000042" || m.Channel != "whatsapp" {
			t.Fatalf("answer = %+v", m)
		}
		got := waitStatus(t, s, acme.APIKey, m.ID, "sent")
		if got.From != "+15550000042" {
			t.Errorf("from %q after the send: the whatsapp: prefix Twilio answers with should go", got.From)
		}
		mu.Lock()
		f := sent[len(sent)-1]
		mu.Unlock()
		if f.Get("To") != "whatsapp:+15552080001" || f.Get("From") != "whatsapp:+15550000042" || f.Get("Body") != "hola" ||
			strings.Join(f["MediaUrl"], " ") != "https://example.com/a.jpg https://example.com/b.pdf" {
			t.Errorf("Twilio got %v", f)
		}
	})
	t.Run("an MMS without text is one message, charged as one", func(t *testing.T) {
		before := getBalance(t, s, acme.APIKey)
		m := sendMessage(t, s, acme.APIKey, map[string]any{"to": "+15552080002", "body": "", "from": "+15550000042",
			"media_urls": []string{"https://example.com/c.png"}})
		waitStatus(t, s, acme.APIKey, m.ID, "sent")
		mu.Lock()
		f := sent[len(sent)-1]
		mu.Unlock()
		if f.Get("To") != "+15552080002" || f.Has("Body") || f.Get("MediaUrl") != "https://example.com/c.png" {
			t.Errorf("Twilio got %v", f)
		}
		if after := getBalance(t, s, acme.APIKey); after.BalanceCents != before.BalanceCents-1 {
			t.Errorf("balance %d, then %d: want one segment charged", before.BalanceCents, after.BalanceCents)
		}
	})
	t.Run("the reply endpoint finds the WhatsApp conversation by its channel", func(t *testing.T) {
		mustDo(t, s, "POST", "/api/v1/conversations/+15552080001/messages", acme.APIKey, map[string]any{"body": "again", "channel": "whatsapp"}, http.StatusAccepted)
		wantError(t, s.Do("POST", "/api/v1/conversations/+15552080001/messages", acme.APIKey, map[string]any{"body": "sms?"}), http.StatusNotFound, "not_found", "")
	})
	t.Run("lists filter by channel", func(t *testing.T) {
		count := func(path string) int {
			var page struct {
				Data []map[string]any `json:"data"`
			}
			mustDo(t, s, "GET", path, acme.APIKey, nil, http.StatusOK).JSON(t, &page)
			for _, d := range page.Data {
				if ch, ok := d["channel"]; ok && strings.Contains(path, "channel=") && !strings.Contains(path, "channel="+ch.(string)) {
					t.Errorf("%s lists %v", path, d)
				}
			}
			return len(page.Data)
		}
		for path, want := range map[string]int{
			"/api/v1/conversations?channel=whatsapp":                         1,
			"/api/v1/conversations?channel=sms":                              1,
			"/api/v1/conversations":                                          2,
			"/api/v1/messages?channel=whatsapp":                              2,
			"/api/v1/messages?channel=sms":                                   1,
			"/api/v1/conversations/%2B15552080001/messages?channel=whatsapp": 2,
			"/api/v1/messages?channel=voice":                                 0,
		} {
			if got := count(path); got != want {
				t.Errorf("%s lists %d, want %d", path, got, want)
			}
		}
		for _, path := range []string{"/api/v1/conversations?channel=fax", "/api/v1/messages?channel=SMS", "/api/v1/conversations/%2B15552080001/messages?channel=x"} {
			wantError(t, s.Do("GET", path, acme.APIKey, nil), http.StatusBadRequest, "invalid_field", "channel")
		}
	})
}
