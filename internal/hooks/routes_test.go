package hooks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/hooks"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// batch is an adapter whose requests carry comma-separated provider message ids, one message
// each; answer, when set, is what it wants its provider to get back.
type batch struct{ answer provider.Answer }

func (b batch) ParseInbound(r provider.Request) ([]provider.Inbound, provider.Answer, error) {
	var msgs []provider.Inbound
	for id := range strings.SplitSeq(string(r.Body), ",") {
		if id != "" {
			msgs = append(msgs, provider.Inbound{Provider: "fake", ProviderMessageID: id, From: "+15551234567", Body: "hi",
				Channel: model.ChannelSMS, Status: model.StatusReceived})
		}
	}
	return msgs, b.answer, nil
}

// guarded is a batch behind a verifier that answers err.
type guarded struct {
	batch
	err error
}

func (g guarded) Verify(provider.Request) error { return g.err }

// reports takes delivery reports only: one per request, about the id in the body.
type reports struct{}

func (reports) ParseStatus(r provider.Request) ([]provider.StatusUpdate, error) {
	return []provider.StatusUpdate{{ProviderMessageID: string(r.Body), Status: model.StatusDelivered}}, nil
}

// sink records the status reports it is given, by provider name.
type sink map[string][]provider.StatusUpdate

func (s sink) ApplyStatus(_ context.Context, name string, u []provider.StatusUpdate) error {
	s[name] = append(s[name], u...)
	return nil
}

func TestRoutesFollowWhatEachAdapterImplements(t *testing.T) {
	reg := provider.NewRegistry()
	reg.Add("two", "fake", batch{})
	reg.Add("twiml", "fake", batch{answer: provider.Answer{ContentType: "text/xml", Body: []byte("<Response/>")}})
	reg.Add("locked", "fake", guarded{err: provider.ErrBadSignature})
	reg.Add("garbled", "fake", guarded{err: provider.ErrMalformed})
	reg.Add("dlr", "fake", reports{})
	got := sink{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &hooks.Hooks{Inbound: &inbound.Service{Store: ibikitest.NewStore(t), Clock: time.Now, Log: log}, Providers: reg,
		Status: got, Log: log}
	mux := http.NewServeMux()
	h.Register(mux)
	post := func(path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader(body)))
		return w
	}
	answer := func(w *httptest.ResponseRecorder) string {
		return w.Header().Get("Content-Type") + " " + strings.TrimSpace(ids.ReplaceAllString(w.Body.String(), `"msg_…"`))
	}
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"a request carrying two messages is answered with both, in order", "/webhooks/two", "a,b", 200,
			`application/json; charset=utf-8 {"data":[{"id":"msg_…","duplicate":false},{"id":"msg_…","duplicate":false}]}`},
		{"a repeat of them is answered as duplicates", "/webhooks/two", "a,b", 200,
			`application/json; charset=utf-8 {"data":[{"id":"msg_…","duplicate":true},{"id":"msg_…","duplicate":true}]}`},
		{"a request carrying no message is answered with an empty list", "/webhooks/two", "", 200, `application/json; charset=utf-8 {"data":[]}`},
		{"an adapter's own answer is written as it is", "/webhooks/twiml", "c", 200, "text/xml <Response/>"},
		{"the message behind that answer was stored", "/webhooks/two", "c", 200,
			`application/json; charset=utf-8 {"id":"msg_…","duplicate":true}`},
		{"a refusing verifier stops the request before it is read", "/webhooks/locked", "d", 401,
			`application/json; charset=utf-8 {"error":{"code":"unauthorized","message":"the webhook token or signature is missing or wrong"}}`},
		{"nothing of a refused request was stored", "/webhooks/two", "d", 200, `application/json; charset=utf-8 {"id":"msg_…","duplicate":false}`},
		{"a request the verifier cannot read is a bad request", "/webhooks/garbled", "e", 400,
			`application/json; charset=utf-8 {"error":{"code":"invalid_payload","message":"malformed payload"}}`},
		{"an adapter without inbound parsing has no inbound route", "/webhooks/dlr", "f", 404, "text/plain; charset=utf-8 404 page not found"},
		{"an adapter's status reports reach the sink under its name", "/webhooks/dlr/status", "SM1", 200, `application/json; charset=utf-8 {"received":1}`},
		{"an adapter without status parsing takes no status reports", "/webhooks/two/status", "SM2", 404,
			`application/json; charset=utf-8 {"error":{"code":"not_found","message":"no configured provider of that name takes status callbacks"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := post(tt.path, tt.body)
			if w.Code != tt.status || answer(w) != tt.want {
				t.Errorf("answer %d %s\nwant %d %s", w.Code, answer(w), tt.status, tt.want)
			}
		})
	}
	if len(got) != 1 || len(got["dlr"]) != 1 || got["dlr"][0].ProviderMessageID != "SM1" {
		t.Errorf("the sink got %v", got)
	}
}

// ids matches the message ids in answers, which differ on every run.
var ids = regexp.MustCompile(`"msg_[0-9a-z]+"`)
