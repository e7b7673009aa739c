package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

const (
	dltOTP    = "1107161234567890123"
	dltEntity = "1201159876543210987"
)

// aggregator is a fake Indian aggregator: an http provider whose body template carries the DLT
// ids; it records what it was sent.
type aggregator struct {
	mu   sync.Mutex
	sent []map[string]string
}

func (g *aggregator) bodies() []map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]string(nil), g.sent...)
}

func newAggregatorServer(t *testing.T) (*ibikitest.Server, *aggregator) {
	t.Helper()
	g := &aggregator{}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("aggregator got %s: %v", b, err)
		}
		g.mu.Lock()
		g.sent = append(g.sent, m)
		n := len(g.sent)
		g.mu.Unlock()
		io.WriteString(w, `{"id":"agg-`+strings.Repeat("x", n)+`"}`)
	}))
	t.Cleanup(fake.Close)
	file := writeFile(t, `{"default":"agg","providers":[{"name":"agg","type":"http","url":"`+fake.URL+`","id_path":"id",
		"body":{"to":"{to}","text":"{body}","template_id":"{dlt_template_id}","pe_id":"{dlt_entity_id}","ref":"{id}"}}]}`)
	return ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file}), g
}

func TestDLTTemplates(t *testing.T) {
	s, agg := newAggregatorServer(t)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 1000)
	otp := map[string]string{"template_id": dltOTP, "entity_id": dltEntity, "sender": "ACMEIN",
		"text": "Your OTP is {#var#}. Do not share it. - ACME"}
	var tpl struct {
		ID         string `json:"id"`
		TemplateID string `json:"template_id"`
		Variables  int    `json:"variables"`
	}
	mustDo(t, s, "POST", "/api/v1/dlt-templates", acme.APIKey, otp, http.StatusCreated).JSON(t, &tpl)
	if !strings.HasPrefix(tpl.ID, "dlt_") || tpl.TemplateID != dltOTP || tpl.Variables != 1 {
		t.Fatalf("template %+v", tpl)
	}
	mustDo(t, s, "POST", "/api/v1/dlt-templates", acme.APIKey, map[string]string{"template_id": "1107161234567890124", "entity_id": dltEntity,
		"sender": "ACMEIN", "text": "नमस्ते {#var#}, आपका बैलेंस {#var#} है"}, http.StatusCreated)

	t.Run("registration refuses bad fields by name", func(t *testing.T) {
		for field, edit := range map[string][2]string{
			"template_id": {"template_id", "TPL-1"},
			"entity_id":   {"entity_id", "12"},
			"sender":      {"sender", "AC"},
			"text":        {"text", " "},
		} {
			in := map[string]string{}
			for k, v := range otp {
				in[k] = v
			}
			in[edit[0]] = edit[1]
			wantError(t, s.Do("POST", "/api/v1/dlt-templates", acme.APIKey, in), http.StatusBadRequest, "invalid_field", field)
		}
		wantError(t, s.Do("POST", "/api/v1/dlt-templates", acme.APIKey, otp), http.StatusConflict, "dlt_template_exists", "template_id")
	})

	t.Run("a matching send carries the ids to the aggregator", func(t *testing.T) {
		var m struct {
			ID            string `json:"id"`
			DLTTemplateID string `json:"dlt_template_id"`
			DLTEntityID   string `json:"dlt_entity_id"`
		}
		mustDo(t, s, "POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+919812345678",
			"body": "Your OTP is 482913. Do not share it. - ACME", "dlt_template_id": dltOTP}, http.StatusAccepted).JSON(t, &m)
		if m.DLTTemplateID != dltOTP || m.DLTEntityID != dltEntity {
			t.Fatalf("answer %+v", m)
		}
		waitStatus(t, s, acme.APIKey, m.ID, "sent")
		got := agg.bodies()
		last := got[len(got)-1]
		if last["ref"] != m.ID || last["template_id"] != dltOTP || last["pe_id"] != dltEntity {
			t.Fatalf("aggregator got %v", last)
		}
		var read struct {
			DLTTemplateID string `json:"dlt_template_id"`
		}
		mustDo(t, s, "GET", "/api/v1/messages/"+m.ID, acme.APIKey, nil, http.StatusOK).JSON(t, &read)
		if read.DLTTemplateID != dltOTP {
			t.Errorf("read back %+v", read)
		}
	})

	t.Run("a send without a template reaches the aggregator with empty ids", func(t *testing.T) {
		m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "+919812345679", "body": "no template"})
		waitStatus(t, s, acme.APIKey, m.ID, "sent")
		for _, b := range agg.bodies() {
			if b["ref"] == m.ID && (b["template_id"] != "" || b["pe_id"] != "") {
				t.Errorf("aggregator got %v", b)
			}
		}
	})

	sends := []struct {
		name, body, id string
		status         int
		code, param    string
	}{
		{"unicode values match", "नमस्ते आशा, आपका बैलेंस ₹1,250.00 है", "1107161234567890124", http.StatusAccepted, "", ""},
		{"30 unicode characters in a value match", "नमस्ते " + strings.Repeat("आ", 30) + ", आपका बैलेंस 1 है", "1107161234567890124", http.StatusAccepted, "", ""},
		{"31 unicode characters in a value do not", "नमस्ते " + strings.Repeat("आ", 31) + ", आपका बैलेंस 1 है", "1107161234567890124", http.StatusUnprocessableEntity, "dlt_template_mismatch", "body"},
		{"an empty value matches", "Your OTP is . Do not share it. - ACME", dltOTP, http.StatusAccepted, "", ""},
		{"a changed literal does not match", "Your OTP is 1234. Please share it. - ACME", dltOTP, http.StatusUnprocessableEntity, "dlt_template_mismatch", "body"},
		{"31 digits do not match", "Your OTP is " + strings.Repeat("1", 31) + ". Do not share it. - ACME", dltOTP, http.StatusUnprocessableEntity, "dlt_template_mismatch", "body"},
		{"an unknown template is refused", "Your OTP is 1. Do not share it. - ACME", "1107000000000000000", http.StatusUnprocessableEntity, "dlt_template_unknown", "dlt_template_id"},
	}
	for _, tt := range sends {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+919812345670", "body": tt.body, "dlt_template_id": tt.id})
			if tt.status == http.StatusAccepted {
				mustDoResponse(t, res, http.StatusAccepted)
				return
			}
			wantError(t, res, tt.status, tt.code, tt.param)
		})
	}

	t.Run("a client that requires DLT must name a template", func(t *testing.T) {
		var c struct {
			DLTRequired bool `json:"dlt_required"`
		}
		mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"dlt_required": true}, http.StatusOK).JSON(t, &c)
		if !c.DLTRequired {
			t.Fatal("dlt_required not set")
		}
		wantError(t, s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+919812345671",
			"body": "Your OTP is 1. Do not share it. - ACME"}), http.StatusUnprocessableEntity, "dlt_template_required", "dlt_template_id")
		mustDo(t, s, "POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+919812345671",
			"body": "Your OTP is 1. Do not share it. - ACME", "dlt_template_id": dltOTP}, http.StatusAccepted)
		var rep struct {
			Accepted int `json:"accepted"`
			Errors   []struct {
				Index int    `json:"index"`
				Code  string `json:"code"`
				Param string `json:"param"`
			} `json:"errors"`
		}
		mustDo(t, s, "POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []map[string]string{
			{"to": "+919812345672", "body": "Your OTP is 2. Do not share it. - ACME", "dlt_template_id": dltOTP},
			{"to": "+919812345673", "body": "Your OTP is 3. Do not share it. - ACME"},
			{"to": "+919812345674", "body": "Hello", "dlt_template_id": dltOTP},
		}}, http.StatusAccepted).JSON(t, &rep)
		if rep.Accepted != 1 || len(rep.Errors) != 2 || rep.Errors[0].Code != "dlt_template_required" || rep.Errors[1].Code != "dlt_template_mismatch" ||
			rep.Errors[1].Param != "body" {
			t.Errorf("bulk report %+v", rep)
		}
		mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"dlt_required": false}, http.StatusOK)
	})

	t.Run("the operator lists, registers and removes a client's templates", func(t *testing.T) {
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/admin/v1/clients/acme/dlt-templates", admin, nil, http.StatusOK).JSON(t, &page)
		if len(page.Data) != 2 {
			t.Fatalf("templates %+v", page)
		}
		var made struct {
			ID string `json:"id"`
		}
		mustDo(t, s, "POST", "/admin/v1/clients/acme/dlt-templates", admin, map[string]string{"template_id": "1107161234567890125",
			"entity_id": dltEntity, "sender": "ACMEIN", "text": "Bye {#var#}"}, http.StatusCreated).JSON(t, &made)
		mustDo(t, s, "GET", "/api/v1/dlt-templates/"+made.ID, acme.APIKey, nil, http.StatusOK)
		mustDo(t, s, "DELETE", "/admin/v1/clients/acme/dlt-templates/"+made.ID, admin, nil, http.StatusNoContent)
		mustDo(t, s, "GET", "/api/v1/dlt-templates/"+made.ID, acme.APIKey, nil, http.StatusNotFound)
		wantError(t, s.Do("GET", "/admin/v1/clients/nobody/dlt-templates", admin, nil), http.StatusNotFound, "not_found", "")
	})

	t.Run("the client removes one of its templates; sends naming it are refused", func(t *testing.T) {
		mustDo(t, s, "DELETE", "/api/v1/dlt-templates/"+tpl.ID, acme.APIKey, nil, http.StatusNoContent)
		wantError(t, s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+919812345675",
			"body": "Your OTP is 1. Do not share it. - ACME", "dlt_template_id": dltOTP}), http.StatusUnprocessableEntity, "dlt_template_unknown", "dlt_template_id")
	})
}

func TestOwnRepliesOfADLTClientGoOnlyWhenATemplateMatches(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	rcv := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", rcv.URL)
	topUp(t, s, "acme", 100)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15557654321", "client_id": "acme"}, http.StatusCreated)
	mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"dlt_required": true}, http.StatusOK)
	mustDo(t, s, "PUT", "/api/v1/auto-replies", acme.APIKey, map[string]any{"text": "Thanks [firstname|friend], we got it."}, http.StatusOK)
	write := func(from, body, id string) {
		t.Helper()
		eventFor(t, rcv, inbound(t, s, extreme(from, "acme", body, id)))
	}
	write("+15552000001", "hello", "dlt-1")
	if got := outboundTo(t, s, acme.APIKey, "+15552000001"); len(got) != 0 {
		t.Fatalf("an auto-reply no template covers was sent: %q", got)
	}
	mustDo(t, s, "POST", "/api/v1/dlt-templates", acme.APIKey, map[string]string{"template_id": dltOTP, "entity_id": dltEntity,
		"sender": "ACMEIN", "text": "Thanks {#var#}, we got it."}, http.StatusCreated)
	write("+15552000002", "hello", "dlt-2")
	var page struct {
		Data []struct {
			Body          string `json:"body"`
			DLTTemplateID string `json:"dlt_template_id"`
			DLTEntityID   string `json:"dlt_entity_id"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/api/v1/messages?direction=outbound&to="+esc("+15552000002"), acme.APIKey, nil, http.StatusOK).JSON(t, &page)
	if len(page.Data) != 1 || page.Data[0].DLTTemplateID != dltOTP || page.Data[0].DLTEntityID != dltEntity {
		t.Fatalf("auto-reply %+v, want one under the template", page.Data)
	}
}

// The Twilio-shaped API has no field for a DLT template: a client that requires DLT has its
// body matched to its templates, and a body that matches none is refused in Twilio's shape.
func TestTwilioSendsOfADLTClientAreMatchedToItsTemplates(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 100)
	sid, token := twilioCredentials(t, s, "acme", http.StatusCreated)
	mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"dlt_required": true}, http.StatusOK)
	mustDo(t, s, "POST", "/api/v1/dlt-templates", acme.APIKey, map[string]string{"template_id": dltOTP, "entity_id": dltEntity,
		"sender": "ACMEIN", "text": "Your OTP is {#var#}."}, http.StatusCreated)

	status, _, out := twilioPost(t, s, sid, token, "/Messages.json", url.Values{"To": {"+919812345678"}, "Body": {"Your OTP is 1234."}}, nil)
	if status != http.StatusCreated {
		t.Fatalf("matching body: %d %v", status, out)
	}
	msgs := mustDo(t, s, "GET", "/api/v1/messages?direction=outbound", acme.APIKey, nil, http.StatusOK)
	if !strings.Contains(string(msgs.Body), `"dlt_template_id":"`+dltOTP+`"`) {
		t.Errorf("the message does not carry the template's id: %s", msgs.Body)
	}
	status, _, out = twilioPost(t, s, sid, token, "/Messages.json", url.Values{"To": {"+919812345678"}, "Body": {"Hello there"}}, nil)
	if status != http.StatusUnprocessableEntity || out["code"] != float64(20422) || !strings.Contains(out["message"].(string), "DLT") {
		t.Errorf("non-matching body: %d %v", status, out)
	}
}
