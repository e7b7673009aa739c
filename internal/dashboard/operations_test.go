package dashboard_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

const (
	opEmail    = "op@example.com"
	opPassword = "operator-pass"
)

// opServer starts an Ibiki with an operator account; env adds settings.
func opServer(t *testing.T, env map[string]string) *ibikitest.Server {
	t.Helper()
	vars := map[string]string{"IBIKI_ADMIN_EMAIL": opEmail, "IBIKI_ADMIN_PASSWORD": opPassword}
	for k, v := range env {
		vars[k] = v
	}
	return ibikitest.NewServer(t, vars)
}

// opBrowser is a signed-in operator's browser: it keeps cookies and the CSRF token of the last
// page it loaded, and does not follow redirects (so that tests see them).
type opBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

type opPage struct {
	Status   int
	Body     string
	Location string
}

var opCSRFInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func opSignIn(t *testing.T, s *ibikitest.Server) *opBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &opBrowser{t: t, base: s.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	res := b.do("POST", "/login", url.Values{"email": {opEmail}, "password": {opPassword}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", res.Status, res.Body)
	}
	b.get("/numbers", http.StatusOK) // picks up the CSRF token
	return b
}

func (b *opBrowser) do(method, path string, form url.Values) opPage {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := opPage{Status: res.StatusCode, Body: string(raw), Location: res.Header.Get("Location")}
	if m := opCSRFInput.FindStringSubmatch(p.Body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

// get loads a page and checks its status.
func (b *opBrowser) get(path string, status int) opPage {
	b.t.Helper()
	p := b.do("GET", path, nil)
	if p.Status != status {
		b.t.Fatalf("GET %s: %d, want %d\n%s", path, p.Status, status, p.Body)
	}
	return p
}

// post submits a form with the CSRF token and checks the answer's status.
func (b *opBrowser) post(path string, form url.Values, status int) opPage {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf)
	p := b.do("POST", path, form)
	if p.Status != status {
		b.t.Fatalf("POST %s: %d, want %d\n%s", path, p.Status, status, p.Body)
	}
	return p
}

func opEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func opMustDo(t *testing.T, s *ibikitest.Server, method, path, auth string, body any, status int) ibikitest.Response {
	t.Helper()
	res := s.Do(method, path, auth, body)
	if res.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, status)
	}
	return res
}

type apiNumber struct {
	Number   string  `json:"number"`
	ClientID *string `json:"client_id"`
	Provider *string `json:"provider"`
}

func adminNumbers(t *testing.T, s *ibikitest.Server) map[string]apiNumber {
	t.Helper()
	var page struct{ Data []apiNumber }
	opMustDo(t, s, "GET", "/admin/v1/numbers", ibikitest.AdminToken, nil, http.StatusOK).JSON(t, &page)
	out := map[string]apiNumber{}
	for _, n := range page.Data {
		out[n.Number] = n
	}
	return out
}

func TestOperationsNumbersAddChangeAndRemove(t *testing.T) {
	s := opServer(t, nil)
	s.CreateClient("acme", "")
	b := opSignIn(t, s)

	t.Run("a number added as dedicated shows in the admin API and on the page", func(t *testing.T) {
		p := b.post("/numbers", url.Values{"number": {"+15550000001"}, "client_id": {"acme"}, "provider": {""}}, http.StatusSeeOther)
		if p.Location != "/numbers" {
			t.Errorf("redirect to %q", p.Location)
		}
		n, ok := adminNumbers(t, s)["+15550000001"]
		if !ok || n.ClientID == nil || *n.ClientID != "acme" || n.Provider == nil || *n.Provider != "simulator" {
			t.Fatalf("admin API numbers = %+v", adminNumbers(t, s))
		}
		page := html.UnescapeString(b.get("/numbers", http.StatusOK).Body)
		for _, want := range []string{`data-number="+15550000001"`, "Added +15550000001 dedicated to acme.", `action="/numbers/%2B15550000001"`} {
			if !strings.Contains(page, want) {
				t.Errorf("numbers page lacks %q\n%s", want, page)
			}
		}
	})

	t.Run("a number without a client goes to the shared pool", func(t *testing.T) {
		b.post("/numbers", url.Values{"number": {"+15550000002"}}, http.StatusSeeOther)
		if n := adminNumbers(t, s)["+15550000002"]; n.Number == "" || n.ClientID != nil {
			t.Fatalf("pool number = %+v", n)
		}
	})

	t.Run("bad input is refused with the API's reasons and changes nothing", func(t *testing.T) {
		tests := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"a missing number", url.Values{"number": {""}}, http.StatusUnprocessableEntity, "Number: number is required."},
			{"a number that is not one", url.Values{"number": {"not a phone"}}, http.StatusUnprocessableEntity, "Number: "},
			{"an unknown client", url.Values{"number": {"+15550000003"}, "client_id": {"nobody"}}, http.StatusUnprocessableEntity, "no client has the id nobody"},
			{"an unknown provider", url.Values{"number": {"+15550000003"}, "provider": {"nope"}}, http.StatusUnprocessableEntity, "is not configured (configured: simulator)"},
			{"a number already configured", url.Values{"number": {"+15550000001"}}, http.StatusConflict, "already configured"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/numbers", tt.form, tt.status)
				if !strings.Contains(html.UnescapeString(p.Body), tt.want) {
					t.Errorf("page lacks %q", tt.want)
				}
			})
		}
		if ns := adminNumbers(t, s); len(ns) != 2 {
			t.Errorf("numbers after refusals = %+v", ns)
		}
	})

	t.Run("changing the client to the pool and back is seen by the API", func(t *testing.T) {
		b.post("/numbers/%2B15550000001", url.Values{"client_id": {""}, "provider": {"simulator"}}, http.StatusSeeOther)
		if n := adminNumbers(t, s)["+15550000001"]; n.ClientID != nil {
			t.Fatalf("after moving to the pool: %+v", n)
		}
		b.post("/numbers/%2B15550000002", url.Values{"client_id": {"acme"}}, http.StatusSeeOther)
		if n := adminNumbers(t, s)["+15550000002"]; n.ClientID == nil || *n.ClientID != "acme" {
			t.Fatalf("after dedicating: %+v", n)
		}
		b.post("/numbers/%2B15550000002", url.Values{"client_id": {"nobody"}}, http.StatusUnprocessableEntity)
		b.post("/numbers/%2B15559999999", url.Values{"client_id": {""}}, http.StatusNotFound)
	})

	t.Run("a removed number is gone", func(t *testing.T) {
		b.post("/numbers/%2B15550000001/delete", nil, http.StatusSeeOther)
		if _, ok := adminNumbers(t, s)["+15550000001"]; ok {
			t.Fatal("number still configured after removal")
		}
		b.post("/numbers/%2B15550000001/delete", nil, http.StatusNotFound)
	})

	t.Run("a form without the CSRF token changes nothing", func(t *testing.T) {
		p := b.do("POST", "/numbers", url.Values{"number": {"+15550000004"}})
		if p.Status != http.StatusForbidden {
			t.Errorf("status = %d, want 403", p.Status)
		}
		if _, ok := adminNumbers(t, s)["+15550000004"]; ok {
			t.Error("number added without a CSRF token")
		}
	})

	t.Run("every action is in the audit log", func(t *testing.T) {
		p := b.get("/audit", http.StatusOK)
		for _, want := range []string{"number.create", "number.update", "number.delete"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("audit log lacks %s", want)
			}
		}
	})
}

func TestOperationsProvidersShowsCapabilitiesTrafficAndErrors(t *testing.T) {
	const secret = "tw-secret-token-never-shown"
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"default":"sim","providers":[
		{"name":"sim","type":"simulator","latency":"10ms","failure_ratio":1,"rate":25},
		{"name":"tw","type":"twilio","account_sid":"AC00000000000000000000000000000001","auth_token":"`+secret+`",
		 "base_url":"http://127.0.0.1:1"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := opServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	acme := s.CreateClient("acme", "")
	opMustDo(t, s, "POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken,
		map[string]any{"amount_cents": 100, "reference": "payment"}, http.StatusOK)
	opMustDo(t, s, "POST", "/admin/v1/numbers", ibikitest.AdminToken, map[string]any{"number": "+15550000010"}, http.StatusCreated)
	var m struct{ ID string }
	opMustDo(t, s, "POST", "/api/v1/messages", acme.APIKey,
		map[string]string{"to": "+15552080001", "body": "hello"}, http.StatusAccepted).JSON(t, &m)
	opEventually(t, "the simulator to report the message undelivered", func() bool {
		var got struct{ Status string }
		s.Do("GET", "/api/v1/messages/"+m.ID, acme.APIKey, nil).JSON(t, &got)
		return got.Status == "undelivered"
	})

	b := opSignIn(t, s)
	p := b.get("/providers", http.StatusOK)
	body := html.UnescapeString(p.Body)
	for _, want := range []string{`id="provider-sim"`, `id="provider-tw"`, "simulator: no real SMS is sent", "the simulator",
		"twilio", "25 messages/s", "1 failed in the last hour", "sim_undelivered", m.ID, "/webhooks/tw/status"} {
		if !strings.Contains(body, want) {
			t.Errorf("providers page lacks %q", want)
		}
	}
	for _, never := range []string{secret, "AC00000000000000000000000000000001"} {
		if strings.Contains(body, never) {
			t.Errorf("providers page shows the credential %q", never)
		}
	}
}

// unrouted lists the ids in the admin API's unrouted inbox.
func unroutedIDs(t *testing.T, s *ibikitest.Server) []string {
	t.Helper()
	var page struct{ Data []struct{ ID string } }
	opMustDo(t, s, "GET", "/admin/v1/unrouted", ibikitest.AdminToken, nil, http.StatusOK).JSON(t, &page)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestOperationsUnroutedAssignDeliversToTheClient(t *testing.T) {
	s := opServer(t, nil)
	acme := s.CreateClient("acme", "")
	s.CreateClient("sleepy", "")
	opMustDo(t, s, "PATCH", "/admin/v1/clients/sleepy", ibikitest.AdminToken, map[string]any{"active": false}, http.StatusOK)
	const body = `<b>whose</b> reply is this? <script>alert(1)</script>`
	var acc struct{ ID string }
	opMustDo(t, s, "POST", "/admin/v1/simulator/inbound", ibikitest.AdminToken,
		map[string]string{"from": "+15553000001", "body": body}, http.StatusAccepted).JSON(t, &acc)
	opEventually(t, "the message to be unrouted", func() bool { return len(unroutedIDs(t, s)) == 1 })
	id := unroutedIDs(t, s)[0]

	b := opSignIn(t, s)
	p := b.get("/unrouted", http.StatusOK)
	if !strings.Contains(p.Body, `data-id="`+id+`"`) || !strings.Contains(p.Body, `action="/unrouted/`+id+`/assign"`) {
		t.Fatalf("unrouted page lacks the message %s\n%s", id, p.Body)
	}
	if strings.Contains(p.Body, "<script>alert(1)") || !strings.Contains(p.Body, "&lt;script&gt;alert(1)") {
		t.Error("the message body is not escaped as text")
	}
	if strings.Contains(p.Body, `<option value="sleepy"`) {
		t.Error("an inactive client is offered")
	}

	t.Run("an unknown or inactive client is refused and the message stays", func(t *testing.T) {
		p := b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"nobody"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Body, "No client has the id nobody.") {
			t.Error("no reason shown for the unknown client")
		}
		p = b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"sleepy"}}, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Body, "is not active") {
			t.Error("no reason shown for the inactive client")
		}
		b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {""}}, http.StatusUnprocessableEntity)
		b.post("/unrouted/msg_nothing/assign", url.Values{"client_id": {"acme"}}, http.StatusNotFound)
		if ids := unroutedIDs(t, s); len(ids) != 1 {
			t.Fatalf("unrouted after refusals = %v", ids)
		}
	})

	t.Run("an assigned message leaves the inbox and lands in the client's conversation", func(t *testing.T) {
		p := b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"acme"}}, http.StatusSeeOther)
		if p.Location != "/unrouted" {
			t.Errorf("redirect to %q", p.Location)
		}
		if ids := unroutedIDs(t, s); len(ids) != 0 {
			t.Errorf("unrouted after assignment = %v", ids)
		}
		if p := b.get("/unrouted", http.StatusOK); strings.Contains(p.Body, `data-id="`+id+`"`) {
			t.Error("the unrouted page still lists the message")
		}
		var conv struct {
			Data []struct {
				ID   string `json:"id"`
				Body string `json:"body"`
			}
		}
		opMustDo(t, s, "GET", "/api/v1/conversations/%2B15553000001/messages", acme.APIKey, nil, http.StatusOK).JSON(t, &conv)
		if len(conv.Data) != 1 || conv.Data[0].ID != id || conv.Data[0].Body != body {
			t.Fatalf("acme's conversation = %+v", conv.Data)
		}
	})

	t.Run("assigning it again is a conflict", func(t *testing.T) {
		p := b.post("/unrouted/"+id+"/assign", url.Values{"client_id": {"acme"}}, http.StatusConflict)
		if !strings.Contains(p.Body, "already routed") {
			t.Error("no reason shown for the second assignment")
		}
		if !strings.Contains(b.get("/audit", http.StatusOK).Body, "unrouted.assign") {
			t.Error("audit log lacks unrouted.assign")
		}
	})
}

type apiDelivery struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func adminDelivery(t *testing.T, s *ibikitest.Server, id string) apiDelivery {
	t.Helper()
	var d apiDelivery
	opMustDo(t, s, "GET", "/admin/v1/deliveries/"+id, ibikitest.AdminToken, nil, http.StatusOK).JSON(t, &d)
	return d
}

func TestOperationsDeliveriesReplayAFailedDelivery(t *testing.T) {
	s := opServer(t, nil)
	hook := ibikitest.NewReceiver(t)
	hook.Answer(500, 500, 500, 500)
	s.CreateClient("acme", hook.URL)
	s.CreateClient("globex", "")
	opMustDo(t, s, "POST", "/admin/v1/numbers", ibikitest.AdminToken,
		map[string]any{"number": "+15550000020", "client_id": "acme"}, http.StatusCreated)
	opMustDo(t, s, "POST", "/admin/v1/simulator/inbound", ibikitest.AdminToken,
		map[string]string{"from": "+15553000002", "to": "+15550000020", "body": "hi acme"}, http.StatusAccepted)

	var id string
	opEventually(t, "the delivery to fail", func() bool {
		var page struct{ Data []apiDelivery }
		s.Do("GET", "/admin/v1/deliveries?status=failed", ibikitest.AdminToken, nil).JSON(t, &page)
		if len(page.Data) == 1 {
			id = page.Data[0].ID
		}
		return id != ""
	})

	b := opSignIn(t, s)
	p := b.get("/deliveries", http.StatusOK)
	if !strings.Contains(p.Body, `data-id="`+id+`"`) || strings.Count(p.Body, "HTTP 500") < 2 {
		t.Fatalf("deliveries page lacks %s with its attempts\n%s", id, p.Body)
	}
	if p := b.get("/deliveries?client=globex", http.StatusOK); strings.Contains(p.Body, `data-id="`+id+`"`) {
		t.Error("the client filter shows another client's delivery")
	}
	if p := b.get("/deliveries?client=acme", http.StatusOK); !strings.Contains(p.Body, `data-id="`+id+`"`) {
		t.Error("the client filter hides the client's delivery")
	}

	attempts := len(hook.Requests())
	p = b.post("/deliveries/"+id+"/replay", url.Values{"client": {"acme"}}, http.StatusSeeOther)
	if p.Location != "/deliveries?client=acme" {
		t.Errorf("redirect to %q", p.Location)
	}
	hook.WaitFor(t, attempts+1)
	opEventually(t, "the replayed delivery to succeed", func() bool { return adminDelivery(t, s, id).Status == "succeeded" })
	if p := b.get("/deliveries", http.StatusOK); strings.Contains(p.Body, `data-id="`+id+`"`) {
		t.Error("a delivered event is still listed as failed")
	}
	b.post("/deliveries/evt_nothing/replay", nil, http.StatusNotFound)
	if !strings.Contains(b.get("/audit", http.StatusOK).Body, "delivery.replay") {
		t.Error("audit log lacks delivery.replay")
	}
}

func TestOperationsPagesAreForOperatorsOnly(t *testing.T) {
	s := opServer(t, nil)
	for _, path := range []string{"/numbers", "/providers", "/unrouted", "/deliveries"} {
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("GET %s signed out: %d %s, want a redirect to /login", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
}
