package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

const admin = ibikitest.AdminToken

// clientOut is a client as the admin API shows it; pointers tell null from empty.
type clientOut struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	WebhookURL        *string `json:"webhook_url"`
	Active            bool    `json:"active"`
	WebhookDisabledAt *string `json:"webhook_disabled_at"`
	APIKey            string  `json:"api_key"`
	WebhookSecret     string  `json:"webhook_secret"`
	PreviousExpiresAt *string `json:"previous_webhook_secret_expires_at"`
}

type clientPage struct {
	Data       []clientOut `json:"data"`
	NextCursor *string     `json:"next_cursor"`
}

func TestCreateClient(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	res := s.Do("POST", "/admin/v1/clients", admin, map[string]string{"id": "acme", "name": "Acme Ltd", "webhook_url": "http://127.0.0.1:9/hook"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var c clientOut
	res.JSON(t, &c)
	if c.ID != "acme" || c.Name != "Acme Ltd" || !c.Active || c.WebhookURL == nil || *c.WebhookURL != "http://127.0.0.1:9/hook" {
		t.Errorf("created client = %+v", c)
	}
	if !strings.HasPrefix(c.APIKey, "ibk_") || !strings.HasPrefix(c.WebhookSecret, "whsec_") {
		t.Errorf("api_key %q and webhook_secret %q lack their prefixes", c.APIKey, c.WebhookSecret)
	}
	if _, err := standardwebhooks.NewWebhook(c.WebhookSecret); err != nil {
		t.Errorf("the Standard Webhooks library refuses the secret: %v", err)
	}

	t.Run("a second client with the same id is a conflict", func(t *testing.T) {
		res := s.Do("POST", "/admin/v1/clients", admin, map[string]string{"id": "acme"})
		wantError(t, res, http.StatusConflict, "client_exists", "id")
	})

	bad := []struct {
		name  string
		body  any
		code  string
		param string
	}{
		{"an uppercase id is refused", map[string]string{"id": "Acme"}, "invalid_field", "id"},
		{"a one-character id is refused", map[string]string{"id": "a"}, "invalid_field", "id"},
		{"a 33-character id is refused", map[string]string{"id": strings.Repeat("a", 33)}, "invalid_field", "id"},
		{"an id with a space is refused", map[string]string{"id": "ac me"}, "invalid_field", "id"},
		{"a missing id is refused", map[string]string{"name": "x"}, "missing_field", "id"},
		{"an unknown field is named", map[string]string{"id": "typo", "nmae": "x"}, "invalid_field", "nmae"},
		{"a field of the wrong type is named", map[string]any{"id": 12}, "invalid_field", "id"},
		{"an ftp webhook URL is refused", map[string]string{"id": "ftp1", "webhook_url": "ftp://x"}, "invalid_field", "webhook_url"},
		{"a body that is not JSON is refused", "{nope", "invalid_json", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Do("POST", "/admin/v1/clients", admin, tt.body)
			wantError(t, res, http.StatusBadRequest, tt.code, tt.param)
			if tt.param == "nmae" && !strings.Contains(string(res.Body), "unknown field nmae") {
				t.Errorf("the message does not name the unknown field: %s", res.Body)
			}
		})
	}

	for _, id := range []string{"ab", strings.Repeat("z", 32), "a_b-9"} {
		t.Run("the id "+id+" is accepted", func(t *testing.T) {
			if res := s.Do("POST", "/admin/v1/clients", admin, map[string]string{"id": id}); res.Status != http.StatusCreated {
				t.Fatalf("create %q: %d %s", id, res.Status, res.Body)
			}
		})
	}

	for _, tt := range []struct{ name, token string }{
		{"no admin token is unauthorized", ""},
		{"a wrong admin token is unauthorized", "nope"},
		{"a client API key is not an admin token", c.APIKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.Do("POST", "/admin/v1/clients", tt.token, map[string]string{"id": "intruder"}), http.StatusUnauthorized, "unauthorized", "")
			wantError(t, s.Do("GET", "/admin/v1/clients", tt.token, nil), http.StatusUnauthorized, "unauthorized", "")
		})
	}
	if res := s.Do("GET", "/admin/v1/clients/intruder", admin, nil); res.Status != http.StatusNotFound {
		t.Errorf("a refused create stored the client anyway: %d", res.Status)
	}
}

func TestListAndGetClients(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	created := map[string]ibikitest.CreatedClient{}
	for _, id := range []string{"c1", "c2", "c3"} {
		created[id] = s.CreateClient(id, "")
	}

	t.Run("limit=1 pages through every client in id order", func(t *testing.T) {
		var ids []string
		path := "/admin/v1/clients?limit=1"
		for range 10 {
			res := s.Do("GET", path, admin, nil)
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
			}
			noSecrets(t, res.Body, created)
			var p clientPage
			res.JSON(t, &p)
			if len(p.Data) > 1 {
				t.Fatalf("limit=1 gave %d clients", len(p.Data))
			}
			for _, c := range p.Data {
				ids = append(ids, c.ID)
			}
			if p.NextCursor == nil {
				break
			}
			path = "/admin/v1/clients?limit=1&cursor=" + *p.NextCursor
		}
		if strings.Join(ids, ",") != "c1,c2,c3" {
			t.Errorf("pages gave %v, want c1,c2,c3", ids)
		}
	})

	t.Run("a bad limit or cursor is a 400 naming it", func(t *testing.T) {
		wantError(t, s.Do("GET", "/admin/v1/clients?limit=0", admin, nil), http.StatusBadRequest, "invalid_field", "limit")
		wantError(t, s.Do("GET", "/admin/v1/clients?limit=101", admin, nil), http.StatusBadRequest, "invalid_field", "limit")
		wantError(t, s.Do("GET", "/admin/v1/clients?cursor=***", admin, nil), http.StatusBadRequest, "invalid_field", "cursor")
	})

	t.Run("one client is shown without its secrets", func(t *testing.T) {
		res := s.Do("GET", "/admin/v1/clients/c2", admin, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET: %d %s", res.Status, res.Body)
		}
		noSecrets(t, res.Body, created)
		var c clientOut
		res.JSON(t, &c)
		if c.ID != "c2" || c.Name != "Client c2" || !c.Active || c.WebhookURL != nil || c.WebhookDisabledAt != nil {
			t.Errorf("client = %+v", c)
		}
	})

	t.Run("an unknown client is not found", func(t *testing.T) {
		wantError(t, s.Do("GET", "/admin/v1/clients/nobody", admin, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("PATCH", "/admin/v1/clients/nobody", admin, map[string]string{"name": "x"}), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("POST", "/admin/v1/clients/nobody/rotate-key", admin, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("POST", "/admin/v1/clients/nobody/rotate-webhook-secret", admin, nil), http.StatusNotFound, "not_found", "")
	})
}

// noSecrets fails if an answer carries any client's API key or webhook secret, or the fields.
func noSecrets(t *testing.T, body []byte, clients map[string]ibikitest.CreatedClient) {
	t.Helper()
	for _, c := range clients {
		if strings.Contains(string(body), c.APIKey) || strings.Contains(string(body), c.WebhookSecret) {
			t.Fatalf("answer reveals a secret of %s: %s", c.ID, body)
		}
	}
	for _, f := range []string{`"api_key"`, `"webhook_secret"`} {
		if strings.Contains(string(body), f) {
			t.Fatalf("answer has the field %s: %s", f, body)
		}
	}
}

func TestUpdateClient(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	c := s.CreateClient("acme", "")
	patch := func(body any) clientOut {
		t.Helper()
		res := s.Do("PATCH", "/admin/v1/clients/acme", admin, body)
		if res.Status != http.StatusOK {
			t.Fatalf("PATCH %v: %d %s", body, res.Status, res.Body)
		}
		var out clientOut
		res.JSON(t, &out)
		return out
	}

	t.Run("name and webhook URL change and stay changed", func(t *testing.T) {
		got := patch(map[string]string{"name": "Acme Two", "webhook_url": "http://127.0.0.1:9/new"})
		if got.Name != "Acme Two" || got.WebhookURL == nil || *got.WebhookURL != "http://127.0.0.1:9/new" || got.APIKey != "" {
			t.Errorf("PATCH answered %+v", got)
		}
		var again clientOut
		s.Do("GET", "/admin/v1/clients/acme", admin, nil).JSON(t, &again)
		if again.Name != "Acme Two" || again.WebhookURL == nil || *again.WebhookURL != "http://127.0.0.1:9/new" {
			t.Errorf("GET after PATCH = %+v", again)
		}
	})

	t.Run("an inactive client's key is refused until it is active again", func(t *testing.T) {
		if got := patch(map[string]bool{"active": false}); got.Active {
			t.Fatal("still active")
		}
		wantError(t, s.Do("GET", "/api/v1/conversations", c.APIKey, nil), http.StatusUnauthorized, "unauthorized", "")
		patch(map[string]bool{"active": true})
		if res := s.Do("GET", "/api/v1/conversations", c.APIKey, nil); res.Status != http.StatusOK {
			t.Errorf("reactivated client: %d %s", res.Status, res.Body)
		}
	})

	for _, tt := range []struct {
		name, param string
		body        any
	}{
		{"an empty name is refused", "name", map[string]string{"name": " "}},
		{"a non-http webhook URL is refused", "webhook_url", map[string]string{"webhook_url": "ftp://x"}},
		{"an unknown field is refused", "id", map[string]string{"id": "other"}},
		{"active must be a boolean", "active", map[string]string{"active": "yes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.Do("PATCH", "/admin/v1/clients/acme", admin, tt.body), http.StatusBadRequest, "invalid_field", tt.param)
		})
	}
}

func TestRotateKey(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	old := s.CreateClient("acme", "")
	res := s.Do("POST", "/admin/v1/clients/acme/rotate-key", admin, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	var c clientOut
	res.JSON(t, &c)
	if !strings.HasPrefix(c.APIKey, "ibk_") || c.APIKey == old.APIKey || c.WebhookSecret != "" {
		t.Fatalf("rotate answered key %q, secret %q", c.APIKey, c.WebhookSecret)
	}
	t.Run("the old key is refused", func(t *testing.T) {
		wantError(t, s.Do("GET", "/api/v1/conversations", old.APIKey, nil), http.StatusUnauthorized, "unauthorized", "")
		wantError(t, doHeader(t, s, "GET", "/api/v1/conversations", "X-API-Key", old.APIKey), http.StatusUnauthorized, "unauthorized", "")
	})
	t.Run("the new key works as a bearer token and in X-API-Key", func(t *testing.T) {
		if res := s.Do("GET", "/api/v1/conversations", c.APIKey, nil); res.Status != http.StatusOK {
			t.Errorf("bearer: %d %s", res.Status, res.Body)
		}
		if res := doHeader(t, s, "GET", "/api/v1/conversations", "X-API-Key", c.APIKey); res.Status != http.StatusOK {
			t.Errorf("X-API-Key: %d %s", res.Status, res.Body)
		}
	})
}

func TestRotateWebhookSecretSignsWithBothDuringGrace(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	old := s.CreateClient("acme", rcv.URL)
	res := s.Do("POST", "/admin/v1/clients/acme/rotate-webhook-secret", admin, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	var c clientOut
	res.JSON(t, &c)
	if !strings.HasPrefix(c.WebhookSecret, "whsec_") || c.WebhookSecret == old.WebhookSecret || c.PreviousExpiresAt == nil || c.APIKey != "" {
		t.Fatalf("rotate answered %+v", c)
	}
	inbound(t, s, extreme("+15551234567", "acme", "hello", "rot-1"))
	got := rcv.WaitFor(t, 1)[0]
	if sigs := strings.Fields(got.Header.Get("webhook-signature")); len(sigs) != 2 {
		t.Errorf("webhook-signature carries %d signatures, want 2: %q", len(sigs), sigs)
	}
	for name, secret := range map[string]string{"the new secret": c.WebhookSecret, "the old secret": old.WebhookSecret} {
		t.Run("the delivery verifies with "+name, func(t *testing.T) {
			if err := verifySW(t, secret, got); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("an unrelated secret does not verify", func(t *testing.T) {
		if err := verifySW(t, "whsec_"+strings.Repeat("A", 32), got); err == nil {
			t.Error("verified with a secret that never signed")
		}
	})
}

// verifySW checks a delivery with the Standard Webhooks reference library.
func verifySW(t *testing.T, secret string, r ibikitest.Received) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(r.Body, r.Header)
}

func TestWebhookURLMustBePublicUnlessAllowed(t *testing.T) {
	// Nothing in this test is ever delivered: no message is posted, and the URLs are only
	// validated (IP literals need no DNS).
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_ALLOW_PRIVATE_WEBHOOKS": "false"})
	s.CreateClient("acme", "")
	for _, tt := range []struct{ name, url string }{
		{"loopback is refused", "http://127.0.0.1:1/x"},
		{"a private network is refused", "http://10.0.0.1/x"},
		{"the metadata service is refused", "http://169.254.169.254/latest"},
		{"a non-http scheme is refused", "ftp://x"},
		{"an IPv6 loopback is refused", "http://[::1]/x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Do("POST", "/admin/v1/clients", admin, map[string]string{"id": "evil", "webhook_url": tt.url})
			wantError(t, res, http.StatusBadRequest, "invalid_field", "webhook_url")
			res = s.Do("PATCH", "/admin/v1/clients/acme", admin, map[string]string{"webhook_url": tt.url})
			wantError(t, res, http.StatusBadRequest, "invalid_field", "webhook_url")
		})
	}
	t.Run("a public address is accepted", func(t *testing.T) {
		res := s.Do("POST", "/admin/v1/clients", admin, map[string]string{"id": "good", "webhook_url": "http://93.184.216.34/x"})
		if res.Status != http.StatusCreated {
			t.Errorf("create: %d %s", res.Status, res.Body)
		}
		res = s.Do("PATCH", "/admin/v1/clients/acme", admin, map[string]string{"webhook_url": "https://93.184.216.34/y"})
		if res.Status != http.StatusOK {
			t.Errorf("patch: %d %s", res.Status, res.Body)
		}
	})
}

type numberOut struct {
	Number   string  `json:"number"`
	ClientID *string `json:"client_id"`
}

func TestNumbers(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	s.CreateClient("acme", "")
	create := func(body any) ibikitest.Response { return s.Do("POST", "/admin/v1/numbers", admin, body) }
	var n numberOut

	t.Run("a national number is normalised and dedicated to a client", func(t *testing.T) {
		res := create(map[string]string{"number": "(555) 000-0001", "client_id": "acme"})
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &n)
		if n.Number != "+15550000001" || n.ClientID == nil || *n.ClientID != "acme" {
			t.Errorf("number = %+v", n)
		}
	})
	t.Run("a number without client_id belongs to the pool", func(t *testing.T) {
		res := create(map[string]any{"number": "+15550000002", "client_id": nil})
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &n)
		if n.Number != "+15550000002" || n.ClientID != nil {
			t.Errorf("number = %+v", n)
		}
	})
	for _, tt := range []struct {
		name        string
		body        any
		status      int
		code, param string
	}{
		{"the same number written differently is a conflict", map[string]string{"number": "+1 555 000 0001"}, 409, "number_exists", "number"},
		{"an unknown client is refused", map[string]string{"number": "+15550000003", "client_id": "nobody"}, 400, "invalid_field", "client_id"},
		{"a missing number is refused", map[string]string{"client_id": "acme"}, 400, "missing_field", "number"},
		{"letters are not a number", map[string]string{"number": "call me"}, 400, "invalid_field", "number"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantError(t, create(tt.body), tt.status, tt.code, tt.param) })
	}

	t.Run("PATCH moves a pool number to a client and back", func(t *testing.T) {
		res := s.Do("PATCH", "/admin/v1/numbers/%2B15550000002", admin, map[string]string{"client_id": "acme"})
		if res.JSON(t, &n); res.Status != http.StatusOK || n.ClientID == nil || *n.ClientID != "acme" {
			t.Fatalf("PATCH: %d %s", res.Status, res.Body)
		}
		res = s.Do("PATCH", "/admin/v1/numbers/%2B15550000002", admin, map[string]string{})
		if res.JSON(t, &n); res.Status != http.StatusOK || n.ClientID == nil || *n.ClientID != "acme" {
			t.Fatalf("PATCH without client_id changed it: %d %s", res.Status, res.Body)
		}
		res = s.Do("PATCH", "/admin/v1/numbers/%2B15550000002", admin, map[string]any{"client_id": nil})
		if res.JSON(t, &n); res.Status != http.StatusOK || n.ClientID != nil {
			t.Fatalf("PATCH to the pool: %d %s", res.Status, res.Body)
		}
		wantError(t, s.Do("PATCH", "/admin/v1/numbers/%2B15550000002", admin, map[string]int{"client_id": 7}),
			http.StatusBadRequest, "invalid_field", "client_id")
		wantError(t, s.Do("PATCH", "/admin/v1/numbers/%2B15550000002", admin, map[string]string{"client_id": "nobody"}),
			http.StatusBadRequest, "invalid_field", "client_id")
		wantError(t, s.Do("PATCH", "/admin/v1/numbers/%2B15559999999", admin, map[string]string{"client_id": "acme"}),
			http.StatusNotFound, "not_found", "")
	})

	t.Run("the list pages through the numbers", func(t *testing.T) {
		var p struct {
			Data       []numberOut `json:"data"`
			NextCursor *string     `json:"next_cursor"`
		}
		s.Do("GET", "/admin/v1/numbers?limit=1", admin, nil).JSON(t, &p)
		if len(p.Data) != 1 || p.NextCursor == nil {
			t.Fatalf("first page = %+v", p)
		}
		first := p.Data[0].Number
		s.Do("GET", "/admin/v1/numbers?limit=1&cursor="+*p.NextCursor, admin, nil).JSON(t, &p)
		if len(p.Data) != 1 || p.Data[0].Number == first {
			t.Fatalf("second page = %+v after %s", p, first)
		}
	})

	t.Run("DELETE removes a number once", func(t *testing.T) {
		if res := s.Do("DELETE", "/admin/v1/numbers/%2B15550000001", admin, nil); res.Status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", res.Status, res.Body)
		}
		wantError(t, s.Do("DELETE", "/admin/v1/numbers/%2B15550000001", admin, nil), http.StatusNotFound, "not_found", "")
		var p struct {
			Data []numberOut `json:"data"`
		}
		s.Do("GET", "/admin/v1/numbers", admin, nil).JSON(t, &p)
		if len(p.Data) != 1 || p.Data[0].Number != "+15550000002" {
			t.Errorf("numbers after DELETE = %+v", p.Data)
		}
	})
}

func TestConcurrentAssignsDeliverOnce(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	s.CreateClient("acme", rcv.URL)
	const n = 8
	var unrouted []string
	for i := range n {
		unrouted = append(unrouted, inbound(t, s, extreme(fmt.Sprintf("+1555400000%d", i), "", "whose?", fmt.Sprintf("race-%d", i))))
	}
	eventually(t, "the messages to be unrouted", func() bool {
		var page struct{ Data []unroutedOut }
		s.Do("GET", "/admin/v1/unrouted", admin, nil).JSON(t, &page)
		return len(page.Data) == n
	})
	// Each message is assigned by four operators at once: one wins, the others conflict. (One
	// message at a time: concurrent writes to several rows can deadlock between PostgreSQL
	// batches, a store matter this test is not about.)
	for _, id := range unrouted {
		statuses := make(chan int, 4)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				statuses <- s.Do("POST", "/admin/v1/unrouted/"+id+"/assign", admin, map[string]string{"client_id": "acme"}).Status
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for st := range statuses {
			count[st]++
		}
		if count[200] != 1 || count[409] != 3 {
			t.Errorf("assigning %s four times at once answered %v, want one 200 and three 409", id, count)
		}
	}
	rcv.WaitFor(t, n)
	seen := map[string]int{}
	for _, r := range rcv.Requests() {
		var ev event
		_ = json.Unmarshal(r.Body, &ev)
		seen[ev.Data.ID]++
	}
	for _, id := range unrouted {
		if seen[id] != 1 {
			t.Errorf("message %s delivered %d times", id, seen[id])
		}
	}
}

// rawKeys returns the keys of a JSON object.
func rawKeys(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v", b, err)
	}
	return m
}

func TestAuditLogRecordsAdminChanges(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	s.CreateClient("acme", "")
	s.CreateClient("globex", "")
	wantError(t, s.Do("POST", "/admin/v1/clients", admin, map[string]string{"id": "Bad Id"}), 400, "invalid_field", "id")
	topUp(t, s, "acme", 500)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000099", "client_id": "acme"}, http.StatusCreated)
	mustDo(t, s, "GET", "/admin/v1/clients", admin, nil, http.StatusOK)
	var pg struct {
		Data []struct {
			Actor    string `json:"actor"`
			Action   string `json:"action"`
			ClientID string `json:"client_id"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/admin/v1/audit", admin, nil, http.StatusOK).JSON(t, &pg)
	var got []string
	for _, e := range pg.Data {
		if e.Actor != "admin API token" {
			t.Errorf("actor = %q", e.Actor)
		}
		got = append(got, e.Action+" "+e.ClientID)
	}
	want := []string{"number.create acme", "credits.top_up acme", "client.create globex", "client.create acme"}
	if !slices.Equal(got, want) {
		t.Errorf("audit log = %q, want %q (refused requests and reads are not recorded)", got, want)
	}
	mustDo(t, s, "GET", "/admin/v1/audit?client_id=globex", admin, nil, http.StatusOK).JSON(t, &pg)
	if len(pg.Data) != 1 || pg.Data[0].Action != "client.create" {
		t.Errorf("globex's audit log = %+v", pg.Data)
	}
	wantError(t, s.Do("GET", "/admin/v1/audit", "", nil), 401, "unauthorized", "")
}
