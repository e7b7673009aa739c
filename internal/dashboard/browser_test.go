package dashboard_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// The walk-through of the issue, in a real headless Chromium: the operator creates a client and
// a client user; the user imports a CSV through the mapping step, sends a campaign to the
// simulator and watches it reach 100%, sees a reply arrive in the open conversation without a
// reload, answers it, and finds the events in the webhook delivery log. A screenshot of each
// step is kept under artifacts/screenshots/.
func TestBrowserWalkthrough(t *testing.T) {
	srv := ibikitest.NewServer(t, map[string]string{
		"IBIKI_ADMIN_EMAIL":       "op@example.com",
		"IBIKI_ADMIN_PASSWORD":    "operator-pass",
		"IBIKI_SIMULATOR_LATENCY": "50ms",
	})
	hook := ibikitest.NewReceiver(t)
	ctx := ibikitest.NewBrowser(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ibikitest.Run(t, ctx, what, actions...)
	}
	text := func(what string, sel chromedp.CSS) string {
		t.Helper()
		return strings.TrimSpace(ibikitest.Get(t, ctx, what, chromedp.Text(sel)))
	}
	waitFor := func(what, js string) {
		t.Helper()
		ibikitest.Get(t, ctx, what, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(19*time.Second)))
	}
	// accessible checks what a page offers a screen reader and a keyboard: a language, a main
	// heading, a label for every control, a name for every button and link.
	accessible := func(page string) {
		t.Helper()
		bad := ibikitest.Get(t, ctx, "accessibility of "+page, chromedp.Evaluate[[]string](`(() => {
			const bad = [];
			if (!document.documentElement.lang) bad.push('no lang on <html>');
			if (!document.querySelector('h1')) bad.push('no <h1>');
			for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
				if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) bad.push('unlabelled ' + el.outerHTML.slice(0, 80));
			}
			for (const el of document.querySelectorAll('button, a')) {
				if (!el.textContent.trim() && !el.getAttribute('aria-label')) bad.push('nameless ' + el.outerHTML.slice(0, 80));
			}
			return bad;
		})()`))
		for _, b := range bad {
			t.Errorf("%s: %s", page, b)
		}
	}
	signIn := func(email, password string) {
		t.Helper()
		run("open the sign-in page", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("email")))
		run("sign in as "+email,
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("header.top")))
	}

	// 1. The operator signs in and lands on the clients page.
	signIn("op@example.com", "operator-pass")
	if h := text("the operator's home", "main h1"); h != "Clients" {
		t.Fatalf("the operator's home says %q, want Clients", h)
	}
	ibikitest.Screenshot(t, ctx, "operator-home")
	accessible("operator-home")

	// 2. ...creates a client with a webhook...
	run("create a client",
		chromedp.SendKeys(chromedp.ID("id"), "acme"),
		chromedp.SendKeys(chromedp.ID("name"), "Acme Bakery"),
		chromedp.SendKeys(chromedp.ID("webhook_url"), hook.URL),
		chromedp.Click(chromedp.CSS(`#new-client button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("created-client")))
	if key := text("the new API key", "#new-api-key"); !strings.HasPrefix(key, "ibk_") {
		t.Errorf("the API key shown once is %q", key)
	}
	ibikitest.Screenshot(t, ctx, "client-created")
	accessible("client-created")

	// 3. ...tops up its credits and invites a user.
	run("open the client", chromedp.Navigate(srv.URL+"/clients/acme"), chromedp.WaitVisible(chromedp.ID("amount")))
	run("top up $10",
		chromedp.SendKeys(chromedp.ID("amount"), "10"),
		chromedp.SendKeys(chromedp.ID("reference"), "invoice 1"),
		chromedp.Submit(chromedp.ID("amount")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")))
	if b := text("the balance", "#balance"); b != "$10.00" {
		t.Errorf("balance after the top-up = %q", b)
	}
	run("invite a user",
		chromedp.SendKeys(chromedp.ID("email"), "staff@acme.example"),
		chromedp.SendKeys(chromedp.ID("user_name"), "Sam"),
		chromedp.Click(chromedp.CSS(`#invite-user button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("invite-link")))
	invite := text("the invitation link", "#invite-link")
	if !strings.HasPrefix(invite, srv.URL+"/invite/") {
		t.Fatalf("invitation link = %q", invite)
	}
	ibikitest.Screenshot(t, ctx, "user-invited")
	accessible("user-invited")
	run("the operator signs out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))

	// 4. The user opens the invitation, chooses a password, and signs in with it.
	run("open the invitation", chromedp.Navigate(invite), chromedp.WaitVisible(chromedp.ID("password_again")))
	run("choose a password",
		chromedp.SendKeys(chromedp.ID("password"), "staff-password"),
		chromedp.SendKeys(chromedp.ID("password_again"), "staff-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("header.top")))
	run("sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	signIn("staff@acme.example", "staff-password")
	if h := text("the client's home", "main h1"); h != "Conversations" {
		t.Fatalf("the client user's home says %q, want Conversations", h)
	}
	ibikitest.Screenshot(t, ctx, "client-home")
	accessible("client-home")

	// 5. Import a CSV through the mapping step: its headers are not Ibiki's names.
	csvPath := filepath.Join(t.TempDir(), "customers.csv")
	csv := "Mobile;Given name;Company;Shoe size\n+15551230001;Ann;Ann's Bakery;38\n+15551230002;Bob;Bob's Bikes;44\n" +
		"not a phone;Cy;;40\n+15551230003;Dee;;39\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	run("upload the CSV",
		chromedp.Navigate(srv.URL+"/contacts/import"),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{csvPath}),
		chromedp.SendKeys(chromedp.ID("tag"), "spring"),
		chromedp.Submit(chromedp.ID("file")),
		chromedp.WaitVisible(chromedp.ID("mapping")))
	if got := ibikitest.Get(t, ctx, "the phone column's field", chromedp.Value(chromedp.ID("col1"))); got != "phone" {
		t.Errorf("the Mobile column is mapped to %q, want phone", got)
	}
	ibikitest.Screenshot(t, ctx, "import-mapping")
	accessible("import-mapping")
	run("ignore the shoe size and import",
		chromedp.SetValue(chromedp.ID("col4"), "-"),
		chromedp.Submit(chromedp.ID("col1")),
		chromedp.WaitVisible(chromedp.ID("import-report")))
	if n := text("imported count", "#imported"); n != "3" {
		t.Errorf("imported = %s, want 3", n)
	}
	if rep := text("the report", "#import-report"); !strings.Contains(rep, "4") || !strings.Contains(rep, "Invalid rows") {
		t.Errorf("the report does not give the bad row's line (4): %q", rep)
	}
	ibikitest.Screenshot(t, ctx, "import-report")
	accessible("import-report")

	// 6. A campaign to the tag: preview with its cost, then send, and the progress bar reaches 100%.
	run("open the campaign builder",
		chromedp.Navigate(srv.URL+"/campaigns/new?tag=spring"),
		chromedp.WaitVisible(chromedp.ID("message")))
	run("write the campaign",
		chromedp.SendKeys(chromedp.ID("name"), "Spring sale"),
		chromedp.SendKeys(chromedp.ID("message"), "Hi [firstname|there], spring sale today!"))
	waitFor("the live segment count", `document.querySelector('#estimate').textContent.includes('1 segment')`)
	run("preview", chromedp.Submit(chromedp.ID("message")), chromedp.WaitVisible(chromedp.ID("start")))
	if b := text("the start button", "#start"); !strings.Contains(b, "$0.03") {
		t.Errorf("the send button shows %q, want the cost $0.03", b)
	}
	ibikitest.Screenshot(t, ctx, "campaign-preview")
	accessible("campaign-preview")
	run("send", chromedp.Click(chromedp.ID("start")), chromedp.WaitVisible(chromedp.CSS("p.flash")), chromedp.WaitNotPresent(chromedp.ID("start")))
	waitFor("the progress bar to reach 100%", `document.querySelector('#campaign-percent').textContent.trim() === '100%'`)
	waitFor("every message to be delivered", `document.querySelector('#delivered').textContent.trim() === '3'`)
	ibikitest.Screenshot(t, ctx, "campaign-done")
	accessible("campaign-done")
	// After the start the page still shows the cost, and each recipient with its message's status.
	run("reload the campaign", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("recipients")))
	if sum := text("the campaign's summary", "#campaign-summary"); !strings.Contains(sum, "$0.03") {
		t.Errorf("the summary after the start says %q, want the cost $0.03", sum)
	}
	waitFor("three recipients, delivered", `[...document.querySelectorAll('#recipients tr.recipient')].filter(r => r.textContent.includes('delivered')).length === 3`)

	// 7. Open Ann's conversation; her reply arrives through the simulator without a reload.
	run("open the conversations", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("ul.conversations a")))
	run("open Ann's conversation",
		chromedp.Click(chromedp.Search(`//ul[@class="conversations"]//a[contains(., "+15551230001")]`)),
		chromedp.WaitVisible(chromedp.ID("thread")))
	waitFor("the event stream to be open", `document.body.dataset.live === 'on'`)
	ibikitest.Get(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__sameDocument = true`))
	res := srv.Do("POST", "/admin/v1/simulator/inbound", ibikitest.AdminToken,
		map[string]string{"from": "+15551230001", "body": "Yes please, <b>two</b> loaves!"})
	if res.Status != http.StatusAccepted {
		t.Fatalf("simulated reply: %d %s", res.Status, res.Body)
	}
	waitFor("the reply to appear", `document.querySelector('#messages').textContent.includes('Yes please, <b>two</b> loaves!')`)
	if same := ibikitest.Get(t, ctx, "whether the page was reloaded", chromedp.Evaluate[bool](`window.__sameDocument === true`)); !same {
		t.Error("the page was reloaded to show the reply")
	}
	ibikitest.Screenshot(t, ctx, "reply-arrived")
	accessible("reply-arrived")

	// 8. Answer from the thread: the box shows segments and cost while typing.
	run("type the answer", chromedp.SendKeys(chromedp.ID("body"), "Great, see you at 9 €"))
	waitFor("the estimate of the answer", `document.querySelector('#estimate').textContent.includes('1 segment')`)
	if est := text("the estimate", "#estimate"); !strings.Contains(est, "GSM-7") || !strings.Contains(est, "$0.01") {
		t.Errorf("estimate while typing = %q", est)
	}
	run("send the answer", chromedp.Click(chromedp.CSS(`form.reply button[type=submit]`)))
	waitFor("the answer in the thread", `[...document.querySelectorAll('#messages .msg.outbound')].some(m => m.textContent.includes('see you at 9'))`)
	ibikitest.Screenshot(t, ctx, "answered")

	// 9. The webhook delivery log shows the reply's event, delivered.
	hook.WaitFor(t, 1)
	run("open the webhook settings", chromedp.Navigate(srv.URL+"/settings/webhook"), chromedp.WaitVisible(chromedp.ID("delivery-log")))
	waitFor("the reply's event, delivered", `[...document.querySelectorAll('#delivery-log tr.delivery[data-type="message.received"]')].some(r => r.textContent.includes('succeeded') && r.textContent.includes('HTTP 200'))`)
	ibikitest.Screenshot(t, ctx, "webhook-log")
	accessible("webhook-log")

	// 10. On a phone: the conversation fits the screen's width, the reply box included.
	run("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("ul.conversations a")),
		chromedp.Click(chromedp.CSS("ul.conversations a")), chromedp.WaitVisible(chromedp.ID("body")))
	if wide := ibikitest.Get(t, ctx, "the page width on a phone", chromedp.Evaluate[bool](
		`document.documentElement.scrollWidth <= window.innerWidth + 1`)); !wide {
		t.Error("the conversation page is wider than a phone's screen")
	}
	ibikitest.Screenshot(t, ctx, "phone")
}
