package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden_api.txt from this run")

// golden records a fixed scenario's answers, with what changes from run to run (ids, times,
// secrets) replaced by stable placeholders, so that a change of shape shows as a diff.
type golden struct {
	t   *testing.T
	s   *ibikitest.Server
	out strings.Builder
	ids map[string]string
	n   map[string]int
}

var (
	goldenID     = regexp.MustCompile(`\b(msg|conv|ct|evt|att|key|led|usr|aud|cmp|imp|sim|ibk|whsec)_[0-9A-Za-z]{6,}`)
	goldenTime   = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))?`)
	goldenRandom = regexp.MustCompile(`"(webhook_secret|api_key)": "[^"]*"`)
	goldenPort   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// norm replaces ids by <prefix#n> in order of first appearance, and times by <time>.
func (g *golden) norm(s string) string {
	s = goldenRandom.ReplaceAllString(s, `"$1": "<secret>"`)
	s = goldenTime.ReplaceAllString(s, "<time>")
	s = goldenPort.ReplaceAllString(s, "127.0.0.1:<port>")
	return goldenID.ReplaceAllStringFunc(s, func(id string) string {
		if p, ok := g.ids[id]; ok {
			return p
		}
		prefix := id[:strings.IndexByte(id, '_')]
		g.n[prefix]++
		p := fmt.Sprintf("<%s#%d>", prefix, g.n[prefix])
		g.ids[id] = p
		return p
	})
}

// pretty indents a JSON body (keeping the server's key order); other bodies are kept as text.
func pretty(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, bytes.TrimSpace(b), "", "  ") == nil {
		return buf.String()
	}
	return string(b)
}

// do sends one request and records it with its answer.
func (g *golden) do(method, path, auth string, body any, header map[string]string) ibikitest.Response {
	g.t.Helper()
	res := g.s.DoWith(method, path, auth, body, header)
	g.record(method, path, header, res)
	return res
}

func (g *golden) record(method, path string, header map[string]string, res ibikitest.Response) {
	line := method + " " + path
	if k := header["Idempotency-Key"]; k != "" {
		line += " [Idempotency-Key: " + k + "]"
	}
	replayed := ""
	if res.Header.Get("Idempotent-Replayed") == "true" {
		replayed = " (replayed)"
	}
	fmt.Fprintf(&g.out, "%s\n→ %d%s\n%s\n\n", g.norm(line), res.Status, replayed, g.norm(pretty(res.Body)))
}

// multipart posts form fields and an optional CSV file.
func (g *golden) multipart(path, auth, file string, fields [][2]string, header map[string]string) ibikitest.Response {
	g.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("file", "list.csv")
		io.WriteString(fw, file)
	}
	mw.Close()
	h := map[string]string{"Content-Type": mw.FormDataContentType()}
	for k, v := range header {
		h[k] = v
	}
	res := g.s.DoWith("POST", path, auth, body.Bytes(), h)
	g.record("POST", path+" (multipart)", header, res)
	return res
}

func (g *golden) note(s string) { fmt.Fprintf(&g.out, "# %s\n\n", s) }

// TestGoldenAPIAnswers runs a fixed scenario through the whole server and compares every answer
// with testdata/golden_api.txt: the API's answers (and the events clients receive) must not
// change shape when the code behind them does. Run with -update-golden to accept a change on
// purpose, and say why in the commit.
func TestGoldenAPIAnswers(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "1h"})
	hook := ibikitest.NewReceiver(t)
	g := &golden{t: t, s: s, ids: map[string]string{}, n: map[string]int{}}
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	g.note("clients")
	var acme ibikitest.CreatedClient
	g.do("POST", "/admin/v1/clients", admin, map[string]string{"id": "acme", "name": "Acme Ltd", "webhook_url": hook.URL}, key("c-1")).JSON(t, &acme)
	g.do("POST", "/admin/v1/clients", admin, map[string]string{"id": "acme", "name": "Acme Ltd", "webhook_url": hook.URL}, key("c-1"))
	g.do("POST", "/admin/v1/clients", admin, map[string]string{"id": "acme", "name": "Again"}, nil)
	g.do("POST", "/admin/v1/clients", admin, map[string]string{"id": "Not An Id", "name": "x"}, nil)
	other := s.CreateClient("globex", "")
	g.do("PATCH", "/admin/v1/clients/acme", admin, map[string]any{"rate_cents": 2}, nil)
	g.do("GET", "/admin/v1/clients/acme", admin, nil, nil)
	g.do("GET", "/admin/v1/clients", admin, nil, nil)
	g.do("GET", "/api/v1/balance", "wrong-key", nil, nil)
	g.do("GET", "/admin/v1/clients", "wrong-token", nil, nil)

	g.note("numbers and credits")
	g.do("POST", "/admin/v1/numbers", admin, map[string]string{"number": "+15550001000", "client_id": "acme"}, key("n-1"))
	g.do("POST", "/admin/v1/numbers", admin, map[string]string{"number": "+15550001000", "client_id": "acme"}, key("n-1"))
	g.do("POST", "/admin/v1/numbers", admin, map[string]string{"number": "+15550001000", "client_id": "globex"}, nil)
	g.do("POST", "/admin/v1/numbers", admin, map[string]string{"number": "not a number"}, nil)
	g.do("GET", "/admin/v1/numbers", admin, nil, nil)
	g.do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 40, "reference": "invoice 1"}, key("t-1"))
	g.do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 40, "reference": "invoice 1"}, key("t-1"))
	g.do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 41, "reference": "invoice 1"}, key("t-1"))
	g.do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": -1000}, nil)
	g.do("GET", "/admin/v1/providers", admin, nil, nil)

	g.note("inbound")
	reply := map[string]any{"from": "15551230001", "firstname": "John", "lastname": "Doe", "business": "acme",
		"message": "Yes, I am interested", "status": "received", "matchedBlockWord": nil, "receiver": "+15557654321",
		"usedmodem": "M3", "port": "2", "timestamp": "2025-09-23T23:23:20.887Z", "messageId": "golden-1"}
	var in struct{ ID string }
	g.do("POST", "/webhooks/extremesms", "", reply, nil).JSON(t, &in)
	g.do("POST", "/webhook/incoming-sms", "", reply, nil)
	g.do("POST", "/webhooks/extremesms", "", map[string]any{"message": "no sender"}, nil)
	g.do("POST", "/webhooks/extremesms", "", "not json", nil)
	g.do("POST", "/webhooks/generic", "", map[string]any{"message_id": "g-1", "from": "+15551230002", "to": "+15550001000",
		"body": "to the dedicated number", "timestamp": "2025-09-24T10:00:00Z"}, nil)
	g.do("POST", "/webhooks/generic", "", map[string]any{"message_id": "g-2", "from": "+15551230009", "to": "+15559999999",
		"body": "nobody's"}, nil)
	g.do("POST", "/webhooks/generic", "", map[string]any{"from": "+15551230002", "body": "x", "channel": "fax"}, nil)
	g.do("POST", "/webhooks/nosuch/status", "", "x", nil)
	eventually(t, "two inbound messages delivered", func() bool { return len(hook.Requests()) >= 2 })
	eventually(t, "one message unrouted", func() bool {
		var pg struct{ Data []struct{ ID string } }
		s.Do("GET", "/admin/v1/unrouted", admin, nil).JSON(t, &pg)
		return len(pg.Data) == 1
	})
	g.do("GET", "/api/v1/messages/"+in.ID, acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/messages/"+in.ID, other.APIKey, nil, nil)
	g.do("GET", "/api/v1/conversations", acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/conversations/%2B15551230001/messages", acme.APIKey, nil, nil)
	g.do("GET", "/admin/v1/unrouted", admin, nil, nil)

	g.note("sending")
	var sent struct{ ID string }
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551230001", "body": "Thanks John"}, key("m-1")).JSON(t, &sent)
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551230001", "body": "Thanks John"}, key("m-1"))
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551230001", "body": "Other"}, key("m-1"))
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"body": "no to"}, nil)
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "12", "body": "bad to"}, nil)
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551230003", "body": ""}, nil)
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551230003", "body": "Héllo ☃"}, nil)
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551230003", "body": strings.Repeat("long ", 400)}, nil)
	g.do("POST", "/api/v1/messages", other.APIKey, map[string]string{"to": "+15551230003", "body": "no credits"}, nil)
	g.do("POST", "/api/v1/messages", acme.APIKey, "{bad json", nil)
	g.do("POST", "/api/v1/conversations/%2B15551230001/messages", acme.APIKey, map[string]string{"body": "In the thread"}, key("r-1"))
	g.do("POST", "/api/v1/conversations/%2B15559990000/messages", acme.APIKey, map[string]string{"body": "no thread"}, nil)

	g.note("bulk")
	bulk := map[string]any{"template": "Hi [firstname|there], code [code]", "contacts": []map[string]any{
		{"phone": "+15551231001", "firstname": "Ann", "code": "A1"}, {"phone": "+15551231002", "code": 42},
		{"phone": "+15551231003"}, {"phone": "bad"}}}
	g.do("POST", "/api/v1/messages/bulk", acme.APIKey, bulk, key("b-1"))
	g.do("POST", "/api/v1/messages/bulk", acme.APIKey, bulk, key("b-1"))
	g.do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []map[string]string{{"to": "bad", "body": "x"}}}, nil)
	g.do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []map[string]string{{"to": "+15551231009", "body": "x"}}, "template": "y"}, nil)
	eventually(t, "every send handed to the simulator", func() bool {
		var pg struct{ Data []struct{ Status string } }
		s.Do("GET", "/api/v1/messages?direction=outbound&limit=100", acme.APIKey, nil).JSON(t, &pg)
		return len(pg.Data) > 0 && !slices.ContainsFunc(pg.Data, func(m struct{ Status string }) bool { return m.Status != "sent" })
	})
	g.do("GET", "/api/v1/messages/"+sent.ID, acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/messages?direction=outbound", acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/messages?status=nonsense", acme.APIKey, nil, nil)

	g.note("contacts")
	var ct struct{ ID string }
	g.do("POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15551232001", "first_name": "Ann",
		"fields": map[string]string{"city": "Lyon"}, "tags": []string{"vip"}}, key("ct-1")).JSON(t, &ct)
	g.do("POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15551232001", "first_name": "Ann",
		"fields": map[string]string{"city": "Lyon"}, "tags": []string{"vip"}}, key("ct-1"))
	g.do("POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15551232001"}, nil)
	g.do("POST", "/api/v1/contacts", other.APIKey, map[string]any{"phone": "+15551232001"}, nil)
	g.do("POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15551232002", "first_name": strings.Repeat("n", 300)}, nil)
	g.do("PATCH", "/api/v1/contacts/"+ct.ID, acme.APIKey, map[string]any{"last_name": "Lee", "tags": []string{"vip", "new"}}, nil)
	g.do("PATCH", "/api/v1/contacts/"+ct.ID, other.APIKey, map[string]any{"last_name": "Lee"}, nil)
	g.do("GET", "/api/v1/contacts/"+ct.ID, acme.APIKey, nil, nil)
	file := "Phone Number,First Name,Business,City\n+15551233001,Cy,acme,Oslo\n+15551233002,Di,,Rome\n12,Bad,,\n+15551232001,Ann2,,\n+15551233001,Dup,,\n"
	g.multipart("/api/v1/contacts/import", acme.APIKey, file, [][2]string{{"tag", "spring"}}, key("i-1"))
	g.multipart("/api/v1/contacts/import", acme.APIKey, file, [][2]string{{"tag", "spring"}}, key("i-1"))
	g.multipart("/api/v1/contacts/import", acme.APIKey, file, [][2]string{{"tag", "autumn"}}, key("i-1"))
	g.multipart("/api/v1/contacts/import", acme.APIKey, "", [][2]string{{"tag", "x"}}, nil)
	g.multipart("/api/v1/contacts/import", acme.APIKey, "a,b\n1,2\n", nil, nil)
	g.do("GET", "/api/v1/contacts", acme.APIKey, nil, nil)
	g.do("DELETE", "/api/v1/contacts/"+ct.ID, acme.APIKey, nil, nil)
	g.do("DELETE", "/api/v1/contacts/"+ct.ID, acme.APIKey, nil, nil)

	g.note("suppressions")
	g.do("POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "+15551234001"}, key("s-1"))
	g.do("POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "+15551234001"}, key("s-1"))
	g.do("POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "+15551234001"}, nil)
	g.do("POST", "/admin/v1/clients/acme/suppressions", admin, map[string]string{"phone": "+15551234002"}, key("s-2"))
	g.do("GET", "/api/v1/suppressions", acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/suppressions/%2B15551234001", acme.APIKey, nil, nil)
	g.do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15551234001", "body": "opted out"}, nil)
	g.do("DELETE", "/api/v1/suppressions/%2B15551234001", acme.APIKey, nil, nil)
	g.do("DELETE", "/api/v1/suppressions/%2B15551234001", acme.APIKey, nil, nil)
	g.do("DELETE", "/admin/v1/clients/acme/suppressions/%2B15551234002", admin, nil, nil)

	g.note("campaigns")
	list := "phone,first name\n+15551235001,Eve\n+15551235002,Finn\nbad,Nope\n"
	var cp struct{ ID string }
	g.multipart("/api/v1/campaigns", acme.APIKey, list, [][2]string{{"message", "Hi [first name], sale!"}, {"name", "Spring"}, {"draft", "true"}}, key("cp-1")).JSON(t, &cp)
	g.multipart("/api/v1/campaigns", acme.APIKey, list, [][2]string{{"message", "Hi [first name], sale!"}, {"name", "Spring"}, {"draft", "true"}}, key("cp-1"))
	g.multipart("/api/v1/campaigns", acme.APIKey, list, [][2]string{{"message", "Hi [nosuch]"}, {"draft", "true"}}, nil)
	g.do("POST", "/api/v1/campaigns", acme.APIKey, map[string]any{"message": "Hi", "tag": "nobody-has-it"}, nil)
	g.do("GET", "/api/v1/campaigns/"+cp.ID+"/recipients", acme.APIKey, nil, nil)
	g.do("POST", "/api/v1/campaigns/"+cp.ID+"/pause", acme.APIKey, nil, nil)
	g.do("POST", "/api/v1/campaigns/"+cp.ID+"/cancel", acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/campaigns/"+cp.ID, acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/campaigns/"+cp.ID, other.APIKey, nil, nil)

	g.note("credits after all that")
	g.do("GET", "/api/v1/balance", acme.APIKey, nil, nil)
	g.do("GET", "/api/v1/ledger", acme.APIKey, nil, nil)

	g.note("deliveries")
	eventually(t, "no delivery pending", func() bool {
		var pg struct{ Data []struct{ Status string } }
		s.Do("GET", "/api/v1/webhook/deliveries?limit=100", acme.APIKey, nil).JSON(t, &pg)
		return !slices.ContainsFunc(pg.Data, func(d struct{ Status string }) bool { return d.Status == "pending" })
	})
	type delivery struct {
		ID        string `json:"id"`
		MessageID string `json:"message_id"`
	}
	var dl struct{ Data []delivery }
	s.Do("GET", "/api/v1/webhook/deliveries?limit=100", acme.APIKey, nil).JSON(t, &dl)
	// Deliveries of different conversations finish in any order: record them sorted.
	events := make([]string, 0, len(hook.Requests()))
	for _, r := range hook.Requests() {
		events = append(events, g.norm(pretty(r.Body)))
	}
	slices.Sort(events)
	g.note(fmt.Sprintf("%d deliveries, %d events received", len(dl.Data), len(events)))
	for _, e := range events {
		fmt.Fprintf(&g.out, "event\n%s\n\n", e)
	}
	// The delivery of the first inbound message: deliveries of two conversations are made in
	// either order, so it is found by its message.
	if i := slices.IndexFunc(dl.Data, func(d delivery) bool { return d.MessageID == in.ID }); i >= 0 {
		first := dl.Data[i].ID
		g.do("GET", "/api/v1/webhook/deliveries/"+first, other.APIKey, nil, nil)
		g.do("POST", "/admin/v1/deliveries/"+first+"/replay", admin, nil, nil)
	}
	g.do("POST", "/admin/v1/deliveries/evt_nosuch/replay", admin, nil, nil)

	const path = "testdata/golden_api.txt"
	got := g.out.String()
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-golden to write it)", err)
	}
	if got != string(want) {
		os.WriteFile(path+".got", []byte(got), 0o644)
		t.Errorf("answers differ from %s; this run's are in %s.got: diff them", path, path)
	}
}
