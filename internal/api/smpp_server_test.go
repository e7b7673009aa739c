package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/smpp/smpptest"
)

// smppLogin is the answer of POST /admin/v1/clients/{id}/smpp-password.
type smppLogin struct {
	SystemID   string   `json:"system_id"`
	Password   string   `json:"password"`
	AllowedIPs []string `json:"allowed_ips"`
	MaxBinds   int      `json:"max_binds"`
	MODelivery string   `json:"mo_delivery"`
	Rate       int      `json:"rate"`
}

func smppPassword(t *testing.T, s *ibikitest.Server, id string, body any, want int) smppLogin {
	t.Helper()
	var l smppLogin
	res := mustDo(t, s, "POST", "/admin/v1/clients/"+id+"/smpp-password", admin, body, want)
	if want == http.StatusOK {
		res.JSON(t, &l)
	}
	return l
}

// A client's own ESME (node-smpp's client.js, not our code) binds to Ibiki's SMPP server,
// submits a message asking a receipt, and gets it back as deliver_sm once the upstream SMSC
// (node-smpp's simulator) reported it delivered, under the message id submit_sm_resp gave; a
// contact's message to the client's number reaches it as deliver_sm too. A wrong password is
// refused.
func TestSMPPServerWithNodeSMPPClient(t *testing.T) {
	sim, s := serverOnSim(t)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 1000)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "12345", "client_id": "acme", "provider": "smsc"}, http.StatusCreated)
	addr, err := s.App.SMPP.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	login := smppPassword(t, s, "acme", nil, http.StatusOK)
	if login.SystemID != "acme" || len(login.Password) != 8 || login.MaxBinds != 4 || login.MODelivery != "fallback" ||
		len(login.AllowedIPs) != 0 || login.Rate != 0 {
		t.Fatalf("login = %+v", login)
	}

	out, ok := smpptest.RunClient(t, addr.String(), sim, "SYSTEM_ID=acme", "PASSWORD="+login.Password, "N=20", "TIMEOUT_MS=20000")
	if !ok {
		t.Fatalf("client.js failed:\n%s", out)
	}
	var id string
	for _, line := range strings.Split(out, "\n") {
		if rest, found := strings.CutPrefix(line, "submit_sm_resp message_id "); found {
			id = strings.TrimSpace(rest)
		}
	}
	if !strings.HasPrefix(id, "msg_") || !strings.Contains(out, `"receipted_message_id":"`+id+`"`) ||
		!strings.Contains(out, "stat:DELIVRD") || !strings.Contains(out, `"text":"hello MO from handset"`) ||
		!strings.Contains(out, "failed 0") {
		t.Fatalf("client.js saw:\n%s", out)
	}
	var m struct {
		From, To, Body, Status string
	}
	mustDo(t, s, "GET", "/api/v1/messages/"+id, acme.APIKey, nil, http.StatusOK).JSON(t, &m)
	if m.From != "12345" || m.To != "+46700000001" || m.Body != "hello over SMPP" || m.Status != "delivered" {
		t.Fatalf("message = %+v", m)
	}
	// client.js waits for its first message's receipt only: the load may still be on its way
	// upstream.
	var (
		st struct {
			SubmitSM int `json:"submit_sm"`
		}
		body string
	)
	eventually(t, "the SMSC saw the 21 submits", func() bool {
		_, b, err := sim.Get(t.Context(), "/stats")
		body = b
		return err == nil && json.Unmarshal([]byte(b), &st) == nil && st.SubmitSM >= 21
	})
	if st.SubmitSM != 21 {
		t.Fatalf("the SMSC saw %d submits: %s", st.SubmitSM, body)
	}
	metrics := string(s.Do("GET", "/metrics", "", nil).Body)
	for _, want := range []string{`ibiki_smpp_server_pdus_total{command="submit_sm",status="ESME_ROK"} 21`,
		`ibiki_smpp_server_pdus_total{command="deliver_sm_receipt",status="ESME_ROK"} 1`,
		`ibiki_smpp_server_pdus_total{command="deliver_sm_mo",status="ESME_ROK"} 1`,
		`ibiki_smpp_server_binds{client="acme",kind="transceiver"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	t.Run("a wrong password is ESME_RBINDFAIL", func(t *testing.T) {
		out, ok := smpptest.RunClient(t, addr.String(), nil, "SYSTEM_ID=acme", "PASSWORD=wrong")
		if ok || !strings.Contains(out, "bind failed, status 13") {
			t.Fatalf("client.js with a wrong password:\n%s", out)
		}
	})
	t.Run("a rotated password replaces the former", func(t *testing.T) {
		again := smppPassword(t, s, "acme", map[string]any{"max_binds": 2, "allowed_ips": []string{"127.0.0.1", "10.0.0.0/8"}}, http.StatusOK)
		if again.Password == login.Password || again.MaxBinds != 2 || strings.Join(again.AllowedIPs, ",") != "127.0.0.1/32,10.0.0.0/8" {
			t.Fatalf("rotated = %+v", again)
		}
		if out, ok := smpptest.RunClient(t, addr.String(), nil, "SYSTEM_ID=acme", "PASSWORD="+login.Password); ok ||
			!strings.Contains(out, "bind failed, status 13") {
			t.Fatalf("the former password still binds:\n%s", out)
		}
	})
	t.Run("an address outside allowed_ips is ESME_RBINDFAIL", func(t *testing.T) {
		l := smppPassword(t, s, "acme", map[string]any{"allowed_ips": []string{"10.0.0.0/8"}}, http.StatusOK)
		if out, ok := smpptest.RunClient(t, addr.String(), nil, "SYSTEM_ID=acme", "PASSWORD="+l.Password); ok ||
			!strings.Contains(out, "bind failed, status 13") {
			t.Fatalf("a bind from outside allowed_ips:\n%s", out)
		}
	})
	t.Run("bad settings and ids are refused", func(t *testing.T) {
		wantError(t, s.Do("POST", "/admin/v1/clients/acme/smpp-password", admin, map[string]any{"max_binds": 0}),
			http.StatusBadRequest, "invalid_field", "max_binds")
		wantError(t, s.Do("POST", "/admin/v1/clients/acme/smpp-password", admin, map[string]any{"allowed_ips": []string{"nope"}}),
			http.StatusBadRequest, "invalid_field", "allowed_ips")
		wantError(t, s.Do("POST", "/admin/v1/clients/acme/smpp-password", admin, map[string]any{"mo_delivery": "later"}),
			http.StatusBadRequest, "invalid_field", "mo_delivery")
		wantError(t, s.Do("POST", "/admin/v1/clients/acme/smpp-password", admin, map[string]any{"rate": -1}),
			http.StatusBadRequest, "invalid_field", "rate")
		wantError(t, s.Do("POST", "/admin/v1/clients/nobody/smpp-password", admin, nil), http.StatusNotFound, "not_found", "")
		s.CreateClient("a-very-long-client-id", "")
		wantError(t, s.Do("POST", "/admin/v1/clients/a-very-long-client-id/smpp-password", admin, nil),
			http.StatusConflict, "smpp_system_id_too_long", "id")
	})
}
