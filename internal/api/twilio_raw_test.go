package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// twilioPost posts a form to the Twilio-shaped API with basic auth and extra headers.
func twilioPost(t *testing.T, s *ibikitest.Server, sid, token, path string, f url.Values, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/2010-04-01/Accounts/"+sid+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sid, token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: not JSON: %s", path, b)
	}
	return res.StatusCode, res.Header, out
}

// What Twilio's SDK test does not reach: idempotency by Twilio's header, Ibiki's code for
// missing credits, parameters that are refused rather than ignored, scheduling bounds, and
// Twilio's 404 for paths Ibiki does not serve.
func TestTwilioAPIEdges(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	s.CreateClient("acme", "")
	sid, token := twilioCredentials(t, s, "acme", http.StatusCreated)
	send := url.Values{"To": {"+15551230001"}, "Body": {"hi"}}

	// No credits yet: Ibiki's own code, 402.
	status, _, out := twilioPost(t, s, sid, token, "/Messages.json", send, nil)
	if status != http.StatusPaymentRequired || out["code"] != float64(99402) || out["status"] != float64(402) {
		t.Errorf("without credits: %d %v", status, out)
	}
	s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 100})

	// I-Twilio-Idempotency-Token: one message for two requests.
	key := map[string]string{"I-Twilio-Idempotency-Token": "order-42"}
	status, _, first := twilioPost(t, s, sid, token, "/Messages.json", send, key)
	status2, h, again := twilioPost(t, s, sid, token, "/Messages.json", send, key)
	if status != http.StatusCreated || status2 != http.StatusCreated || first["sid"] != again["sid"] || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("idempotent create: %d %v / %d %v", status, first["sid"], status2, again["sid"])
	}
	status, _, out = twilioPost(t, s, sid, token, "/Messages.json", url.Values{"To": {"+15551230001"}, "Body": {"other"}}, key)
	if status != http.StatusConflict || out["code"] != float64(20409) {
		t.Errorf("the key with another body: %d %v", status, out)
	}

	for _, c := range []struct {
		name string
		form url.Values
		code float64
	}{
		{"ContentSid is refused, not ignored", url.Values{"To": {"+15551230001"}, "ContentSid": {"HX123"}}, 20400},
		{"SendAt without ScheduleType", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "SendAt": {"2030-01-01T00:00:00Z"}}, 35111},
		{"SendAt in the past", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "ScheduleType": {"fixed"}, "SendAt": {"2020-01-01T00:00:00Z"}}, 35114},
		{"SendAt not a time", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "ScheduleType": {"fixed"}, "SendAt": {"tomorrow"}}, 35114},
		{"ValidityPeriod too long", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "ValidityPeriod": {"36001"}}, 21624},
		{"a bad StatusCallback", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "StatusCallback": {"ftp://x"}}, 21609},
		{"a bad MessagingServiceSid", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "MessagingServiceSid": {"MG1"}}, 21701},
		{"a From that is not the client's", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "From": {"+15559999999"}}, 21606},
		{"a bad From", url.Values{"To": {"+15551230001"}, "Body": {"x"}, "From": {"abc"}}, 21212},
		{"a body of 11 segments", url.Values{"To": {"+15551230001"}, "Body": {strings.Repeat("a", 1531+153)}}, 21617},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, out := twilioPost(t, s, sid, token, "/Messages.json", c.form, nil)
			if status != http.StatusBadRequest || out["code"] != c.code || out["more_info"] == "" {
				t.Errorf("%d %v, want 400 code %v", status, out, c.code)
			}
		})
	}

	req, _ := http.NewRequest("GET", s.URL+"/2010-04-01/Accounts/"+sid+"/Calls.json", nil)
	req.SetBasicAuth(sid, token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var nf map[string]any
	_ = json.NewDecoder(res.Body).Decode(&nf)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || nf["code"] != float64(20404) {
		t.Errorf("an unserved resource: %d %v", res.StatusCode, nf)
	}
	// A redact of a message still to be sent is refused (it has not gone yet).
	status, _, m := twilioPost(t, s, sid, token, "/Messages.json", url.Values{"To": {"+15551230003"}, "Body": {"x"},
		"ScheduleType": {"fixed"}, "SendAt": {time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)}}, nil)
	queued, _ := m["sid"].(string)
	if status != http.StatusCreated || m["status"] != "scheduled" {
		t.Fatalf("schedule: %d %v", status, m)
	}
	status, _, out = twilioPost(t, s, sid, token, "/Messages/"+queued+".json", url.Values{"Body": {""}}, nil)
	if status != http.StatusConflict || out["code"] != float64(20009) {
		t.Errorf("redact of a scheduled message: %d %v", status, out)
	}
}
