package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// textField is one text field of the API: where it is sent, and its path in a 400's param.
type textField struct {
	method, path string
	admin        bool
	param        string
	body         func(v string) any
}

// textFields lists the API's text fields, on a server with client acme (key), its contact
// contactID and its conversation with phone. Fields whose requests create something take a
// fresh id from seq each time.
func textFields(contactID, phone string, seq *atomic.Int64) []textField {
	next := func() int64 { return seq.Add(1) }
	obj := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	to := func() string { return fmt.Sprintf("+1555260%04d", next()%10000) }
	return []textField{
		{"POST", "/api/v1/messages", false, "body", func(v string) any { return obj("to", to(), "body", v) }},
		{"POST", "/api/v1/messages", false, "from", func(v string) any { return obj("to", to(), "body", "hi", "from", v) }},
		{"POST", "/api/v1/messages", false, "to", func(v string) any { return obj("to", v, "body", "hi") }},
		{"POST", "/api/v1/conversations/" + strings.Replace(phone, "+", "%2B", 1) + "/messages", false, "body",
			func(v string) any { return obj("body", v) }},
		{"POST", "/api/v1/messages/bulk", false, "messages[1].body", func(v string) any {
			return obj("messages", []any{obj("to", to(), "body", "ok"), obj("to", to(), "body", v)})
		}},
		{"POST", "/api/v1/messages/bulk", false, "template", func(v string) any {
			return obj("template", v, "contacts", []any{obj("phone", to())})
		}},
		{"POST", "/api/v1/messages/bulk", false, "contacts[2].name", func(v string) any {
			return obj("template", "Hi [name]", "contacts", []any{obj("phone", to(), "name", "A"),
				obj("phone", to(), "name", "B"), obj("phone", to(), "name", v)})
		}},
		{"POST", "/api/v1/contacts", false, "first_name", func(v string) any {
			return obj("phone", to(), "first_name", v)
		}},
		{"POST", "/api/v1/contacts", false, "tags[0]", func(v string) any { return obj("phone", to(), "tags", []any{v}) }},
		{"POST", "/api/v1/contacts", false, "fields.code", func(v string) any {
			return obj("phone", to(), "fields", obj("code", v))
		}},
		{"PATCH", "/api/v1/contacts/" + contactID, false, "last_name", func(v string) any { return obj("last_name", v) }},
		{"POST", "/api/v1/suppressions", false, "phone", func(v string) any { return obj("phone", v) }},
		{"POST", "/api/v1/campaigns", false, "name", func(v string) any {
			return obj("name", v, "message", "Hello", "tag", "nobody-has-this-tag")
		}},
		{"POST", "/admin/v1/clients/acme/credits", true, "reference", func(v string) any {
			return obj("amount_cents", 1, "reference", v)
		}},
		{"POST", "/admin/v1/clients", true, "name", func(v string) any {
			return obj("id", fmt.Sprintf("fuzz%d", next()), "name", v)
		}},
		{"POST", "/admin/v1/clients", true, "webhook_url", func(v string) any {
			return obj("id", fmt.Sprintf("fuzz%d", next()), "webhook_url", v)
		}},
		{"PATCH", "/admin/v1/clients/acme", true, "name", func(v string) any { return obj("name", v) }},
		{"POST", "/admin/v1/numbers", true, "provider", func(v string) any {
			return obj("number", fmt.Sprintf("+1555270%04d", next()%10000), "provider", v)
		}},
		{"POST", "/admin/v1/simulator/inbound", true, "body", func(v string) any {
			return obj("from", to(), "to", "+15557654321", "body", v)
		}},
		{"POST", "/admin/v1/unrouted/msg_none/assign", true, "client_id", func(v string) any { return obj("client_id", v) }},
	}
}

// apiError is the error answer's body.
type apiError struct {
	Error struct{ Code, Message, Param string } `json:"error"`
}

// FuzzAPITextFields sends text of every kind in every text field of the API, on the engine
// the suite runs on: nothing is a 5xx, and a NUL character (which PostgreSQL cannot store) is
// a 400 invalid_field naming the field, before anything is written. The seed corpus runs in
// every `go test`. Each input is a request through the server, so when fuzzing keep the
// minimization short: go test -run '^$' -fuzz FuzzAPITextFields -fuzzminimizetime 1s ./internal/api/
func FuzzAPITextFields(f *testing.F) {
	s := ibikitest.NewServer(f, nil)
	acme := s.CreateClient("acme", "")
	s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 1_000_000})
	var ct struct{ ID string }
	if res := s.Do("POST", "/api/v1/contacts", acme.APIKey, map[string]string{"phone": "+15552500001"}); res.Status != http.StatusCreated {
		f.Fatalf("create contact: %d %s", res.Status, res.Body)
	} else {
		res.JSON(f, &ct)
	}
	const phone = "+15552500002"
	s.Do("POST", "/webhooks/extremesms", "", map[string]any{"from": phone, "business": "acme", "message": "hi", "messageId": "fuzz-conv"})
	for deadline := time.Now().Add(20 * time.Second); s.Do("GET", "/api/v1/conversations/"+strings.Replace(phone, "+", "%2B", 1)+"/messages",
		acme.APIKey, nil).Status != http.StatusOK; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.Fatal("the conversation was not created")
		}
	}
	var seq atomic.Int64
	fields := textFields(ct.ID, phone, &seq)
	for i := range fields {
		for _, v := range []string{"plain text", "a\x00b", "\x00", "é😀\x00", "", " ", "\xff\xfe", strings.Repeat("x", 300)} {
			f.Add(uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, v string) {
		fld := fields[int(which)%len(fields)]
		auth := acme.APIKey
		if fld.admin {
			auth = ibikitest.AdminToken
		}
		status, body := call(t, s.URL, fld.method, fld.path, auth, fld.body(v))
		if status >= 500 {
			t.Fatalf("%s %s with %s = %q: %d %s", fld.method, fld.path, fld.param, v, status, body)
		}
		if !strings.ContainsRune(v, 0) {
			return
		}
		var e apiError
		_ = json.Unmarshal(body, &e)
		if status != http.StatusBadRequest || e.Error.Code != "invalid_field" || e.Error.Param != fld.param ||
			!strings.Contains(e.Error.Message, "NUL") {
			t.Errorf("%s %s with a NUL in %s: %d %s, want 400 invalid_field naming %s", fld.method, fld.path, fld.param,
				status, body, fld.param)
		}
	})
}

// fuzzClient gives up on a request that hangs, so that the fuzzer reports it.
var fuzzClient = &http.Client{Timeout: 10 * time.Second}

// call sends a JSON request to the server and returns its answer (the fuzz function may not
// use the server's own helpers: they report to the fuzz target, not to t).
func call(t *testing.T, base, method, path, auth string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+auth)
	res, err := fuzzClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, out
}
