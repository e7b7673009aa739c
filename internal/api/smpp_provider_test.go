package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/smpp/smpptest"
)

// An smpp provider in the providers file binds when the server starts, sends a client's message
// as submit_sm from the number it was given, and the SMSC's receipt (node-smpp's simulator)
// makes it "delivered" under the id the submit_sm_resp gave.
func TestSMPPProviderEndToEnd(t *testing.T) {
	sim, s := serverOnSim(t)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000041", "provider": "smsc"}, http.StatusCreated)

	m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "+15552090001", "body": "hello over SMPP"})
	if m.Provider != "smsc" || m.From != "+15550000041" {
		t.Fatalf("answer = %+v", m)
	}
	got := waitStatus(t, s, acme.APIKey, m.ID, "delivered")
	if got.ProviderID == nil || *got.ProviderID == "" {
		t.Fatalf("provider id = %v", got.ProviderID)
	}
	_, body, err := sim.Get(t.Context(), "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		SubmitSM int `json:"submit_sm"`
		Last     []struct {
			From, To, Text string
		} `json:"last"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	metrics := string(s.Do("GET", "/metrics", "", nil).Body)
	for _, want := range []string{`ibiki_smpp_binds{provider="smsc"} 2`, `ibiki_smpp_submits_total{provider="smsc",status="ESME_ROK"} 1`,
		`ibiki_smpp_receipts_total{provider="smsc",stat="DELIVRD"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if st.SubmitSM != 1 || st.Last[0].From != "15550000041" || st.Last[0].To != "15552090001" || st.Last[0].Text != "hello over SMPP" {
		t.Fatalf("the SMSC saw %s", body)
	}

	// A contact's message to the client's short code arrives as deliver_sm: stored, routed to
	// the client by the number rule, and only then acknowledged to the SMSC.
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "57675", "client_id": "acme"}, http.StatusCreated)
	code, moBody, err := sim.Get(t.Context(), "/mo?from="+url.QueryEscape("+46700000003")+"&to=57675&text="+url.QueryEscape("BAL please"))
	if err != nil || code != http.StatusOK || !strings.Contains(moBody, `"deliver_sm_resp_status":0`) {
		t.Fatalf("MO: %d %s %v", code, moBody, err)
	}
	var page struct {
		Data []struct {
			ID, From, To, Body, Provider string
		} `json:"data"`
	}
	eventually(t, "the MO listed for acme", func() bool {
		mustDo(t, s, "GET", "/api/v1/messages?direction=inbound&to=57675", acme.APIKey, nil, http.StatusOK).JSON(t, &page)
		return len(page.Data) == 1
	})
	if m := page.Data[0]; m.From != "+46700000003" || m.Body != "BAL please" || m.Provider != "smsc" {
		t.Fatalf("MO stored as %+v", m)
	}

	// The SMSC delivers the same MO again (as after a lost deliver_sm_resp): ESME_ROK, and it is
	// not stored twice. Another text from the same phone is a new message.
	accepted := func() (n [2]float64) {
		for _, line := range strings.Split(string(s.Do("GET", "/metrics", "", nil).Body), "\n") {
			for i, dup := range []string{"false", "true"} {
				if v, ok := strings.CutPrefix(line, `ibiki_inbound_accepted_total{duplicate="`+dup+`",provider="smsc"} `); ok {
					n[i], _ = strconv.ParseFloat(v, 64)
				}
			}
		}
		return n
	}
	before := accepted()
	for _, text := range []string{"BAL please", "BAL now"} {
		code, moBody, err := sim.Get(t.Context(), "/mo?from="+url.QueryEscape("+46700000003")+"&to=57675&text="+url.QueryEscape(text))
		if err != nil || code != http.StatusOK || !strings.Contains(moBody, `"deliver_sm_resp_status":0`) {
			t.Fatalf("MO %q: %d %s %v", text, code, moBody, err)
		}
	}
	eventually(t, "the second MO listed for acme", func() bool {
		mustDo(t, s, "GET", "/api/v1/messages?direction=inbound&to=57675", acme.APIKey, nil, http.StatusOK).JSON(t, &page)
		return len(page.Data) >= 2
	})
	if len(page.Data) != 2 || page.Data[0].Body != "BAL now" && page.Data[1].Body != "BAL now" {
		t.Fatalf("listed %+v, want BAL please once and BAL now", page.Data)
	}
	// The counters are the process's (other tests add to them): what these two MO added.
	after := accepted()
	if d := [2]float64{after[0] - before[0], after[1] - before[1]}; d != [2]float64{1, 1} {
		t.Errorf("inbound accepted: %v new and %v repeats, want 1 and 1", d[0], d[1])
	}
}

// serverOnSim is a whole Ibiki whose default provider "smsc" is node-smpp's simulator (2 binds,
// receipts 20 ms after each submit).
func serverOnSim(t *testing.T) (*smpptest.Sim, *ibikitest.Server) {
	t.Helper()
	sim := smpptest.StartSim(t, "SYSTEM_ID=ibiki", "PASSWORD=secret", "DLR_DELAY_MS=20")
	file := writeFile(t, `{"default":"smsc","providers":[
		{"name":"smsc","type":"smpp","address":"`+sim.Addr+`","system_id":"ibiki","password":"secret","binds":2,
		 "submit_id":"hex","receipt_id":"hex"}]}`)
	return sim, ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
}
