package dashboard_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// In a real headless Chromium: a WhatsApp message, an MMS picture and a phone call come in
// through Twilio while the client's inbox is open; each appears live with its channel (the
// contact's WhatsApp name in the list), the MMS shows its picture's link, the call shows as a
// call, and the channel filter keeps only the channel chosen.
func TestBrowserChannelsArriveLive(t *testing.T) {
	const sid, token = "AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, []byte(`{"providers":[{"name":"tw","type":"twilio","account_sid":"`+sid+
		`","auth_token":"`+token+`","base_url":"http://127.0.0.1:9"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, map[string]string{"IBIKI_PROVIDERS_FILE": file})
	f.client("acme")
	f.clientUser("acme", "ann@acme.example")
	f.admin("POST", "/admin/v1/numbers", map[string]string{"number": "+15557654321", "client_id": "acme", "provider": "tw"}, http.StatusCreated)
	srv := f.srv
	twilioPost := func(path string, form url.Values) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilio.Signature(token, srv.URL+path, form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}

	ctx := ibikitest.NewBrowser(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ibikitest.Run(t, ctx, what, actions...)
	}
	waitFor := func(what, js string) {
		t.Helper()
		ibikitest.Get(t, ctx, what, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(19*time.Second)))
	}
	run("sign in as the client's user", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ann@acme.example"),
		chromedp.SendKeys(chromedp.ID("password"), userPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top")))
	run("open the inbox", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("conversation-list")))
	waitFor("the event stream to be open", `document.body.dataset.live === 'on'`)
	ibikitest.Get(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__sameDocument = true`))

	twilioPost("/webhooks/tw", url.Values{"MessageSid": {"SM01"}, "From": {"whatsapp:+447700900123"}, "To": {"whatsapp:+15557654321"},
		"Body": {"Hi on WhatsApp"}, "ProfileName": {"Asha Rao"}})
	twilioPost("/webhooks/tw", url.Values{"MessageSid": {"MM02"}, "From": {"+15551234567"}, "To": {"+15557654321"}, "Body": {"my receipt"},
		"NumMedia": {"1"}, "MediaUrl0": {"https://api.twilio.com/2010-04-01/Accounts/" + sid + "/Messages/MM02/Media/ME1"}, "MediaContentType0": {"image/jpeg"}})
	twilioPost("/webhooks/tw/voice", url.Values{"CallSid": {"CA03"}, "From": {"+15559876543"}, "To": {"+15557654321"}, "CallStatus": {"ringing"}})

	badge := func(ch string) string {
		return `[...document.querySelectorAll('ul.conversations li')].some(li => li.querySelector('.badge.ch-` + ch + `'))`
	}
	waitFor("the three conversations, each with its channel", badge("whatsapp")+" && "+badge("sms")+" && "+badge("voice"))
	waitFor("the WhatsApp contact's name in the list", `document.querySelector('ul.conversations').textContent.includes('Asha Rao')`)
	if same := ibikitest.Get(t, ctx, "whether the page was reloaded", chromedp.Evaluate[bool](`window.__sameDocument === true`)); !same {
		t.Error("the page was reloaded to show the new conversations")
	}
	ibikitest.Screenshot(t, ctx, "channels-arrived")

	run("open the MMS conversation",
		chromedp.Click(chromedp.Search(`//ul[@class="conversations"]//a[contains(., "+15551234567")]`)),
		chromedp.WaitVisible(chromedp.ID("thread")))
	waitFor("the picture's link", `[...document.querySelectorAll('#messages .media a')].some(a => a.textContent.includes('image/jpeg') && a.href.endsWith('/Media/ME1'))`)
	run("open the call",
		chromedp.Click(chromedp.Search(`//ul[@class="conversations"]//a[contains(., "+15559876543")]`)),
		chromedp.WaitVisible(chromedp.CSS("#messages .msg.ch-voice")))
	waitFor("the call entry", `document.querySelector('#messages .msg.ch-voice .body.call').textContent.startsWith('Call')`)
	ibikitest.Screenshot(t, ctx, "call")

	run("filter the inbox to WhatsApp", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("channel")),
		chromedp.SetValue(chromedp.ID("channel"), "whatsapp"),
		chromedp.Click(chromedp.CSS(`form.inbox-filters button[type=submit]`)),
		// The filtered page renders the choice as selected; the page it left did not.
		chromedp.WaitReady(chromedp.CSS(`#channel option[value="whatsapp"][selected]`)))
	waitFor("only the WhatsApp conversation", `document.querySelectorAll('ul.conversations li .badge.ch-whatsapp').length === 1 && `+
		`document.querySelectorAll('ul.conversations li').length === 1 && location.search.includes('channel=whatsapp')`)
	ibikitest.Screenshot(t, ctx, "whatsapp-filter")
}
