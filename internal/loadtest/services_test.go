package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The services bench against a fake Ibiki that never answers one message and answers another
// twice: the report counts each and is not OK; the answers carry the messages' tokens.
func TestServicesCountsWhatHappened(t *testing.T) {
	sink, err := ListenServiceSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	var (
		mu      sync.Mutex
		hookURL string
		n       int
		texts   []string
	)
	post := func(url string, v any) {
		body, _ := json.Marshal(v)
		res, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		res.Body.Close()
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v1/clients":
			var in struct {
				WebhookURL string `json:"webhook_url"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			mu.Lock()
			hookURL = in.WebhookURL
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"api_key":"k"}`)
		case "/admin/v1/clients/bench-test/credits":
			io.WriteString(w, `{}`)
		case "/admin/v1/numbers", "/api/v1/services":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{}`)
		case "/webhooks/extremesms":
			var in struct {
				MessageID string `json:"messageId"`
				Message   string `json:"message"`
				Receiver  string `json:"receiver"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			mu.Lock()
			n++
			k := n
			texts = append(texts, in.Message)
			mu.Unlock()
			io.WriteString(w, `{"id":"m"}`)
			if in.Receiver != "57675" {
				t.Errorf("message to %q, want the short code", in.Receiver)
			}
			_, words, _ := strings.Cut(in.Message, " ")
			answer := map[string]string{"to": "+15550000001", "from": "57675", "text": "Balance for " + words + ": 120 INR."}
			switch k {
			case 1: // never answered
			case 2: // answered twice
				post(sink.URL(), answer)
				post(sink.URL(), answer)
			default:
				post(sink.URL(), answer)
			}
			post(hookURL, map[string]any{"type": "message.received", "data": map[string]string{"provider_message_id": in.MessageID}})
			post(hookURL, map[string]any{"type": "message.status", "data": map[string]string{"status": "sent"}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fake.Close)
	rep, err := Services(context.Background(), Options{URL: fake.URL, AdminToken: "t", Connections: 1, Rate: 50,
		Duration: 200 * time.Millisecond, Phones: 10, Drain: 300 * time.Millisecond, ReceiverAddr: "127.0.0.1:0",
		Client: "bench-test", Log: io.Discard}, ServicesOptions{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 6 {
		t.Fatalf("sent %d, want at least 6 at 50/s for 200 ms", rep.Sent)
	}
	type counts struct{ Sent, Accepted, Answered, Twice, Unanswered, Delivered, Events int64 }
	want := counts{rep.Sent, rep.Sent, rep.Sent - 1, 1, 1, rep.Sent, rep.Sent}
	got := counts{rep.Sent, rep.Accepted, rep.Answered, rep.AnsweredTwice, rep.Unanswered, rep.Delivered, rep.Events}
	if got != want || rep.OK() {
		t.Errorf("report %+v (OK %v), want %+v and not OK", got, rep.OK(), want)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, text := range texts { // message n names the command n % 4 and its token
		kw, token, _ := strings.Cut(text, " ")
		if !strings.EqualFold(kw, ServiceCommands[(i+1)%len(ServiceCommands)].Keyword) || !strings.HasSuffix(token, "-"+strconv.Itoa(i+1)) {
			t.Errorf("message %d: %q", i+1, text)
		}
	}
}
