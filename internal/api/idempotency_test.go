package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

// count answers how many items a list endpoint holds (first page of 100).
func count(t *testing.T, s *ibikitest.Server, path, auth string) int {
	t.Helper()
	var p struct {
		Data []json.RawMessage `json:"data"`
	}
	mustDo(t, s, "GET", path+"?limit=100", auth, nil, http.StatusOK).JSON(t, &p)
	return len(p.Data)
}

// Every creating call takes an Idempotency-Key: the same key with the same body answers the
// first answer again and makes nothing new; the same key with another body is 409.
func TestIdempotencyKeyOnEveryCreatingCall(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	cases := []struct {
		name, path, auth string
		body, other      string
		list             string // what grows by one with each creation
	}{
		{"a contact", "/api/v1/contacts", acme.APIKey,
			`{"phone":"+15553300001","first_name":"Ann"}`, `{"phone":"+15553300002"}`, "/api/v1/contacts"},
		{"a client's suppression", "/api/v1/suppressions", acme.APIKey,
			`{"phone":"+15553300003"}`, `{"phone":"+15553300004"}`, "/api/v1/suppressions"},
		{"an operator's suppression", "/admin/v1/clients/acme/suppressions", admin,
			`{"phone":"+15553300005"}`, `{"phone":"+15553300006"}`, "/admin/v1/clients/acme/suppressions"},
		{"a number", "/admin/v1/numbers", admin,
			`{"number":"+15553300007","client_id":"acme"}`, `{"number":"+15553300008"}`, "/admin/v1/numbers"},
		{"a top-up", "/admin/v1/clients/acme/credits", admin,
			`{"amount_cents":5,"reference":"inv-1"}`, `{"amount_cents":6}`, "/admin/v1/clients/acme/ledger"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is made once", func(t *testing.T) {
			post := func(body string) ibikitest.Response {
				t.Helper()
				return s.DoWith("POST", tc.path, tc.auth, body, map[string]string{"Idempotency-Key": "key-" + tc.name})
			}
			before := count(t, s, tc.list, tc.auth)
			first := post(tc.body)
			if first.Status != http.StatusCreated && first.Status != http.StatusOK {
				t.Fatalf("first: %d %s", first.Status, first.Body)
			}
			if first.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("the first answer says it is replayed")
			}
			again := post(tc.body)
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("repeat: %d %s (replayed %q), want the first answer %d %s",
					again.Status, again.Body, again.Header.Get("Idempotent-Replayed"), first.Status, first.Body)
			}
			wantError(t, post(tc.other), http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")
			if n := count(t, s, tc.list, tc.auth); n != before+1 {
				t.Errorf("%s holds %d, want %d: one creation", tc.list, n, before+1)
			}
		})
	}

	t.Run("the operator's keys are its own, across paths", func(t *testing.T) {
		// The client used "shared" first; the operator's "shared" is another key.
		mustDoKey(t, s, "/api/v1/contacts", acme.APIKey, "shared", `{"phone":"+15553300020"}`, http.StatusCreated)
		mustDoKey(t, s, "/admin/v1/numbers", admin, "shared", `{"number":"+15553300021"}`, http.StatusCreated)
		// One operator key on another path is another request.
		wantError(t, s.DoWith("POST", "/admin/v1/clients/acme/credits", admin, `{"amount_cents":1}`,
			map[string]string{"Idempotency-Key": "shared"}), http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")
	})

	t.Run("a replay is not audited as another change", func(t *testing.T) {
		var p struct {
			Data []struct {
				Action string `json:"action"`
				Detail string `json:"detail"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/admin/v1/audit?limit=100", admin, nil, http.StatusOK).JSON(t, &p)
		n := 0
		for _, e := range p.Data {
			if e.Action == "number.create" && strings.Contains(e.Detail, "+15553300007") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d number.create entries for +15553300007, want 1: %+v", n, p.Data)
		}
	})

	t.Run("concurrent requests with one key make one contact", func(t *testing.T) {
		sameKeyAtOnce(t, 8, http.StatusCreated, func() ibikitest.Response {
			return s.DoWith("POST", "/api/v1/contacts", acme.APIKey, `{"phone":"+15553300030"}`, map[string]string{"Idempotency-Key": "race"})
		})
	})

	t.Run("a refused request keeps no answer", func(t *testing.T) {
		wantError(t, s.DoWith("POST", "/api/v1/contacts", acme.APIKey, `{"phone":"12"}`, map[string]string{"Idempotency-Key": "fixme"}),
			http.StatusBadRequest, "invalid_field", "phone")
		mustDoKey(t, s, "/api/v1/contacts", acme.APIKey, "fixme", `{"phone":"+15553300040"}`, http.StatusCreated)
	})
}

func mustDoKey(t *testing.T, s *ibikitest.Server, path, auth, key, body string, status int) ibikitest.Response {
	t.Helper()
	res := s.DoWith("POST", path, auth, body, map[string]string{"Idempotency-Key": key})
	if res.Status != status {
		t.Fatalf("POST %s with key %s: %d %s, want %d", path, key, res.Status, res.Body, status)
	}
	return res
}

// Creating a client answers its API key and webhook secret once. A repeat with the key does
// not create another client, and does not show the secrets again: they are not kept anywhere
// in clear, so it is 409 secrets_shown_once, naming the client to rotate.
func TestIdempotentClientCreationKeepsNoSecret(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	body := `{"id":"acme","name":"Acme"}`
	first := mustDoKey(t, s, "/admin/v1/clients", admin, "new-acme", body, http.StatusCreated)
	var created ibikitest.CreatedClient
	first.JSON(t, &created)
	if created.APIKey == "" || created.WebhookSecret == "" {
		t.Fatalf("first answer %s has no secrets", first.Body)
	}

	again := s.DoWith("POST", "/admin/v1/clients", admin, body, map[string]string{"Idempotency-Key": "new-acme"})
	wantError(t, again, http.StatusConflict, "secrets_shown_once", "Idempotency-Key")
	if !strings.Contains(string(again.Body), "/admin/v1/clients/acme/rotate-key") || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat %s (replayed %q) should name the rotation", again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	wantError(t, s.DoWith("POST", "/admin/v1/clients", admin, `{"id":"globex"}`, map[string]string{"Idempotency-Key": "new-acme"}),
		http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")

	kept, err := s.Store.IdempotentAnswer(t.Context(), store.OperatorOwner, "new-acme")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(kept.Response, []byte(created.APIKey)) || bytes.Contains(kept.Response, []byte(created.WebhookSecret)) {
		t.Errorf("the kept answer %s holds a secret", kept.Response)
	}
	// The first key still works: a repeat rotated nothing.
	mustDo(t, s, "GET", "/api/v1/balance", created.APIKey, nil, http.StatusOK)
	if n := count(t, s, "/admin/v1/clients", admin); n != 1 {
		t.Errorf("%d clients, want 1", n)
	}

	t.Run("concurrent requests with one key make one client", func(t *testing.T) {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			answers = map[string]int{}
		)
		for range 8 {
			wg.Go(func() {
				res := s.DoWith("POST", "/admin/v1/clients", admin, `{"id":"initech"}`, map[string]string{"Idempotency-Key": "race"})
				code := http.StatusText(res.Status)
				if res.Status == http.StatusConflict {
					var e struct {
						Error struct{ Code string } `json:"error"`
					}
					_ = json.Unmarshal(res.Body, &e)
					code = e.Error.Code
				}
				mu.Lock()
				answers[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if answers["Created"] != 1 || answers["secrets_shown_once"] != 7 {
			t.Errorf("answers %v, want one Created and 7 secrets_shown_once", answers)
		}
	})
}

// postImport posts a contact import with an Idempotency-Key, with a fresh multipart boundary.
func postImport(t *testing.T, s *ibikitest.Server, apiKey, key, file, tag string) ibikitest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "contacts.csv")
	io.WriteString(fw, file)
	mw.WriteField("tag", tag)
	mw.Close()
	return s.DoWith("POST", "/api/v1/contacts/import", apiKey, body.Bytes(),
		map[string]string{"Content-Type": mw.FormDataContentType(), "Idempotency-Key": key})
}

// A contact import takes a key too; the request is its fields and file, not its boundary.
func TestIdempotentContactImport(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	file := "phone,first name\n+15553400001,Ann\n+15553400002,Bo\n"
	first := postImport(t, s, acme.APIKey, "imp-1", file, "spring")
	if first.Status != http.StatusOK {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	var rep importReport
	first.JSON(t, &rep)
	if rep.Imported != 2 {
		t.Fatalf("report %s, want 2 imported", first.Body)
	}
	again := postImport(t, s, acme.APIKey, "imp-1", file, "spring")
	if again.Status != http.StatusOK || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: %d %s, want the first report %s", again.Status, again.Body, first.Body)
	}
	wantError(t, postImport(t, s, acme.APIKey, "imp-1", file, "autumn"), http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")
	wantError(t, postImport(t, s, acme.APIKey, "imp-1", file+"+15553400003,Cy\n", "spring"), http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")
	if n := count(t, s, "/api/v1/contacts", acme.APIKey); n != 2 {
		t.Errorf("%d contacts, want 2", n)
	}
}

// sameKeyAtOnce sends n requests with one Idempotency-Key at the same time: each must answer
// want, all with the same created object (one "id").
func sameKeyAtOnce(t *testing.T, n, want int, do func() ibikitest.Response) {
	t.Helper()
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range ids {
		wg.Go(func() {
			res := do()
			var v struct {
				ID string `json:"id"`
			}
			if res.Status == want && json.Unmarshal(res.Body, &v) == nil {
				ids[i] = v.ID
			} else {
				t.Errorf("concurrent repeat: %d %s", res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	if len(slices.Compact(slices.Clone(ids))) != 1 {
		t.Errorf("ids = %v, want one", ids)
	}
}

// A campaign's Idempotency-Key is kept from the moment the campaign is stored (a retry during a
// long upload finds it instead of making another), but only a success stays kept: a create
// refused afterwards (no valid recipient, not enough credits) can be retried with its key once
// fixed, and the retry does the work instead of replaying the refusal as a success.
func TestARefusedCampaignKeepsNoIdempotencyKey(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	post := func(key string, body any) ibikitest.Response {
		return s.DoWith("POST", "/api/v1/campaigns", acme.APIKey, body, map[string]string{"Idempotency-Key": key})
	}
	t.Run("no valid recipient, twice, is refused twice", func(t *testing.T) {
		body := map[string]any{"message": "Hi", "tag": "nobody-has-it"}
		for i := 0; i < 2; i++ {
			res := post("nobody", body)
			if res.Status != http.StatusUnprocessableEntity || res.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("try %d: %d (replayed %q) %s, want a fresh 422", i+1, res.Status, res.Header.Get("Idempotent-Replayed"), res.Body)
			}
		}
	})
	t.Run("not enough credits, then a top-up: the retry with the key starts a campaign", func(t *testing.T) {
		mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553500001", "tags": []string{"vip"}}, http.StatusCreated)
		body := map[string]any{"message": "Hi", "tag": "vip"}
		if res := post("poor", body); res.Status != http.StatusPaymentRequired || !strings.Contains(string(res.Body), `"code":"insufficient_credits"`) {
			t.Fatalf("first: %d %s, want 402 insufficient_credits", res.Status, res.Body)
		}
		topUp(t, s, "acme", 100)
		res := post("poor", body)
		var cp struct{ ID, Status string }
		res.JSON(t, &cp)
		if res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "" || cp.Status == "draft" {
			t.Fatalf("retry: %d (replayed %q) %s, want a new campaign, started", res.Status, res.Header.Get("Idempotent-Replayed"), res.Body)
		}
		again := post("poor", body)
		if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(again.Body), cp.ID) {
			t.Errorf("repeat of the success: %d %s, want it replayed", again.Status, again.Body)
		}
	})
}
