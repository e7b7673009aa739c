package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// seedService is the example of docs/examples/short-code-service.json (the seed's register,
// balance and support services), its balance callout pointed at url.
func seedService(t *testing.T, url string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../docs/examples/short-code-service.json")
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "https://example.com/balance", url, 1))
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("the docs' example is not JSON: %v", err)
	}
	return spec
}

// balanceEndpoint is a client's callout endpoint: it verifies Ibiki's signature with the
// Standard Webhooks library and answers the phone's balance, keeping a session count.
type balanceEndpoint struct {
	URL    string
	mu     sync.Mutex
	bodies []map[string]any
	bad    atomic.Int32 // calls whose signature did not verify
}

func newBalanceEndpoint(t *testing.T, secret string) *balanceEndpoint {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	e := &balanceEndpoint{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			e.bad.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		e.mu.Lock()
		e.bodies = append(e.bodies, in)
		e.mu.Unlock()
		calls := 1.0
		if s, ok := in["session"].(map[string]any); ok {
			calls += s["calls"].(float64)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"reply": "Your balance is 120 INR.", "session": map[string]any{"calls": calls}})
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL + "/balance"
	return e
}

func (e *balanceEndpoint) calls() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]map[string]any(nil), e.bodies...)
}

// shiftClock is a clock the test moves forward.
type shiftClock struct{ by atomic.Int64 }

func (c *shiftClock) now() time.Time          { return time.Now().Add(time.Duration(c.by.Load())) }
func (c *shiftClock) advance(d time.Duration) { c.by.Add(int64(d)) }

// serviceEvent is a client event about a message a service took.
type serviceEvent struct {
	Type string `json:"type"`
	Data struct {
		ID      string `json:"id"`
		Body    string `json:"body"`
		Service *struct {
			ID       string `json:"id"`
			Command  string `json:"command"`
			Flow     string `json:"flow"`
			Step     string `json:"step"`
			Handled  bool   `json:"handled"`
			Reason   string `json:"reason"`
			Response string `json:"response"`
			ReplyID  string `json:"reply_id"`
		} `json:"service"`
		Flow    string            `json:"flow"`
		Answers map[string]string `json:"answers"`
		Phone   string            `json:"phone"`
	} `json:"data"`
}

// events returns the events the receiver got of a type.
func events(r *ibikitest.Receiver, typ string) []serviceEvent {
	var out []serviceEvent
	for _, got := range r.Requests() {
		var ev serviceEvent
		if json.Unmarshal(got.Body, &ev) == nil && ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func TestSeedServicesOnTheDatabase(t *testing.T) { testSeedServices(t, nil) }

func TestSeedServicesOnRedis(t *testing.T) {
	testSeedServices(t, map[string]string{"IBIKI_REDIS_URL": ibikitest.RedisURL(t)})
}

// The seed's three services end to end through the simulator: "1" registers (the name goes on
// the contact), "BAL" calls the client's endpoint (signed) and answers its balance, "2" opens a
// support ticket (flow.completed at the client's webhook); EXIT leaves a flow; an expired
// session starts afresh; an invalid option answers the menu; a phone over the rate limit is not
// answered, and its event says why. Every answer comes from the short code, charged.
func testSeedServices(t *testing.T, env map[string]string) {
	s := ibikitest.NewServer(t, env)
	clock := &shiftClock{}
	s.App.Services.Clock = clock.now
	hook := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", hook.URL)
	topUp(t, s, "acme", 1000)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "57675", "client_id": "acme"}, http.StatusCreated)
	bal := newBalanceEndpoint(t, acme.WebhookSecret)
	var svc struct {
		ID     string `json:"id"`
		Number string `json:"number"`
	}
	mustDo(t, s, "POST", "/api/v1/services", acme.APIKey, seedService(t, bal.URL), http.StatusCreated).JSON(t, &svc)
	if svc.Number != "57675" {
		t.Fatalf("service %+v", svc)
	}
	// say sends body from phone to the short code and waits for the n-th answer to phone.
	say := func(phone, body string, n int) string {
		t.Helper()
		simulate(t, s, phone, "57675", body)
		var got []string
		eventually(t, "answer "+strconv.Itoa(n)+" to "+phone+" ("+body+")", func() bool {
			got = outboundTo(t, s, acme.APIKey, phone)
			return len(got) >= n
		})
		return got[0] // newest first
	}
	const asha = "+919876543210"
	t.Run("register", func(t *testing.T) {
		if got := say(asha, "1", 1); got != "Reply with your full name to register" {
			t.Fatalf("prompt %q", got)
		}
		if got := say(asha, "Asha Verma", 2); got != "Thanks Asha! You are registered." {
			t.Fatalf("confirmation %q", got)
		}
		var contacts struct {
			Data []struct {
				Phone     string `json:"phone"`
				FirstName string `json:"first_name"`
				LastName  string `json:"last_name"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/contacts", acme.APIKey, nil, http.StatusOK).JSON(t, &contacts)
		found := false
		for _, c := range contacts.Data {
			found = found || (c.Phone == asha && c.FirstName == "Asha" && c.LastName == "Verma")
		}
		if !found {
			t.Errorf("contacts %+v: Asha Verma is not stored", contacts.Data)
		}
	})
	t.Run("balance callout, signed, with its session kept", func(t *testing.T) {
		if got := say(asha, "bal", 3); got != "Your balance is 120 INR." {
			t.Fatalf("balance %q", got)
		}
		say(asha, "BAL", 4)
		calls := bal.calls()
		if bal.bad.Load() != 0 || len(calls) != 2 {
			t.Fatalf("%d calls, %d badly signed", len(calls), bal.bad.Load())
		}
		if calls[0]["phone"] != asha || calls[0]["to"] != "57675" || calls[0]["text"] != "bal" {
			t.Errorf("first call %v", calls[0])
		}
		if sess, _ := calls[1]["session"].(map[string]any); sess == nil || sess["calls"] != 1.0 {
			t.Errorf("second call's session %v: the endpoint's session is passed back", calls[1]["session"])
		}
	})
	const ravi = "+919812345678"
	t.Run("support opens a ticket: flow.completed at the client's webhook", func(t *testing.T) {
		if got := say(ravi, "2", 1); got != "Describe your issue in one message" {
			t.Fatalf("prompt %q", got)
		}
		say(ravi, "My SIM stopped working", 2)
		var ev serviceEvent
		eventually(t, "flow.completed of support", func() bool {
			for _, e := range events(hook, "flow.completed") {
				if e.Data.Flow == "support" {
					ev = e
					return true
				}
			}
			return false
		})
		if ev.Data.Phone != ravi || ev.Data.Answers["issue"] != "My SIM stopped working" {
			t.Errorf("flow.completed %+v", ev.Data)
		}
	})
	t.Run("EXIT leaves a flow", func(t *testing.T) {
		say(ravi, "2", 3)
		if got := say(ravi, "exit", 4); !strings.HasPrefix(got, "You left.") {
			t.Fatalf("exit answer %q", got)
		}
		if got := say(ravi, "hello", 5); !strings.HasPrefix(got, "Sorry, that is not an option. Reply with: 1 Register, BAL Balance, 2 Support, JOIN News, LEAVE") {
			t.Fatalf("after exit %q: the flow should be over", got)
		}
	})
	const mira = "+919800000001"
	t.Run("an expired session starts afresh", func(t *testing.T) {
		say(mira, "1", 1)
		clock.advance(61 * time.Minute)
		if got := say(mira, "Mira", 2); !strings.HasPrefix(got, "Sorry, that is not an option.") {
			t.Fatalf("after expiry %q: Mira is no command, the session should be gone", got)
		}
		if got := say(mira, "1", 3); got != "Reply with your full name to register" {
			t.Fatalf("restart %q", got)
		}
	})
	t.Run("subscribe and unsubscribe tag the contact", func(t *testing.T) {
		say(mira, "Mira Das", 4)
		if got := say(mira, "JOIN cricket", 5); got != "You joined our cricket list. Send LEAVE to stop." {
			t.Fatalf("join %q", got)
		}
		if tags := contactTags(t, s, acme.APIKey, mira); len(tags) != 1 || tags[0] != "news" {
			t.Fatalf("tags after JOIN %q", tags)
		}
		if got := say(mira, "leave", 6); got != "You left our news list." {
			t.Fatalf("leave %q", got)
		}
		if tags := contactTags(t, s, acme.APIKey, mira); len(tags) != 0 {
			t.Fatalf("tags after LEAVE %q", tags)
		}
	})
	t.Run("the client hears of every message, with what the service did", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for len(events(hook, "message.received")) < 15 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := len(events(hook, "message.received")); n < 15 {
			res := mustDo(t, s, "GET", "/api/v1/webhook/deliveries?limit=100", acme.APIKey, nil, http.StatusOK)
			t.Fatalf("%d events; deliveries %s", n, res.Body)
		}
		for _, ev := range events(hook, "message.received") {
			if ev.Data.Service == nil || ev.Data.Service.ID != svc.ID {
				t.Fatalf("event of %q has no service: %+v", ev.Data.Body, ev.Data)
			}
		}
	})
	t.Run("over the rate limit the service does not answer, and the event says why", func(t *testing.T) {
		spec := seedService(t, bal.URL)
		spec["rate_limit"] = map[string]any{"per_minute": 1, "burst": 2}
		delete(spec, "number")
		mustDo(t, s, "PUT", "/api/v1/services/"+svc.ID, acme.APIKey, spec, http.StatusOK)
		const spam = "+919800000099"
		say(spam, "xyz", 1)
		say(spam, "xyz", 2)
		id := simulate(t, s, spam, "57675", "xyz")
		var ev serviceEvent
		eventually(t, "the limited message's event", func() bool {
			for _, e := range events(hook, "message.received") {
				if e.Data.ID == id {
					ev = e
					return true
				}
			}
			return false
		})
		if ev.Data.Service == nil || ev.Data.Service.Handled || ev.Data.Service.Reason != "rate_limited" || ev.Data.Service.ReplyID != "" {
			t.Fatalf("event %+v", ev.Data.Service)
		}
		if n := len(outboundTo(t, s, acme.APIKey, spam)); n != 2 {
			t.Errorf("%d answers: the third message is over the limit", n)
		}
	})
	t.Run("the exchange log", func(t *testing.T) {
		var log struct {
			Data []struct {
				Phone, Input, Command, Flow, Step, Reason, Response string
				Handled                                             bool
				ReplyID                                             string `json:"reply_id"`
				CalloutStatus                                       int    `json:"callout_status"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		mustDo(t, s, "GET", "/api/v1/services/"+svc.ID+"/log?limit=100", acme.APIKey, nil, http.StatusOK).JSON(t, &log)
		var callouts, completed, limited int
		for _, e := range log.Data {
			if e.Command == "BAL" && e.CalloutStatus == 200 && e.Handled && e.ReplyID != "" {
				callouts++
			}
			if e.Reason == "flow_completed" {
				completed++
			}
			if e.Reason == "rate_limited" && !e.Handled && e.ReplyID == "" {
				limited++
			}
		}
		if callouts != 2 || completed != 3 || limited != 1 {
			t.Errorf("log: %d callouts, %d completed flows, %d limited: %+v", callouts, completed, limited, log.Data)
		}
		wantError(t, s.Do("GET", "/api/v1/services/"+svc.ID+"/log", s.CreateClient("other", "").APIKey, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("metrics count the exchanges and the sessions", func(t *testing.T) {
		// The counters are the process's: other servers of this test binary add to them.
		body := string(s.Do("GET", "/metrics", "", nil).Body)
		for series, least := range map[string]float64{
			`ibiki_service_messages_total{handled="false",reason="rate_limited"}`:  1,
			`ibiki_service_messages_total{handled="true",reason="flow_completed"}`: 3,
			`ibiki_service_callout_seconds_count{outcome="ok"}`:                    2,
			`ibiki_service_sessions_active`:                                        0,
		} {
			if v, ok := metricValue(body, series); !ok || v < least {
				t.Errorf("%s = %v (found %v), want at least %v", series, v, ok, least)
			}
		}
	})
}

// metricValue reads one series of a Prometheus text exposition.
func metricValue(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// contactTags returns the tags of the client's contact with phone.
func contactTags(t *testing.T, s *ibikitest.Server, key, phone string) []string {
	t.Helper()
	var contacts struct {
		Data []struct {
			Phone string   `json:"phone"`
			Tags  []string `json:"tags"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/api/v1/contacts", key, nil, http.StatusOK).JSON(t, &contacts)
	for _, c := range contacts.Data {
		if c.Phone == phone {
			return c.Tags
		}
	}
	t.Fatalf("no contact %s", phone)
	return nil
}

// What a client gets wrong when it writes a service is refused naming the field; a callout that
// fails sends the fallback; the operator's service on a pool number answers for the client the
// message routes to, charged to it.
func TestServiceEdges(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	hook := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", hook.URL)
	topUp(t, s, "acme", 100)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "57675", "client_id": "acme"}, http.StatusCreated)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "57000"}, http.StatusCreated) // the pool's
	reply := func(kw, text string) map[string]any {
		return map[string]any{"keyword": kw, "action": map[string]any{"type": "reply", "text": text}}
	}
	t.Run("bad services are refused naming the field", func(t *testing.T) {
		for _, tc := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{"commands": []any{reply("1", "x")}}, "number"},
			{map[string]any{"number": "57000", "commands": []any{reply("1", "x")}}, "number"}, // not acme's
			{map[string]any{"number": "99999", "commands": []any{reply("1", "x")}}, "number"}, // not Ibiki's
			{map[string]any{"number": "57675"}, "commands"},
			{map[string]any{"number": "57675", "commands": []any{reply("1", "")}}, "commands[0].action.text"},
			{map[string]any{"number": "57675", "commands": []any{reply("1", "x")}, "flows": map[string]any{
				"f": map[string]any{"steps": []any{map[string]any{"id": "a", "prompt": "A?", "expect": map[string]any{"type": "regex", "pattern": "("}}}}}},
				"flows.f.steps[0].expect.pattern"},
			{map[string]any{"number": "57675", "commands": []any{reply("1", "x")}, "client_id": "acme"}, "client_id"},
		} {
			wantError(t, s.Do("POST", "/api/v1/services", acme.APIKey, tc.body), http.StatusBadRequest, "invalid_field", tc.param)
		}
		mustDo(t, s, "POST", "/api/v1/services", acme.APIKey, map[string]any{"number": "57675", "commands": []any{reply("1", "x")}}, http.StatusCreated)
		wantError(t, s.Do("POST", "/api/v1/services", acme.APIKey, map[string]any{"number": "57675", "commands": []any{reply("2", "y")}}),
			http.StatusConflict, "number_has_service", "number")
	})
	t.Run("a failing callout sends the fallback", func(t *testing.T) {
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }))
		defer down.Close()
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/services", acme.APIKey, nil, http.StatusOK).JSON(t, &list)
		id := list.Data[0].ID
		mustDo(t, s, "PUT", "/api/v1/services/"+id, acme.APIKey, map[string]any{"commands": []any{map[string]any{"keyword": "BAL",
			"action": map[string]any{"type": "callout", "url": down.URL, "fallback": "Try later."}}}}, http.StatusOK)
		simulate(t, s, "+15552400001", "57675", "bal")
		eventually(t, "the fallback", func() bool {
			got := outboundTo(t, s, acme.APIKey, "+15552400001")
			return len(got) == 1 && got[0] == "Try later."
		})
		var log struct {
			Data []struct {
				Reason        string `json:"reason"`
				CalloutStatus int    `json:"callout_status"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/services/"+id+"/log", acme.APIKey, nil, http.StatusOK).JSON(t, &log)
		if len(log.Data) != 1 || log.Data[0].Reason != "callout_failed" || log.Data[0].CalloutStatus != http.StatusBadGateway {
			t.Errorf("log %+v", log.Data)
		}
	})
	t.Run("a phone's answers keep its messages' order when a callout is slow", func(t *testing.T) {
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"reply":"balance"}`)
		}))
		defer slow.Close()
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/services", acme.APIKey, nil, http.StatusOK).JSON(t, &list)
		mustDo(t, s, "PUT", "/api/v1/services/"+list.Data[0].ID, acme.APIKey, map[string]any{"commands": []any{
			map[string]any{"keyword": "BAL", "action": map[string]any{"type": "callout", "url": slow.URL}}, reply("HI", "hi")}}, http.StatusOK)
		const phone = "+15552400003"
		simulate(t, s, phone, "57675", "bal")
		simulate(t, s, phone, "57675", "hi") // decided after BAL's answer, though BAL waits on its endpoint
		var got []string
		eventually(t, "both answers", func() bool {
			got = outboundTo(t, s, acme.APIKey, phone)
			return len(got) == 2
		})
		if got[0] != "hi" || got[1] != "balance" {
			t.Errorf("answers newest first %q: HI was answered before BAL", got)
		}
	})
	t.Run("the operator's service on a pool number answers for the routed client", func(t *testing.T) {
		var svc struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
		}
		mustDo(t, s, "POST", "/admin/v1/services", admin, map[string]any{"number": "57000", "commands": []any{reply("INFO", "Pool info for [firstname|you].")}},
			http.StatusCreated).JSON(t, &svc)
		if svc.ClientID != "" {
			t.Fatalf("service %+v", svc)
		}
		// The phone is acme's contact: the pool number's message routes to acme.
		mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15552400002", "first_name": "Lee"}, http.StatusCreated)
		before, _ := ledgerSum(t, s, acme.APIKey)
		simulate(t, s, "+15552400002", "57000", "info")
		eventually(t, "the pool service's answer", func() bool {
			got := outboundTo(t, s, acme.APIKey, "+15552400002")
			return len(got) == 1 && got[0] == "Pool info for Lee."
		})
		if after, _ := ledgerSum(t, s, acme.APIKey); after != before-1 {
			t.Errorf("ledger %d then %d: the answer is charged to the routed client", before, after)
		}
		wantError(t, s.Do("GET", "/api/v1/services/"+svc.ID, acme.APIKey, nil), http.StatusNotFound, "not_found", "")
		mustDo(t, s, "GET", "/admin/v1/services/"+svc.ID+"/log", admin, nil, http.StatusOK)
	})
	t.Run("a number given to another client loses its service", func(t *testing.T) {
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/services", acme.APIKey, nil, http.StatusOK).JSON(t, &list)
		s.CreateClient("beta", "")
		mustDo(t, s, "PATCH", "/admin/v1/numbers/57675", admin, map[string]any{"client_id": "beta"}, http.StatusOK)
		wantError(t, s.Do("GET", "/api/v1/services/"+list.Data[0].ID, acme.APIKey, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("a callout to a private address is refused unless allowed", func(t *testing.T) {
		strict := ibikitest.NewServer(t, map[string]string{"IBIKI_ALLOW_PRIVATE_WEBHOOKS": "false"})
		c := strict.CreateClient("acme", "")
		mustDo(t, strict, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "57675", "client_id": "acme"}, http.StatusCreated)
		wantError(t, strict.Do("POST", "/api/v1/services", c.APIKey, map[string]any{"number": "57675", "commands": []any{
			map[string]any{"keyword": "BAL", "action": map[string]any{"type": "callout", "url": "https://127.0.0.1/balance"}}}}),
			http.StatusBadRequest, "invalid_field", "commands[0].action.url")
	})
}
