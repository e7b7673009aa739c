package api_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	twilio "github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// toServer is a transport that sends what Twilio's SDK addresses to api.twilio.com to the test
// server instead (the only change a client makes besides its credentials).
type toServer struct{ host string }

func (t toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "api.twilio.com" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = "http", t.host, t.host
	}
	return http.DefaultTransport.RoundTrip(r)
}

// twilioCredentials creates (or rotates) a client's Twilio-compatible credentials.
func twilioCredentials(t *testing.T, s *ibikitest.Server, id string, want int) (sid, token string) {
	t.Helper()
	res := s.Do("POST", "/admin/v1/clients/"+id+"/twilio-credentials", ibikitest.AdminToken, nil)
	if res.Status != want {
		t.Fatalf("twilio-credentials: %d %s, want %d", res.Status, res.Body, want)
	}
	var out struct {
		AccountSID string `json:"account_sid"`
		AuthToken  string `json:"auth_token"`
	}
	res.JSON(t, &out)
	if !regexp.MustCompile(`^AC[0-9a-f]{32}$`).MatchString(out.AccountSID) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(out.AuthToken) {
		t.Fatalf("credentials %+v", out)
	}
	return out.AccountSID, out.AuthToken
}

// sdk is Twilio's own Go client pointed at the test server.
func sdk(s *ibikitest.Server, sid, token string) *twapi.ApiService {
	u, _ := url.Parse(s.URL)
	c := &twclient.Client{Credentials: twclient.NewCredentials(sid, token),
		HTTPClient: &http.Client{Transport: toServer{host: u.Host}, Timeout: 10 * time.Second}}
	c.SetAccountSid(sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api
}

// restError is the error as Twilio's client reads it.
func restError(t *testing.T, err error, code, status int) {
	t.Helper()
	var te *twclient.TwilioRestError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T), want a TwilioRestError %d", err, err, code)
	}
	if te.Code != code || te.Status != status || te.Message == "" || te.MoreInfo == "" {
		t.Errorf("error %+v, want code %d status %d", te, code, status)
	}
}

// Twilio's Go client works against Ibiki by changing the base URL and the credentials: it
// creates, fetches, lists across pages, schedules and cancels, redacts and deletes, and reads
// Ibiki's errors as Twilio's.
func TestTwilioSDKDrivesTheMessagesAPI(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	s.CreateClient("acme", "")
	if res := s.Do("POST", "/admin/v1/clients/acme/credits", ibikitest.AdminToken, map[string]any{"amount_cents": 1000}); res.Status != http.StatusOK {
		t.Fatalf("credits: %d %s", res.Status, res.Body)
	}
	sid, first := twilioCredentials(t, s, "acme", http.StatusCreated)
	sid2, token := twilioCredentials(t, s, "acme", http.StatusOK)
	if sid2 != sid || token == first {
		t.Fatalf("a rotation keeps the SID (%s, %s) and changes the token", sid, sid2)
	}
	_, err := sdk(s, sid, first).FetchAccount(sid)
	restError(t, err, 20003, http.StatusUnauthorized) // the former token stopped working
	api := sdk(s, sid, token)

	// Create and fetch.
	created, err := api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("+15551230001").SetBody("Hello from the SDK"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(*created.Sid) || *created.Status != "queued" || *created.AccountSid != sid ||
		*created.NumSegments != "1" || *created.NumMedia != "0" || *created.Direction != "outbound-api" || *created.Price != "-0.01" ||
		*created.PriceUnit != "USD" || *created.To != "+15551230001" || *created.ApiVersion != "2010-04-01" {
		t.Errorf("created %s", show(created))
	}
	if _, err := time.Parse(time.RFC1123Z, *created.DateCreated); err != nil {
		t.Errorf("date_created %q is not RFC 2822", *created.DateCreated)
	}
	if *created.Uri != "/2010-04-01/Accounts/"+sid+"/Messages/"+*created.Sid+".json" {
		t.Errorf("uri %s", *created.Uri)
	}
	var fetched *twapi.ApiV2010Message
	waitFor(t, "the message to be delivered", func() bool {
		fetched, err = api.FetchMessage(*created.Sid, nil)
		return err == nil && *fetched.Status == "delivered"
	})
	if *fetched.Body != "Hello from the SDK" || fetched.DateSent == nil || fetched.DateUpdated == nil {
		t.Errorf("fetched %s", show(fetched))
	}

	// List across pages: 7 more messages, 3 a page, newest first, each once.
	want := []string{*created.Sid}
	for i := range 7 {
		m, err := api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("+1555123000" + string(rune('2'+i))).SetBody("batch"))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want = append([]string{*m.Sid}, want...)
	}
	all, err := api.ListMessage((&twapi.ListMessageParams{}).SetPageSize(3))
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if got := sids(all); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want %v", got, want)
	}
	page1, err := api.PageMessage((&twapi.ListMessageParams{}).SetPageSize(3), "", "")
	if err != nil || len(page1.Messages) != 3 || page1.NextPageUri == nil || page1.PreviousPageUri != nil || page1.PageSize != 3 {
		t.Fatalf("first page %+v (%v)", page1, err)
	}
	next, _ := url.Parse(*page1.NextPageUri)
	page2, err := api.PageMessage((&twapi.ListMessageParams{}).SetPageSize(3), next.Query().Get("PageToken"), next.Query().Get("Page"))
	if err != nil || page2.Page != 1 || page2.Start != 3 || page2.End != 5 || page2.PreviousPageUri == nil ||
		strings.Join(sids(page2.Messages), ",") != strings.Join(want[3:6], ",") {
		t.Fatalf("second page %+v (%v)", page2, err)
	}
	prev, _ := url.Parse(*page2.PreviousPageUri)
	back, err := api.PageMessage((&twapi.ListMessageParams{}).SetPageSize(3), prev.Query().Get("PageToken"), prev.Query().Get("Page"))
	if err != nil || strings.Join(sids(back.Messages), ",") != strings.Join(want[:3], ",") {
		t.Errorf("the page before the second: %v (%v), want %v", sids(back.Messages), err, want[:3])
	}
	filtered, err := api.ListMessage((&twapi.ListMessageParams{}).SetTo("+15551230001").SetDateSentAfter(time.Now().Add(-time.Hour)))
	if err != nil || len(filtered) != 1 || *filtered[0].Sid != *created.Sid {
		t.Errorf("filtered by To and DateSent>: %v (%v)", sids(filtered), err)
	}

	// Schedule, then cancel: refunded.
	balance := func() string {
		b, err := api.FetchBalance(nil)
		if err != nil {
			t.Fatalf("balance: %v", err)
		}
		return *b.Balance
	}
	before := balance()
	sched, err := api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("+15551239999").SetBody("later").
		SetScheduleType("fixed").SetSendAt(time.Now().Add(time.Hour)))
	if err != nil || *sched.Status != "scheduled" {
		t.Fatalf("schedule: %v %s", err, show(sched))
	}
	if after := balance(); after == before {
		t.Errorf("balance %s after scheduling: not charged", after)
	}
	canceled, err := api.UpdateMessage(*sched.Sid, (&twapi.UpdateMessageParams{}).SetStatus("canceled"))
	if err != nil || *canceled.Status != "canceled" {
		t.Fatalf("cancel: %v %s", err, show(canceled))
	}
	if after := balance(); after != before {
		t.Errorf("balance %s after the cancel, want %s back", after, before)
	}
	_, err = api.UpdateMessage(*sched.Sid, (&twapi.UpdateMessageParams{}).SetStatus("canceled"))
	restError(t, err, 30409, http.StatusBadRequest)

	// Redact, then delete, the delivered message.
	redacted, err := api.UpdateMessage(*created.Sid, (&twapi.UpdateMessageParams{}).SetBody(""))
	if err != nil || *redacted.Body != "" || *redacted.Status != "delivered" {
		t.Fatalf("redact: %v %s", err, show(redacted))
	}
	if err := api.DeleteMessage(*created.Sid, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = api.FetchMessage(*created.Sid, nil)
	restError(t, err, 20404, http.StatusNotFound)

	// Errors, read by the client as Twilio's.
	_, err = api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("not a number").SetBody("x"))
	restError(t, err, 21211, http.StatusBadRequest)
	_, err = api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("+15551230001"))
	restError(t, err, 21602, http.StatusBadRequest)
	_, err = api.CreateMessage((&twapi.CreateMessageParams{}).SetBody("no recipient"))
	restError(t, err, 21604, http.StatusBadRequest)
	ck := s.Do("POST", "/admin/v1/clients/acme/rotate-key", ibikitest.AdminToken, nil)
	var key struct {
		APIKey string `json:"api_key"`
	}
	ck.JSON(t, &key)
	if res := s.Do("POST", "/api/v1/suppressions", key.APIKey, map[string]string{"phone": "+15551238888"}); res.Status != http.StatusCreated {
		t.Fatalf("suppress: %d %s", res.Status, res.Body)
	}
	_, err = api.CreateMessage((&twapi.CreateMessageParams{}).SetTo("+15551238888").SetBody("hi"))
	restError(t, err, 21610, http.StatusBadRequest)
	_, err = sdk(s, sid, strings.Repeat("0", 32)).CreateMessage((&twapi.CreateMessageParams{}).SetTo("+15551230001").SetBody("x"))
	restError(t, err, 20003, http.StatusUnauthorized)
	_, err = api.FetchMessage("SM"+strings.Repeat("0", 32), nil)
	restError(t, err, 20404, http.StatusNotFound)

	// Another client's Account SID in the path is not found, even with valid credentials.
	s.CreateClient("other", "")
	otherSID, _ := twilioCredentials(t, s, "other", http.StatusCreated)
	_, err = api.FetchMessage(*fetched.Sid, (&twapi.FetchMessageParams{}).SetPathAccountSid(otherSID))
	restError(t, err, 20404, http.StatusNotFound)
}

func sids(ms []twapi.ApiV2010Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = *m.Sid
	}
	return out
}

func show(m *twapi.ApiV2010Message) string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	for _, kv := range [][2]*string{{ptr("sid"), m.Sid}, {ptr("status"), m.Status}, {ptr("body"), m.Body}, {ptr("from"), m.From}, {ptr("to"), m.To},
		{ptr("price"), m.Price}, {ptr("direction"), m.Direction}, {ptr("num_segments"), m.NumSegments}} {
		v := "<nil>"
		if kv[1] != nil {
			v = *kv[1]
		}
		b.WriteString(*kv[0] + "=" + v + " ")
	}
	return b.String()
}

func ptr(s string) *string { return &s }

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
