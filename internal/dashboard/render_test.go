package dashboard

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Every page renders, for an operator and for a client user, with empty and with filled data:
// a template that refers to a missing field or block fails here rather than in a browser.
func TestEveryPageRenders(t *testing.T) {
	now := time.Now()
	hours := []store.HourTraffic{{Hour: now.Add(-time.Hour), In: 3, Out: 5, Attempts: 2, AvgLatency: 40 * time.Millisecond}, {Hour: now}}
	msg := model.Message{ID: "msg_1", Direction: model.Inbound, Body: "<script>alert(1)</script>", ReceivedAt: now,
		Media: []model.Attachment{{URL: "javascript:alert(1)", ContentType: "image/png"}, {URL: "https://r.example/1.mp3", ContentType: "audio/mpeg"}}}
	call := model.Message{ID: "msg_2", Direction: model.Inbound, Channel: model.ChannelVoice, Meta: `{"kind":"call","call_status":"completed","call_duration":12}`, ReceivedAt: now}
	replied := int64(1)
	row := campaignRow{Campaign: model.Campaign{ID: "cmp_1", Name: "Sale", Status: model.CampaignCompleted, Total: 4},
		Progress: campaign.Progress{Delivered: 2, Sent: 1, Failed: 1, Replied: &replied}, Done: 4, Percent: 100}
	report := importer.Report{Imported: 2, InvalidCount: 3, Invalid: []importer.Invalid{{Line: 4, Error: "bad"}},
		Conflicts: []store.ImportConflict{{Line: 5, Phone: "+15551230001"}}, ConflictCount: 1}
	pages := map[string][]any{
		"login":   {loginForm{}, loginForm{Email: "a@b.example", Error: "Wrong"}},
		"invite":  {inviteForm{}, inviteForm{Email: "a@b.example", Error: "short"}},
		"error":   {map[string]any{"Status": 404, "Message": "gone"}},
		"account": {map[string]any{"Error": ""}, map[string]any{"Error": "wrong"}},
		"conversations": {conversationsData{}, conversationsData{Conversations: []conversationRow{{Conversation: model.Conversation{ID: "conv_1", UnreadCount: 2}, OptedOut: true, Name: "Ann"}}, Current: conversationRow{Conversation: model.Conversation{ID: "conv_1", Channel: model.ChannelVoice}, OptedOut: true, Name: "Ann"}, Messages: []model.Message{msg, call}, Error: "x", Estimate: estimate{Segments: 2, NonGSM: "€", TooLong: true},
			Contact: &contactPanel{ContactID: "ct_1", Name: "Ann", Tags: []string{"vip"}, OptedOut: true, Channels: []model.Conversation{{ID: "conv_1", Channel: model.ChannelVoice}, {ID: "conv_2", Channel: model.ChannelSMS}}},
			Numbers: []string{"+15550000001"}, Channel: model.ChannelVoice, To: "+15550000001", Q: "a&b"}},
		"contacts":     {contactsData{}, contactsData{Contacts: []model.Contact{{Phone: "+15551230001", Tags: []string{"a"}}}, Next: "ct_1"}},
		"import":       {importData{}, importData{Token: "tok", Columns: []importColumn{{Index: 1, Header: "Mobile", Field: "phone", Samples: []string{"+1"}}}}, importData{Report: &report, Error: "x"}},
		"campaigns":    {[]campaignRow{}, []campaignRow{row}},
		"campaign_new": {campaignForm{}, campaignForm{Error: "x", Invalid: []campaign.Invalid{{Line: 2, Error: "bad"}}}},
		"campaign":     {campaignPage{Campaign: row}, campaignPage{Campaign: campaignRow{Campaign: model.Campaign{ID: "cmp_2", Status: model.CampaignDraft, CostCents: 900}}, Preview: []model.Recipient{{Line: 2}}, Balance: 10}},
		"webhook":      {webhookPage{}, webhookPage{Secret: "whsec_x", Disabled: true, Log: []deliveryRow{{Delivery: model.Delivery{ID: "evt_1"}, Attempts: []model.Attempt{{StatusCode: 500, Error: "x"}}}}}},
		"answers": {answersPage{}, answersPage{Rules: []model.AutoReply{{ID: "ar_1", Text: "<b>hi</b>", Window: time.Hour,
			Hours: &model.BusinessHours{TimeZone: "UTC", Days: []string{"mon"}, Open: "09:00", Close: "17:00"}, OutsideText: "closed"}},
			Numbers: []string{"+15550000001"}, Voice: model.VoiceAnswer{Action: model.VoiceVoicemail, MaxSeconds: 60}, VoiceSet: true,
			Error: "x", Form: model.AutoReply{Channel: model.ChannelSMS, Hours: &model.BusinessHours{Days: []string{"fri"}}}}},
		"balance":   {balancePage{}, balancePage{Balance: -5, Ledger: []model.LedgerEntry{{AmountCents: 100}}, Next: "led_1"}},
		"apikey":    {keyPage{}, keyPage{Key: "ibk_x"}},
		"clients":   {clientsPage{}, clientsPage{Clients: []clientRow{{Client: model.Client{ID: "acme", Active: true}}}, Traffic: hours, Created: &createdClient{ID: "acme"}, Form: newClientForm{Error: "x"}}},
		"client":    {clientPage{}, clientPage{Client: model.Client{ID: "acme"}, Users: []model.User{{Email: "a@b.example", Active: true}}, Traffic: hours, APIKey: "k", InviteLink: "l", Error: "x"}},
		"setup":     {setupPage{}, setupPage{Clients: []model.Client{{ID: "acme"}}}},
		"simulator": {simulatorPage{}, simulatorPage{Enabled: true, Sent: "msg_1", Error: "x"}},
		"audit":     {auditPage{}, auditPage{Entries: []model.AuditEntry{{Action: "client.create", ClientID: "acme"}}, Next: "aud_1"}},
		"numbers": {numbersPage{}, numbersPage{Numbers: []numberRow{{Number: "+15550000001", ClientID: "gone", Provider: "old"},
			{Number: "+15550000002", ClientID: "acme", Provider: "simulator", Listed: true, ProviderListed: true}},
			Clients: []model.Client{{ID: "acme"}}, Providers: []string{"simulator"}, DefaultProvider: "simulator",
			Form: numberForm{Number: "x"}, Error: "x", Next: "+15550000002"}},
		"providers": {providersPage{}, providersPage{Providers: []providerRow{{Name: "sim", Type: "simulator", Simulator: true, Default: true, Configured: true,
			StatusCallback: "/webhooks/sim/status", Counts: []statusCount{{Status: model.StatusFailed, Hour: 1, Day: 2}}, Hour: 1, Day: 2,
			HourFailed: 1, Errors: []model.Message{msg}}, {Name: "gone", Hour: 3}, {Name: "smsc", Type: "smpp", Configured: true, SMPP: true, Binds: 2}},
			SMPPServer: true, ClientBinds: []clientBinds{{Client: "acme", Binds: 3}}}},
		"unrouted": {unroutedPage{}, unroutedPage{Messages: []model.Message{msg}, Clients: []model.Client{{ID: "acme"}}, Error: "x", Next: "msg_1"}},
		"deliveries": {deliveriesPage{}, deliveriesPage{Client: "acme", Clients: []model.Client{{ID: "acme"}},
			Deliveries: []failedDelivery{{Delivery: model.Delivery{ID: "evt_1", ClientID: "acme"},
				Attempts: []attemptRow{{Attempt: model.Attempt{StatusCode: 500, Error: "x"}, Answer: "<script>alert(1)</script>"}}}}, Error: "x", Next: "evt_1"}},
		"services": {servicesPage{}, servicesPage{Services: []serviceRow{{Service: model.Service{ID: "svc_1", ClientID: "acme", Number: "57675", Active: true}, Commands: 2},
			{Service: model.Service{ID: "svc_2", Number: "+15550000001", Name: "<script>alert(1)</script>"}}},
			Numbers: []string{"57675"}, Clients: []model.Client{{ID: "acme"}}, Client: "pool",
			Form: serviceForm{Number: "57675", Spec: "{\"commands\": []}", Active: true}, Error: "commands: x", Field: "commands"}},
		"service": {servicePage{}, servicePage{Service: model.Service{ID: "svc_1", ClientID: "acme", Number: "57675", Active: true},
			Form: serviceForm{Spec: "<script>alert(1)</script>"}, Error: "x", Field: "flows.a.steps[0].id"},
			servicePage{Service: model.Service{ID: "svc_2", Number: "57675"}}},
		"service_log": {serviceLogPage{}, serviceLogPage{Service: model.Service{ID: "svc_2", Number: "57675"}, Next: "sx_1",
			Exchanges: []exchangeRow{{ServiceExchange: model.ServiceExchange{ID: "sx_2", Phone: "+1", Input: "<script>alert(1)</script>", Command: "1",
				Flow: "register", Step: "name", Handled: true, Response: "ok", ReplyID: "msg_2", CalloutStatus: 200, CalloutMS: 12}, Conversation: "conv_1"},
				{ServiceExchange: model.ServiceExchange{ID: "sx_1", Reason: "rate_limited", ReplyID: "msg_3", Response: "x", CalloutStatus: -1}}}}},
	}
	d := &Dashboard{pages: parsePages(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	users := map[string]*view{
		"operator": {User: model.User{ID: "usr_1", Role: model.RoleOperator}},
		"client":   {User: model.User{ID: "usr_2", Role: model.RoleClient, ClientID: "acme"}, Client: model.Client{ID: "acme"}},
		"nobody":   nil,
	}
	for name := range d.pages {
		if _, ok := pages[name]; !ok {
			t.Errorf("page %s has no render test data", name)
		}
	}
	for name, datas := range pages {
		for i, data := range datas {
			for who, v := range users {
				w := httptest.NewRecorder()
				d.render(w, httptest.NewRequest("GET", "/", nil), v, 200, name, "T", data)
				if w.Code != 200 || !strings.Contains(w.Body.String(), "</html>") {
					t.Errorf("page %s (data %d, %s) did not render: %d %s", name, i, who, w.Code, w.Body)
				}
				if strings.Contains(w.Body.String(), "<script>alert(1)") {
					t.Errorf("page %s shows a message body as HTML", name)
				}
			}
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "/",
		"/campaigns/cmp_1?x=1":    "/campaigns/cmp_1?x=1",
		"/a/../b":                 "/b",
		"//evil.example":          "/",
		"https://evil.example/":   "/",
		"/\\evil.example":         "/",
		"/%5Cevil.example":        "/",
		"/%2F%2Fevil.example":     "/",
		"/\tevil":                 "/",
		"/%09/evil.example":       "/",
		"/%0A/evil.example":       "/",
		"javascript:alert(1)":     "/",
		"relative/path":           "/",
		"/ok?next=//evil.example": "/ok?next=//evil.example",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
