package hooks_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// seedPayload is the ExtremeSMS webhook of the seed conversation, with real-looking numbers and
// the business field carrying the client id, as operators tag their contacts.
func seedPayload(messageID string) map[string]any {
	return map[string]any{
		"from": "+15551234567", "firstname": "John", "lastname": "Doe", "business": "acme",
		"message": "I'm interested!", "status": "received", "matchedBlockWord": nil,
		"receiver": "+15557654321", "usedmodem": "3", "port": "12",
		"timestamp": "2025-09-23T23:23:20.887Z", "messageId": messageID,
	}
}

type accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// post sends a webhook with extra headers and returns the answer.
func post(t *testing.T, url string, body any, headers map[string]string) ibikitest.Response {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) ibikitest.Response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return ibikitest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func wantAccepted(t *testing.T, res ibikitest.Response, dup bool) accepted {
	t.Helper()
	var a accepted
	if res.JSON(t, &a); res.Status != http.StatusOK || a.ID == "" || a.Duplicate != dup {
		t.Fatalf("answer %d %s, want 200 with duplicate %v", res.Status, res.Body, dup)
	}
	var keys map[string]any
	res.JSON(t, &keys)
	if len(keys) != 2 {
		t.Errorf("answer %s has more than id and duplicate", res.Body)
	}
	return a
}

// wantErr checks the error shape {"error":{"code","message"[,"param"]}} with code and param.
func wantErr(t *testing.T, res ibikitest.Response, status int, code, param string) {
	t.Helper()
	var top map[string]map[string]any
	res.JSON(t, &top)
	e := top["error"]
	if res.Status != status || e["code"] != code || e["message"] == "" || (param == "" && e["param"] != nil) ||
		(param != "" && e["param"] != param) {
		t.Fatalf("answer %d %s, want %d with code %q and param %q", res.Status, res.Body, status, code, param)
	}
	delete(e, "code")
	delete(e, "message")
	delete(e, "param")
	if len(top) != 1 || len(e) != 0 {
		t.Errorf("error answer %s has more than error.code, message and param", res.Body)
	}
}

// events returns the message ids of the events a receiver got, in order.
func events(t *testing.T, got []ibikitest.Received) []string {
	t.Helper()
	var out []string
	for _, r := range got {
		var ev struct {
			Data struct {
				ID       string `json:"id"`
				RoutedBy string `json:"routed_by"`
				Provider string `json:"provider"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatalf("delivery %s: %v", r.Body, err)
		}
		out = append(out, ev.Data.ID+"/"+ev.Data.Provider+"/"+ev.Data.RoutedBy)
	}
	return out
}

func TestExtremeSMSWebhookIsIdempotent(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	s.CreateClient("acme", rcv.URL)

	first := wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("68d32be5acc9914eed77720d"), nil), false)
	t.Run("the same payload again is a duplicate of the first", func(t *testing.T) {
		again := wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("68d32be5acc9914eed77720d"), nil), true)
		if again.ID != first.ID {
			t.Errorf("duplicate answered id %s, want %s", again.ID, first.ID)
		}
	})
	t.Run("the seed URL is an alias of the same source", func(t *testing.T) {
		wantAccepted(t, post(t, s.URL+"/webhook/incoming-sms", seedPayload("68d32be5acc9914eed77720d"), nil), true)
	})
	var alias, barrier accepted
	t.Run("the seed URL accepts a new message", func(t *testing.T) {
		alias = wantAccepted(t, post(t, s.URL+"/webhook/incoming-sms", seedPayload("via-alias"), nil), false)
	})
	// The barrier comes from the same phone, so it is routed and delivered after anything the
	// earlier posts queued: once it arrives, a second delivery of the first would have too.
	barrier = wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("barrier"), nil), false)
	got := rcv.WaitFor(t, 3)
	want := []string{first.ID + "/extremesms/business", alias.ID + "/extremesms/business", barrier.ID + "/extremesms/business"}
	if g := events(t, got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Errorf("receiver got %v, want exactly %v", g, want)
	}
}

func TestConcurrentRetriesOfOneWebhookStoreOneMessage(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	s.CreateClient("acme", rcv.URL)
	const n = 20
	answers := make(chan ibikitest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		path := []string{"/webhooks/extremesms", "/webhook/incoming-sms"}[i%2]
		wg.Go(func() { answers <- post(t, s.URL+path, seedPayload("burst"), nil) })
	}
	wg.Wait()
	close(answers)
	first, ids := 0, map[string]bool{}
	for res := range answers {
		var a accepted
		if res.JSON(t, &a); res.Status != http.StatusOK {
			t.Fatalf("answer %d %s", res.Status, res.Body)
		}
		ids[a.ID] = true
		if !a.Duplicate {
			first++
		}
	}
	if first != 1 || len(ids) != 1 {
		t.Errorf("%d answers were not duplicates and %d ids were given; want 1 and 1", first, len(ids))
	}
	barrier := wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("after-burst"), nil), false)
	got := events(t, rcv.WaitFor(t, 2))
	if len(got) != 2 || !strings.HasPrefix(got[1], barrier.ID) {
		t.Errorf("receiver got %v, want the message once, then %s", got, barrier.ID)
	}
}

func TestExtremeSMSWebhookRefusesBadPayloads(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	without := func(field string) map[string]any { p := seedPayload("x"); delete(p, field); return p }
	with := func(field string, v any) map[string]any { p := seedPayload("x"); p[field] = v; return p }
	for _, tt := range []struct {
		name        string
		body        any
		code, param string
	}{
		{"a missing sender names from", without("from"), "invalid_field", "from"},
		{"a sender that is not a phone names from", with("from", "hello"), "invalid_field", "from"},
		{"a missing message names message", without("message"), "invalid_field", "message"},
		{"a message that is not text names message", with("message", 42), "invalid_field", "message"},
		{"an unknown status names status", with("status", "maybe"), "invalid_field", "status"},
		{"a timestamp that is not a time names timestamp", with("timestamp", "yesterday"), "invalid_field", "timestamp"},
		{"a receiver that is not a number names receiver", with("receiver", "nowhere"), "invalid_field", "receiver"},
		{"a body that is not JSON is an invalid payload", []byte("from=+15551234567&message=hi"), "invalid_payload", ""},
		{"a JSON array is an invalid payload", []byte(`[{"from":"+15551234567","message":"hi"}]`), "invalid_payload", ""},
		{"an empty body is an invalid payload", []byte(""), "invalid_payload", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, post(t, s.URL+"/webhooks/extremesms", tt.body, nil), http.StatusBadRequest, tt.code, tt.param)
		})
	}
	t.Run("nothing refused was stored", func(t *testing.T) {
		var page struct{ Data []any }
		s.Do("GET", "/admin/v1/unrouted", ibikitest.AdminToken, nil).JSON(t, &page)
		if len(page.Data) != 0 {
			t.Errorf("refused payloads were stored: %v", page.Data)
		}
	})
}

func TestWebhookBodyLimit(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_MAX_BODY_BYTES": "1024"})
	big := seedPayload("big")
	big["message"] = strings.Repeat("a", 2000)
	b, _ := json.Marshal(big)
	t.Run("a body over the limit with its length announced is 413", func(t *testing.T) {
		wantErr(t, post(t, s.URL+"/webhooks/extremesms", b, nil), http.StatusRequestEntityTooLarge, "body_too_large", "")
	})
	t.Run("a chunked body over the limit is 413", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.URL+"/webhooks/extremesms", io.MultiReader(bytes.NewReader(b)))
		req.ContentLength = -1
		wantErr(t, send(t, req), http.StatusRequestEntityTooLarge, "body_too_large", "")
	})
	t.Run("a body under the limit is accepted", func(t *testing.T) {
		wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("small"), nil), false)
	})
}

func hexHMAC(key string, b []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(b)
	return hex.EncodeToString(mac.Sum(nil))
}

func b64HMAC(key string, b []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(b)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSourceProtection(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{
		"IBIKI_SOURCE_EXTREMESMS_TOKEN":    "s3cret",
		"IBIKI_SOURCE_GENERIC_HMAC_SECRET": "k3y",
	})
	n := 0 // every payload is a new message, so none is answered as a duplicate
	payload := func() []byte {
		n++
		b, _ := json.Marshal(seedPayload(fmt.Sprintf("p-%d", n)))
		return b
	}
	generic := func() []byte {
		n++
		return fmt.Appendf(nil, `{"message_id":"g-%d","from":"+15551234567","body":"hi"}`, n)
	}
	gb, gb2 := generic(), generic()
	for _, tt := range []struct {
		name, path string
		body       []byte
		headers    map[string]string
		status     int
	}{
		{"the token in X-Webhook-Token is accepted", "/webhooks/extremesms", payload(), map[string]string{"X-Webhook-Token": "s3cret"}, 200},
		{"the token in ?token= is accepted", "/webhooks/extremesms?token=s3cret", payload(), nil, 200},
		{"the token protects the alias too", "/webhook/incoming-sms", payload(), nil, 401},
		{"a missing token is refused", "/webhooks/extremesms", payload(), nil, 401},
		{"a wrong token in the header is refused", "/webhooks/extremesms", payload(), map[string]string{"X-Webhook-Token": "s3cre"}, 401},
		{"a wrong token in the query is refused", "/webhooks/extremesms?token=S3CRET", payload(), nil, 401},
		{"a hex HMAC of the body is accepted", "/webhooks/generic", gb, map[string]string{"X-Signature": hexHMAC("k3y", gb)}, 200},
		{"a prefixed base64 HMAC is accepted", "/webhooks/generic", gb2, map[string]string{"X-Signature": "sha256=" + b64HMAC("k3y", gb2)}, 200},
		{"a missing signature is refused", "/webhooks/generic", generic(), nil, 401},
		{"a signature with the wrong key is refused", "/webhooks/generic", gb, map[string]string{"X-Signature": hexHMAC("key", gb)}, 401},
		{"a signature of another body is refused", "/webhooks/generic", generic(), map[string]string{"X-Signature": hexHMAC("k3y", gb)}, 401},
		{"the token of one source does not open another", "/webhooks/generic?token=s3cret", generic(), nil, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, s.URL+tt.path, tt.body, tt.headers)
			if tt.status == 200 {
				wantAccepted(t, res, false)
				return
			}
			wantErr(t, res, tt.status, "unauthorized", "")
		})
	}

	t.Run("an IP allow list refuses other callers", func(t *testing.T) {
		s := ibikitest.NewServer(t, map[string]string{"IBIKI_SOURCE_EXTREMESMS_ALLOW_IPS": "10.9.9.9"})
		wantErr(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("ip"), nil), http.StatusForbidden, "forbidden", "")
		// Without trusted proxies, a forwarded-for header is not believed.
		wantErr(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("ip"), map[string]string{"X-Forwarded-For": "10.9.9.9"}),
			http.StatusForbidden, "forbidden", "")
		// The other source has no allow list.
		wantAccepted(t, post(t, s.URL+"/webhooks/generic", []byte(`{"message_id":"ok","from":"+15551234567","body":"hi"}`), nil), false)
	})
	t.Run("behind a trusted proxy the forwarded caller is checked", func(t *testing.T) {
		s := ibikitest.NewServer(t, map[string]string{"IBIKI_SOURCE_EXTREMESMS_ALLOW_IPS": "10.9.9.9",
			"IBIKI_TRUSTED_PROXIES": "127.0.0.0/8"})
		wantAccepted(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("fwd-1"), map[string]string{"X-Forwarded-For": "10.9.9.9"}), false)
		wantErr(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("fwd-2"), map[string]string{"X-Forwarded-For": "10.9.9.9, 10.9.9.8"}),
			http.StatusForbidden, "forbidden", "")
		wantErr(t, post(t, s.URL+"/webhooks/extremesms", seedPayload("fwd-3"), nil), http.StatusForbidden, "forbidden", "")
	})
}

func TestGenericWebhook(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	s.CreateClient("acme", rcv.URL)
	p := map[string]any{
		"message_id": "gen-1", "from": "+15551234567", "to": "+15557654321", "body": "hello there",
		"timestamp": "2025-09-23T23:23:20Z", "channel": "sms", "status": "received", "business": "acme",
		"first_name": "Ann", "last_name": "Lee", "meta": map[string]string{"campaign": "spring"},
	}
	a := wantAccepted(t, post(t, s.URL+"/webhooks/generic", p, nil), false)
	var ev struct {
		Data struct {
			ID, From, To, Body, Provider, Channel, Status string
			ProviderMessageID                             string `json:"provider_message_id"`
			RoutedBy                                      string `json:"routed_by"`
			Contact                                       struct {
				FirstName string `json:"first_name"`
			} `json:"contact"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rcv.WaitFor(t, 1)[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if d.ID != a.ID || d.From != "+15551234567" || d.To != "+15557654321" || d.Body != "hello there" || d.Provider != "generic" ||
		d.Channel != "sms" || d.ProviderMessageID != "gen-1" || d.RoutedBy != "business" || d.Contact.FirstName != "Ann" {
		t.Errorf("delivered %+v", d)
	}
	t.Run("the same message id again is a duplicate", func(t *testing.T) {
		wantAccepted(t, post(t, s.URL+"/webhooks/generic", p, nil), true)
	})
	for _, tt := range []struct{ name, field string }{
		{"a missing body names body", "body"},
		{"a channel other than sms names channel", "channel"},
		{"meta that is not an object of strings names meta", "meta"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := map[string]any{"from": "+15551234567", "body": "x"}
			switch tt.field {
			case "body":
				delete(bad, "body")
			case "channel":
				bad["channel"] = "pigeon"
			case "meta":
				bad["meta"] = []int{1}
			}
			wantErr(t, post(t, s.URL+"/webhooks/generic", bad, nil), http.StatusBadRequest, "invalid_field", tt.field)
		})
	}
}
