package hooks_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// aggregators is a providers file with generic entries shaped like Indian aggregators' inbound
// callbacks (invented, "-like"): the seed's /sms-handler form, a Karix-like JSON or form, a
// Route Mobile-like GET. The server's region is the default (US): the entries say IN.
const aggregators = `{"providers":[{"name":"sim","type":"simulator"},
	{"name":"smshandler","type":"generic","region":"IN","webhook_token":"s3ed",
	 "fields":{"from":"From","to":"To","body":"Body","message_id":"MessageSid"}},
	{"name":"karix","type":"generic","region":"IN",
	 "fields":{"from":"mobile","to":"shortcode","body":"message","message_id":"msgid","timestamp":"time"},
	 "timestamp_format":"datetime","timestamp_zone":"Asia/Kolkata"},
	{"name":"routem","type":"generic","region":"IN","allow_get":true,"webhook_token":"rm",
	 "fields":{"from":"source","to":"destination","body":"text","message_id":"msg_id","timestamp":"received_at"},
	 "timestamp_format":"unix"}]}`

// postForm posts a form-encoded webhook.
func postForm(t *testing.T, url string, form url.Values) ibikitest.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, req)
}

func getQuery(t *testing.T, method, url string) ibikitest.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

// Aggregators' callbacks, form-encoded, JSON or GET, reach the client under the entry's name
// with Indian numbers in E.164 and the short code as digits; a callback posted twice (or once as
// JSON and once as a form) is one message.
func TestAggregatorCallbacksAreReadByConfiguration(t *testing.T) {
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(aggregators), 0o600); err != nil {
		t.Fatal(err)
	}
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	rcv := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", rcv.URL)
	if res := s.Do("POST", "/admin/v1/numbers", ibikitest.AdminToken, map[string]string{"number": "57675", "client_id": "acme"}); res.Status != http.StatusCreated {
		t.Fatalf("short code: %d %s", res.Status, res.Body)
	}

	seed := url.Values{"From": {"+919876543210"}, "To": {"57675"}, "Body": {"1"}, "MessageSid": {"SM1"}, "AccountSid": {"AC1"}}
	first := wantAccepted(t, postForm(t, s.URL+"/webhooks/smshandler?token=s3ed", seed), false)
	t.Run("the seed's form posted twice is stored once", func(t *testing.T) {
		if again := wantAccepted(t, postForm(t, s.URL+"/webhooks/smshandler?token=s3ed", seed), true); again.ID != first.ID {
			t.Errorf("duplicate answered %s, want %s", again.ID, first.ID)
		}
	})
	t.Run("the entry's token still protects it", func(t *testing.T) {
		wantErr(t, postForm(t, s.URL+"/webhooks/smshandler", seed), http.StatusUnauthorized, "unauthorized", "")
	})

	karixJSON := map[string]any{"mobile": "919876543210", "shortcode": "57675", "message": "BAL", "msgid": "KX-1", "time": "2024-05-01 10:20:30"}
	karix := wantAccepted(t, post(t, s.URL+"/webhooks/karix", karixJSON, nil), false)
	t.Run("the same callback as a form is the same message", func(t *testing.T) {
		again := wantAccepted(t, postForm(t, s.URL+"/webhooks/karix", url.Values{"mobile": {"9876543210"}, "shortcode": {"57675"},
			"message": {"BAL"}, "msgid": {"KX-1"}}), true)
		if again.ID != karix.ID {
			t.Errorf("duplicate answered %s, want %s", again.ID, karix.ID)
		}
	})
	t.Run("a missing field is named as the aggregator names it", func(t *testing.T) {
		wantErr(t, postForm(t, s.URL+"/webhooks/karix", url.Values{"shortcode": {"57675"}, "message": {"BAL"}}),
			http.StatusBadRequest, "invalid_field", "mobile")
		wantErr(t, post(t, s.URL+"/webhooks/karix", map[string]any{"mobile": 9876543210, "message": "x", "time": "2024-05-01T10:20:30Z"}, nil),
			http.StatusBadRequest, "invalid_field", "time")
	})
	t.Run("a body that is not a form is refused", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.URL+"/webhooks/karix", strings.NewReader("mobile=%zz"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := send(t, req)
		if res.Status != http.StatusBadRequest {
			t.Errorf("answer %d %s, want 400", res.Status, res.Body)
		}
	})

	query := "source=9876543210&destination=57675&text=JOIN&msg_id=RM-1&received_at=1714539030"
	routem := wantAccepted(t, getQuery(t, "GET", s.URL+"/webhooks/routem?token=rm&"+query), false)
	t.Run("a GET callback repeated is stored once", func(t *testing.T) {
		if again := wantAccepted(t, getQuery(t, "GET", s.URL+"/webhooks/routem?"+query+"&token=rm"), true); again.ID != routem.ID {
			t.Errorf("duplicate answered %s, want %s", again.ID, routem.ID)
		}
	})
	t.Run("a GET without the token is refused", func(t *testing.T) {
		wantErr(t, getQuery(t, "GET", s.URL+"/webhooks/routem?"+query), http.StatusUnauthorized, "unauthorized", "")
	})
	t.Run("a HEAD stores nothing", func(t *testing.T) {
		if res := getQuery(t, "HEAD", s.URL+"/webhooks/routem?token=rm&"+query); res.Status != http.StatusMethodNotAllowed {
			t.Errorf("HEAD answered %d", res.Status)
		}
	})
	t.Run("an entry without allow_get takes no GET", func(t *testing.T) {
		wantErr(t, getQuery(t, "GET", s.URL+"/webhooks/karix?mobile=9876543210&message=x"), http.StatusMethodNotAllowed, "method_not_allowed", "")
	})

	got := rcv.WaitFor(t, 3)
	want := map[string]string{first.ID: "smshandler/1/SM1", karix.ID: "karix/BAL/KX-1", routem.ID: "routem/JOIN/RM-1"}
	for _, r := range got {
		var ev struct {
			Data struct {
				ID, From, To, Body, Provider string
				ProviderMessageID            string `json:"provider_message_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		d := ev.Data
		if w, ok := want[d.ID]; !ok || d.Provider+"/"+d.Body+"/"+d.ProviderMessageID != w || d.From != "+919876543210" || d.To != "57675" {
			t.Errorf("delivered %+v, want %s from +919876543210 to 57675", d, w)
		}
		delete(want, d.ID)
	}
	res := s.Do("GET", "/api/v1/messages?direction=inbound", acme.APIKey, nil)
	var page struct {
		Data []struct{ ID string } `json:"data"`
	}
	if res.JSON(t, &page); res.Status != http.StatusOK || len(page.Data) != 3 {
		t.Errorf("inbound messages %d %s, want the 3 posted, each once", res.Status, res.Body)
	}
}
