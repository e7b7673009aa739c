package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

type campaignAnswer struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Total     int64  `json:"total"`
	Invalid   int64  `json:"invalid"`
	CostCents int64  `json:"cost_cents"`
	Queued    int64  `json:"queued"`
	Sent      int64  `json:"sent"`
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"`
	OptedOut  int64  `json:"opted_out"`
	Cancelled int64  `json:"cancelled"`
	Replied   int64  `json:"replied"`
	Preview   []struct {
		Phone string `json:"phone"`
		Body  string `json:"body"`
	} `json:"preview"`
	Encodings map[string]int64 `json:"encodings"`
	Segments  int64            `json:"segments"`
	Report    struct {
		Invalid []struct {
			Line int `json:"line"`
		} `json:"invalid"`
	} `json:"report"`
}

func postCampaign(t *testing.T, s *ibikitest.Server, key, file string, fields map[string]string) ibikitest.Response {
	t.Helper()
	return postMultipart(t, s, "/api/v1/campaigns", key, file, fields)
}

func getCampaign(t *testing.T, s *ibikitest.Server, key, id string) campaignAnswer {
	t.Helper()
	var c campaignAnswer
	mustDo(t, s, "GET", "/api/v1/campaigns/"+id, key, nil, http.StatusOK).JSON(t, &c)
	return c
}

// The create answer sums up the whole campaign's encodings, not only the previewed recipients:
// one character outside GSM-7 in one recipient's name makes that message UCS-2.
func TestCampaignPreviewCountsEncodings(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	var b strings.Builder
	b.WriteString("Phone Number,First Name\n")
	for i := range 7 {
		fmt.Fprintf(&b, "+1555341%04d,Ann\n", i)
	}
	b.WriteString("+15553419999,Zoë\n") // ë is not GSM-7: the eighth recipient, past the preview
	res := postCampaign(t, s, acme.APIKey, b.String(), map[string]string{"name": "Enc", "message": "Hi [first name]", "draft": "true"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var c campaignAnswer
	res.JSON(t, &c)
	if len(c.Preview) != 5 || c.Encodings["GSM-7"] != 7 || c.Encodings["UCS-2"] != 1 || c.Segments != 8 {
		t.Fatalf("preview %d, encodings %v, segments %d; want 5, 7 GSM-7 and 1 UCS-2, 8", len(c.Preview), c.Encodings, c.Segments)
	}
}

func TestCampaignFromCSVRunsToTheEnd(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "10ms"})
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 100)
	mustDo(t, s, "POST", "/api/v1/suppressions", acme.APIKey, map[string]string{"phone": "+15553400003"}, http.StatusCreated)
	file := "Phone Number,First Name\n+15553400001,Ann\n+15553400002,\nnot a phone,Cy\n+15553400003,Di\n+15553400001,Ann again\n"
	res := postCampaign(t, s, acme.APIKey, file, map[string]string{"name": "Spring", "message": "Hi [first name|there], 20% off"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var c campaignAnswer
	res.JSON(t, &c)
	if c.Total != 3 || c.Invalid != 1 || c.CostCents != 3 || len(c.Report.Invalid) != 1 || c.Report.Invalid[0].Line != 4 ||
		len(c.Preview) != 3 || c.Preview[1].Body != "Hi there, 20% off" {
		t.Fatalf("campaign = %s", res.Body)
	}
	if c.Encodings["GSM-7"] != 3 || len(c.Encodings) != 1 || c.Segments != 3 {
		t.Fatalf("encodings %v, segments %d; want 3 GSM-7 recipients, 3 segments", c.Encodings, c.Segments)
	}
	// Completed means every message was handed to the provider; delivery reports come after.
	eventually(t, "the campaign to complete and its messages to be delivered", func() bool {
		c = getCampaign(t, s, acme.APIKey, c.ID)
		return c.Status == "completed" && c.Delivered == 2
	})
	if c.Delivered != 2 || c.OptedOut != 1 || c.Queued != 0 {
		t.Errorf("campaign = %+v", c)
	}
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 98 {
		t.Errorf("balance = %d, want 98: reserved 3, the opted-out one refunded", b.BalanceCents)
	}
	if sum, _ := ledgerSum(t, s, acme.APIKey); sum != 98 {
		t.Errorf("ledger sum = %d", sum)
	}

	t.Run("a reply counts as replied, and the results say who", func(t *testing.T) {
		simulate(t, s, "+15553400001", "", "yes please")
		eventually(t, "the reply to count", func() bool { return getCampaign(t, s, acme.APIKey, c.ID).Replied == 1 })
		res := s.Do("GET", "/api/v1/campaigns/"+c.ID+"/results", acme.APIKey, nil)
		rows := readCSV(t, res)
		if len(rows) != 4 || rows[0][0] != "line" || rows[1][1] != "+15553400001" || rows[1][6] != "true" ||
			rows[1][3] != "delivered" || rows[3][2] != "opted_out" || rows[3][6] != "false" {
			t.Errorf("results = %q", rows)
		}
	})
}

// providerLog is a fake Twilio that records when each send reached it.
type providerLog struct {
	mu    sync.Mutex
	calls []time.Time
	srv   *httptest.Server
}

func newProviderLog(t *testing.T) *providerLog {
	p := &providerLog{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls = append(p.calls, time.Now())
		n := len(p.calls)
		p.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%06d","status":"queued"}`, n)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// since counts the sends that reached the provider at or after t, and all of them.
func (p *providerLog) since(t time.Time) (after, all int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, at := range p.calls {
		if !at.Before(t) {
			after++
		}
	}
	return after, len(p.calls)
}

// acknowledged posts a campaign control and returns when its answer came back.
func acknowledged(t *testing.T, s *ibikitest.Server, key, id, action string) time.Time {
	t.Helper()
	mustDo(t, s, "POST", "/api/v1/campaigns/"+id+"/"+action, key, nil, http.StatusOK)
	return time.Now()
}

// Pause and cancel during sending, against a provider that records when each send reached it:
// no send reaches it after the pause (or the cancel) is answered, and the client pays exactly
// for the sends that did.
func TestCampaignPauseAndCancel(t *testing.T) {
	tw := newProviderLog(t)
	file := writeFile(t, `{"default":"tw","providers":[{"name":"tw","type":"twilio","account_sid":"AC00000000000000000000000000000001",
		"auth_token":"secret","base_url":"`+tw.srv.URL+`","rate":40}]}`)
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 1000)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000035", "provider": "tw"}, http.StatusCreated)
	list := "phone\n"
	for i := range 300 {
		list += fmt.Sprintf("+1555350%04d\n", i)
	}
	var c campaignAnswer
	res := postCampaign(t, s, acme.APIKey, list, map[string]string{"message": "flash sale"})
	if res.JSON(t, &c); res.Status != http.StatusCreated || c.Total != 300 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	eventually(t, "some sends", func() bool { _, n := tw.since(time.Time{}); return n >= 10 })

	pausedAt := acknowledged(t, s, acme.APIKey, c.ID, "pause")
	_, atPause := tw.since(time.Time{})
	// A paused campaign's messages look at it again every few seconds; a wrong send would
	// come at once. Watch for a while (the assertion does not depend on how long).
	time.Sleep(500 * time.Millisecond)
	if after, _ := tw.since(pausedAt); after != 0 {
		t.Fatalf("%d sends reached the provider after the pause was answered", after)
	}
	if got := getCampaign(t, s, acme.APIKey, c.ID); got.Status != "paused" {
		t.Fatalf("status after the pause = %s", got.Status)
	}
	wantError(t, s.Do("POST", "/api/v1/campaigns/"+c.ID+"/pause", acme.APIKey, nil), http.StatusConflict, "campaign_status", "")

	acknowledged(t, s, acme.APIKey, c.ID, "resume")
	eventually(t, "sending again", func() bool { _, n := tw.since(time.Time{}); return n > atPause })

	cancelledAt := acknowledged(t, s, acme.APIKey, c.ID, "cancel")
	var final campaignAnswer
	eventually(t, "the cancel to settle", func() bool {
		final = getCampaign(t, s, acme.APIKey, c.ID)
		return final.Queued == 0
	})
	after, sent := tw.since(cancelledAt)
	if after != 0 {
		t.Errorf("%d sends reached the provider after the cancel was answered", after)
	}
	if final.Status != "cancelled" || sent == 0 || sent >= 300 || final.Sent+final.Delivered != int64(sent) {
		t.Fatalf("final = %+v, %d sends reached the provider", final, sent)
	}
	// The messages the cancel stopped in the queue were never sent: cancelled, not failed.
	if final.Failed != 0 || final.Cancelled != int64(300-sent) || addUp(final) != final.Total {
		t.Errorf("final = %+v: want failed 0, cancelled %d, counts adding up to the total", final, 300-sent)
	}
	if n := countRecipients(t, s, acme.APIKey, c.ID, "cancelled"); n != final.Cancelled {
		t.Errorf("?status=cancelled lists %d recipients, the campaign counts %d", n, final.Cancelled)
	}
	if n := countRecipients(t, s, acme.APIKey, c.ID, "failed"); n != 0 {
		t.Errorf("?status=failed lists %d recipients", n)
	}
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != int64(1000-sent) {
		t.Errorf("balance = %d, want %d: exactly the %d sent are paid for", b.BalanceCents, 1000-sent, sent)
	}
	if sum, _ := ledgerSum(t, s, acme.APIKey); sum != int64(1000-sent) {
		t.Errorf("ledger sum = %d", sum)
	}
}

// addUp is the sum of a campaign's counts, which is its total.
func addUp(c campaignAnswer) int64 {
	return c.Queued + c.Sent + c.Delivered + c.Failed + c.OptedOut + c.Cancelled
}

// countRecipients counts a campaign's recipients listed with ?status=, page by page.
func countRecipients(t *testing.T, s *ibikitest.Server, key, id, status string) int64 {
	t.Helper()
	var n int64
	cursor := ""
	for {
		var pg struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"next_cursor"`
		}
		mustDo(t, s, "GET", "/api/v1/campaigns/"+id+"/recipients?limit=100&status="+status+"&cursor="+cursor, key, nil,
			http.StatusOK).JSON(t, &pg)
		n += int64(len(pg.Data))
		if pg.NextCursor == nil {
			return n
		}
		cursor = *pg.NextCursor
	}
}

func TestCampaignDraftTagAndCredits(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	for _, p := range []string{"+15553600001", "+15553600002"} {
		mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": p, "first_name": "X", "tags": []string{"vip"}}, http.StatusCreated)
	}
	mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553600003"}, http.StatusCreated)
	var c campaignAnswer
	mustDo(t, s, "POST", "/api/v1/campaigns", acme.APIKey, map[string]any{"message": "Hello [firstname]", "tag": "vip", "draft": true},
		http.StatusCreated).JSON(t, &c)
	// Nothing of a draft has gone to the provider: all its recipients count as queued.
	if c.Status != "draft" || c.Total != 2 || c.CostCents != 2 || c.Queued != 2 || addUp(c) != 2 {
		t.Fatalf("draft = %+v", c)
	}
	t.Run("a cancelled draft counts its recipients cancelled", func(t *testing.T) {
		var d campaignAnswer
		mustDo(t, s, "POST", "/api/v1/campaigns", acme.APIKey, map[string]any{"message": "Bye", "tag": "vip", "draft": true},
			http.StatusCreated).JSON(t, &d)
		mustDo(t, s, "POST", "/api/v1/campaigns/"+d.ID+"/cancel", acme.APIKey, nil, http.StatusOK).JSON(t, &d)
		if d.Status != "cancelled" || d.Cancelled != 2 || d.Queued != 0 || addUp(d) != 2 {
			t.Errorf("cancelled draft = %+v", d)
		}
	})
	wantError(t, s.Do("POST", "/api/v1/campaigns/"+c.ID+"/start", acme.APIKey, nil), http.StatusPaymentRequired, "insufficient_credits", "")
	if got := getCampaign(t, s, acme.APIKey, c.ID); got.Status != "draft" {
		t.Errorf("status after a refused start = %s", got.Status)
	}
	topUp(t, s, "acme", 2)
	mustDo(t, s, "POST", "/api/v1/campaigns/"+c.ID+"/start", acme.APIKey, nil, http.StatusOK)
	eventually(t, "completion", func() bool { return getCampaign(t, s, acme.APIKey, c.ID).Status == "completed" })
	wantError(t, s.Do("POST", "/api/v1/campaigns/"+c.ID+"/cancel", acme.APIKey, nil), http.StatusConflict, "campaign_status", "")
	res := s.Do("POST", "/api/v1/campaigns", acme.APIKey, map[string]any{"message": "x", "tag": "nobody"})
	var refused struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
		Campaign campaignAnswer `json:"campaign"`
	}
	if res.JSON(t, &refused); res.Status != http.StatusUnprocessableEntity || refused.Error.Code != "no_valid_recipients" ||
		refused.Campaign.Status != "draft" {
		t.Errorf("a campaign without recipients: %d %s", res.Status, res.Body)
	}
	wantError(t, s.Do("POST", "/api/v1/campaigns", acme.APIKey, map[string]any{"message": "x"}), http.StatusBadRequest, "missing_field", "tag")
}

func TestQuietHoursSetting(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	wantError(t, s.Do("PATCH", "/admin/v1/clients/acme", admin, map[string]any{"quiet_hours": "9pm-8am"}), 400, "invalid_field", "quiet_hours")
	var c struct {
		QuietHours *string `json:"quiet_hours"`
	}
	mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"quiet_hours": " 21:00-08:00 "}, http.StatusOK).JSON(t, &c)
	if c.QuietHours == nil || *c.QuietHours != "21:00-08:00" {
		t.Errorf("quiet_hours = %v", c.QuietHours)
	}
	mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553800001", "tags": []string{"t"}}, http.StatusCreated)
	var cp struct {
		QuietHours bool `json:"quiet_hours"`
	}
	mustDo(t, s, "POST", "/api/v1/campaigns", acme.APIKey, map[string]any{"message": "hi", "tag": "t", "draft": true, "quiet_hours": true},
		http.StatusCreated).JSON(t, &cp)
	if !cp.QuietHours {
		t.Errorf("the campaign does not keep quiet hours")
	}
	mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"quiet_hours": ""}, http.StatusOK).JSON(t, &c)
	if c.QuietHours != nil {
		t.Errorf("quiet_hours = %v after clearing", *c.QuietHours)
	}
}

func TestBulkSendAsCampaign(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "10ms"})
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	body := map[string]any{"template": "Hi [name|you], code [code]", "campaign": map[string]any{"name": "codes"},
		"contacts": []map[string]any{{"phone": "+15553900001", "name": "Ann", "code": 7}, {"phone": "bad", "code": 1}, {"phone": "+15553900002", "code": 8}}}
	var c campaignAnswer
	mustDo(t, s, "POST", "/api/v1/messages/bulk", acme.APIKey, body, http.StatusCreated).JSON(t, &c)
	if c.Total != 2 || c.Invalid != 1 || c.CostCents != 2 || c.Report.Invalid[0].Line != 2 {
		t.Fatalf("campaign = %+v", c)
	}
	eventually(t, "the campaign's messages delivered", func() bool {
		c = getCampaign(t, s, acme.APIKey, c.ID)
		return c.Status == "completed" && c.Delivered == 2
	})
	t.Run("an Idempotency-Key makes one campaign however often it is sent", func(t *testing.T) {
		topUp(t, s, "acme", 10)
		var first, again campaignAnswer
		res := s.DoWith("POST", "/api/v1/messages/bulk", acme.APIKey, body, map[string]string{"Idempotency-Key": "bk"})
		res.JSON(t, &first)
		again2 := s.DoWith("POST", "/api/v1/messages/bulk", acme.APIKey, body, map[string]string{"Idempotency-Key": "bk"})
		again2.JSON(t, &again)
		if res.Status != http.StatusCreated || again2.Status != http.StatusCreated || again.ID != first.ID ||
			again2.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("first %d %s, again %d %s", res.Status, res.Body, again2.Status, again2.Body)
		}
	})
	wantError(t, s.Do("POST", "/api/v1/messages/bulk", acme.APIKey, map[string]any{"messages": []map[string]string{{"to": "+15553900001", "body": "x"}},
		"campaign": map[string]any{}}), http.StatusBadRequest, "invalid_field", "campaign")
}

func TestScheduledCampaignWaitsForItsTime(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "10ms"})
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	at := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	var c campaignAnswer
	res := postCampaign(t, s, acme.APIKey, "phone\n+15553950001\n", map[string]string{"message": "later", "schedule_at": at})
	if res.JSON(t, &c); res.Status != http.StatusCreated || c.Status != "scheduled" || c.Queued != 1 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 9 {
		t.Errorf("balance = %d: a scheduled campaign reserves its cost at once", b.BalanceCents)
	}
	time.Sleep(500 * time.Millisecond)
	if got := getCampaign(t, s, acme.APIKey, c.ID); got.Status != "scheduled" || got.Queued != 1 {
		t.Fatalf("before its time: %+v", got)
	}
	eventually(t, "the scheduled campaign to run", func() bool {
		c = getCampaign(t, s, acme.APIKey, c.ID)
		return c.Status == "completed" && c.Delivered == 1
	})
	wantError(t, postCampaign(t, s, acme.APIKey, "phone\n+15553950001\n", map[string]string{"message": "x", "schedule_at": "tomorrow"}),
		http.StatusBadRequest, "invalid_field", "schedule_at")
}

func TestCampaignIdempotencyKey(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	post := func(key, message string) ibikitest.Response {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body) // a new boundary every time, as clients do
		mw.WriteField("message", message)
		fw, _ := mw.CreateFormFile("file", "list.csv")
		io.WriteString(fw, "phone\n+15553960001\n")
		mw.Close()
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/campaigns", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+acme.APIKey)
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return ibikitest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
	}
	var first, again campaignAnswer
	post("c-1", "hello").JSON(t, &first)
	res := post("c-1", "hello")
	res.JSON(t, &again)
	if res.Status != http.StatusCreated || again.ID != first.ID || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: %d %s, want campaign %s", res.Status, res.Body, first.ID)
	}
	wantError(t, post("c-1", "another message"), http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 9 {
		t.Errorf("balance = %d: charged once", b.BalanceCents)
	}
}
