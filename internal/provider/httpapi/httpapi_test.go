package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/extremesms"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

type seen struct {
	header http.Header
	body   string
	path   string
}

func fake(t *testing.T, status int, answer string, got *seen) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{header: r.Header.Clone(), body: string(b), path: r.URL.Path}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExtremeSMSDefaults(t *testing.T) {
	var got seen
	srv := fake(t, 200, `{"message_id":"68d32be5acc9914eed77720d","carrier_number":"+15550009"}`, &got)
	c, err := extremesms.NewSender(extremesms.SendConfig{BaseURL: srv.URL, APIKey: "k-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), provider.Outbound{MessageID: "msg_1", To: "+15550002", Body: "hi there"})
	if err != nil || res.ProviderMessageID != "68d32be5acc9914eed77720d" || res.From != "+15550009" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	var body map[string]string
	_ = json.Unmarshal([]byte(got.body), &body)
	if got.path != "/send" || got.header.Get("Authorization") != "Bearer k-1" || len(body) != 2 ||
		body["to"] != "+15550002" || body["message"] != "hi there" {
		t.Errorf("request %s %v %s", got.path, got.header, got.body)
	}
	if c.Capabilities().ChooseSender || c.Capabilities().Idempotent {
		t.Errorf("capabilities = %+v: the pool picks the number and repeats are not recognised", c.Capabilities())
	}

	t.Run("field names are configuration", func(t *testing.T) {
		c, _ := extremesms.NewSender(extremesms.SendConfig{BaseURL: srv.URL, APIKey: "k", Path: "/v2/sms", ToField: "phone",
			MessageField: "text", FromField: "sender", IDField: "id"}, nil)
		if _, err := c.Send(context.Background(), provider.Outbound{To: "+15550002", From: "+15550001", Body: "b"}); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(got.body), &body)
		if got.path != "/v2/sms" || body["phone"] != "+15550002" || body["text"] != "b" || body["sender"] != "+15550001" || !c.Capabilities().ChooseSender {
			t.Errorf("request %s %s", got.path, got.body)
		}
	})
}

func TestGenericFormAdapter(t *testing.T) {
	var got seen
	srv := fake(t, 202, `{"data":{"messages":[{"id":12345}]}}`, &got)
	c, err := httpapi.New(httpapi.Config{URL: srv.URL + "/api/send", Format: "form",
		Body:    map[string]string{"dst": "{to}", "src": "{from}", "text": "{body}", "ref": "{id}"},
		Headers: map[string]string{"X-Auth": "secret"}, IDPath: "data.messages.0.id", IdempotencyHeader: "Idempotency-Key",
		ChooseSender: true, Rate: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), provider.Outbound{MessageID: "msg_9", To: "+15550002", From: "", Body: "a&b"})
	if err != nil || res.ProviderMessageID != "12345" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	form, _ := url.ParseQuery(got.body)
	if form.Get("dst") != "+15550002" || form.Get("text") != "a&b" || form.Get("ref") != "msg_9" || form.Has("src") {
		t.Errorf("form = %v (src must be left out when the provider chooses)", form)
	}
	if got.header.Get("X-Auth") != "secret" || got.header.Get("Idempotency-Key") != "msg_9" {
		t.Errorf("headers = %v", got.header)
	}
	if caps := c.Capabilities(); !caps.Idempotent || !caps.ChooseSender || caps.MaxPerSecond != 20 {
		t.Errorf("capabilities = %+v", caps)
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		status    int
		permanent bool
		ok        bool
	}{{200, false, true}, {201, false, true}, {400, true, false}, {404, true, false}, {422, true, false},
		{401, false, false}, {403, false, false}, {408, false, false}, {429, false, false}, {500, false, false}, {503, false, false}} {
		var got seen
		srv := fake(t, tt.status, `{"error":"x"}`, &got)
		c, _ := httpapi.New(httpapi.Config{URL: srv.URL}, nil)
		_, err := c.Send(context.Background(), provider.Outbound{To: "+1", Body: "b"})
		var se *provider.SendError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%d: %v", tt.status, err)
		case !tt.ok && (!errors.As(err, &se) || se.Permanent != tt.permanent):
			t.Errorf("%d: %#v, want permanent=%v", tt.status, err, tt.permanent)
		}
	}
	t.Run("a refused connection never sent anything: retried", func(t *testing.T) {
		c, _ := httpapi.New(httpapi.Config{URL: "http://127.0.0.1:1/send"}, nil)
		_, err := c.Send(context.Background(), provider.Outbound{To: "+1", Body: "b"})
		var se *provider.SendError
		if !errors.As(err, &se) || se.Permanent || se.Code != "unreachable" {
			t.Errorf("error = %#v", err)
		}
	})
	t.Run("a connection dropped after the request may have delivered it: in doubt", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}))
		defer srv.Close()
		c, _ := httpapi.New(httpapi.Config{URL: srv.URL}, nil)
		_, err := c.Send(context.Background(), provider.Outbound{To: "+1", Body: "b"})
		var se *provider.SendError
		if err == nil || errors.As(err, &se) {
			t.Errorf("error = %#v, want a plain error (in doubt)", err)
		}
	})
	t.Run("status reports need a token", func(t *testing.T) {
		if _, err := httpapi.New(httpapi.Config{URL: "http://x", Status: httpapi.StatusConfig{IDPath: "id", StatusPath: "s"}}, nil); err == nil {
			t.Errorf("a status config without a token is accepted")
		}
	})
	t.Run("a status mapping needs both the id and the status path", func(t *testing.T) {
		for _, st := range []httpapi.StatusConfig{{Token: "t", IDPath: "id"}, {Token: "t", StatusPath: "s"}} {
			if _, err := httpapi.New(httpapi.Config{URL: "http://x", Status: st}, nil); err == nil {
				t.Errorf("half a status mapping %+v is accepted (every report would fail)", st)
			}
		}
	})
}

func TestStatusReports(t *testing.T) {
	c, err := httpapi.New(httpapi.Config{URL: "http://127.0.0.1/x", Status: httpapi.StatusConfig{Token: "tok",
		IDPath: "msgid", StatusPath: "stat", ErrorPath: "err",
		Map: map[string]string{"DELIVRD": "delivered", "UNDELIV": "undelivered", "REJECTD": "failed"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := `[{"msgid":"1","stat":"delivrd"},{"msgid":"2","stat":"UNDELIV","err":"005"},{"msgid":"3","stat":"ENROUTE"}]`
	status := func(target string) ([]provider.StatusUpdate, error) {
		r := provider.Request{HTTP: httptest.NewRequest("POST", target, strings.NewReader(body)), Body: []byte(body), Status: true}
		if err := c.Verify(r); err != nil {
			return nil, err
		}
		return c.ParseStatus(r)
	}
	ups, err := status("/webhooks/agg/status?token=tok")
	if err != nil || len(ups) != 2 || ups[0].Status != model.StatusDelivered || ups[1].ErrorCode != "005" {
		t.Errorf("ParseStatus = %+v, %v", ups, err)
	}
	if _, err := status("/webhooks/agg/status?token=bad"); !errors.Is(err, provider.ErrUnauthorized) {
		t.Errorf("bad token: %v", err)
	}
	if _, err := httpapi.New(httpapi.Config{URL: "http://x", Status: httpapi.StatusConfig{Map: map[string]string{"A": "lost"}}}, nil); err == nil {
		t.Errorf("a status map to an unknown status is accepted")
	}
	if _, err := httpapi.New(httpapi.Config{URL: "ftp://x"}, nil); err == nil {
		t.Errorf("an ftp URL is accepted")
	}
}

func TestFromEntryTakesStatusCallbacksOnlyWhenMapped(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   provider.Features
	}{
		{"an aggregator without a status mapping only sends", `{"url":"https://agg.example/sms"}`, provider.FeatureSend},
		{"an aggregator with a status mapping takes verified reports too",
			`{"url":"https://agg.example/sms","status":{"token":"t","id_path":"id","status_path":"s"}}`,
			provider.FeatureSend | provider.FeatureStatus | provider.FeatureVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := httpapi.FromEntry(provider.Entry{Name: "agg", Type: "http", Fields: json.RawMessage(tt.fields)}, provider.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if got := provider.Implemented(a); got != tt.want {
				t.Errorf("features %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("the entry's protection comes before the status token", func(t *testing.T) {
		a, err := httpapi.FromEntry(provider.Entry{Name: "agg", Type: "http", Guard: provider.Guard{Token: "entry", TokenHeader: "X-Entry"},
			Fields: json.RawMessage(`{"url":"https://agg.example/sms","status":{"token":"t","id_path":"id","status_path":"s"}}`)}, provider.Env{})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/webhooks/agg/status?token=t", nil)
		if err := a.(provider.Verifier).Verify(provider.Request{HTTP: r, Status: true}); !errors.Is(err, provider.ErrBadToken) {
			t.Errorf("Verify without the entry's token = %v", err)
		}
		r.Header.Set("X-Entry", "entry")
		if err := a.(provider.Verifier).Verify(provider.Request{HTTP: r, Status: true}); err != nil {
			t.Errorf("Verify with both tokens = %v", err)
		}
	})
}

// The request body a template makes is what json.Marshal makes of the fields as a map, each
// value the template with strings.Replacer's replacements, and in form format what url.Values
// encodes (the adapter's first implementation, here the oracle).
func TestBodyTemplatesFillAsTheReplacerDid(t *testing.T) {
	templates := []map[string]string{
		{"to": "{to}", "message": "{body}"},
		{"dst": "{to}", "src": "{from}", "text": "{body}", "ref": "{id}"},
		{"text": "Ibiki: {body} (ref {id})", "to": "+{to}{to}", "x": "{unknown} {from", "y": "{", "z": "}{body}{"},
		{"<b>": "a&b <{body}>", "ünï": "{to}—{id}", "empty": ""},
		{"to": "{to}", "text": "{body}", "tid": "{dlt_template_id}", "pe": "{dlt_entity_id}", "both": "{dlt_entity_id}/{dlt_template_id}{dlt_}"},
	}
	messages := []provider.Outbound{
		{MessageID: "msg_1", To: "+15550002", From: "+15550001", Body: "hi there"},
		{MessageID: "msg_2", To: "+15550002", Body: "quotes \" and \\ and <tags> & {to} and 😀\n"},
		{MessageID: "msg_3", To: "+919812345678", From: "ACMEIN", Body: "Your OTP is 1234", DLTTemplateID: "1107161234567890123", DLTEntityID: "1201159876543210987"},
	}
	for _, tmpl := range templates {
		for _, format := range []string{"json", "form"} {
			for _, m := range messages {
				var got seen
				srv := fake(t, 200, `{}`, &got)
				c, err := httpapi.New(httpapi.Config{URL: srv.URL, Format: format, Body: tmpl}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Send(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				fill := strings.NewReplacer("{to}", m.To, "{from}", m.From, "{body}", m.Body, "{id}", m.MessageID,
					"{dlt_template_id}", m.DLTTemplateID, "{dlt_entity_id}", m.DLTEntityID)
				want := map[string]string{}
				for k, v := range tmpl {
					if v == "{from}" && m.From == "" {
						continue
					}
					want[k] = fill.Replace(v)
				}
				var wantBody string
				if format == "json" {
					b, _ := json.Marshal(want)
					wantBody = string(b)
				} else {
					v := url.Values{}
					for k, s := range want {
						v.Set(k, s)
					}
					wantBody = v.Encode()
				}
				if got.body != wantBody {
					t.Errorf("%s %v with %+v:\n got %s\nwant %s", format, tmpl, m, got.body, wantBody)
				}
			}
		}
	}
}
