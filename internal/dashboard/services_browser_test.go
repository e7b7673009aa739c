package dashboard_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// In a real headless Chromium: the client's Services page offers the example spec; a spec with
// a mistake comes back with the error naming its field and the text as typed; the corrected one
// is listed; the service is deleted once the disclosure is opened.
func TestBrowserServices(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	f.routeNumber("57675", "acme")
	f.clientUser("acme", "ann@acme.example")
	srv := f.srv

	ctx := ibikitest.NewBrowser(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ibikitest.Run(t, ctx, what, actions...)
	}
	text := func(what, sel string) string {
		t.Helper()
		return strings.TrimSpace(ibikitest.Get(t, ctx, what, chromedp.Text(sel)))
	}
	run("sign in as the client's user", chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ann@acme.example"),
		chromedp.SendKeys(chromedp.ID("password"), userPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top")))
	run("open Services from the menu", chromedp.Click(chromedp.CSS(`header.top a[href="/services"]`)), chromedp.WaitVisible(chromedp.ID("spec")))
	if ok := ibikitest.Get(t, ctx, "the example spec", chromedp.Evaluate[bool](`JSON.parse(document.getElementById('spec').value).commands.length > 0`)); !ok {
		t.Error("the form's example spec has no command")
	}
	bad := strings.Replace(goodSpec, `"text": "Thanks [firstname]!"`, `"text": "Thanks", "type": "flow"`, 1)
	bad = strings.Replace(bad, `"complete": {"type": "reply", `, `"complete": {`, 1)
	run("save a spec with a mistake", chromedp.SetValue(chromedp.ID("spec"), bad), chromedp.SendKeys(chromedp.ID("name"), "Front desk"),
		chromedp.Click(chromedp.CSS(`#service-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("service-error")))
	if got := text("the error", "#service-error"); got != "flows.register.complete.type: a flow ends with a reply or a callout" {
		t.Errorf("the error says %q", got)
	}
	ibikitest.Screenshot(t, ctx, "service-error")
	run("save the corrected spec", chromedp.SetValue(chromedp.ID("spec"), goodSpec),
		chromedp.Click(chromedp.CSS(`#service-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("tr.service")))
	if got := text("the list", "tr.service"); !strings.Contains(got, "57675") || !strings.Contains(got, "Front desk") || !strings.Contains(got, "active") {
		t.Errorf("the list shows %q", got)
	}
	ibikitest.Screenshot(t, ctx, "services")
	run("open it, and delete it", chromedp.Click(chromedp.CSS(`tr.service a[href^="/services/svc_"]`)), chromedp.WaitVisible(chromedp.ID("delete-service")),
		chromedp.Click(chromedp.CSS("#delete-service summary")),
		chromedp.Click(chromedp.CSS(`#delete-service button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	if got := text("the flash", "p.flash"); got != "Service on 57675 deleted." {
		t.Errorf("after deleting: %q", got)
	}
	if res := f.api(acme.APIKey, "GET", "/api/v1/services", nil, http.StatusOK); !strings.Contains(string(res.Body), `"data":[]`) {
		t.Errorf("after deleting the API sees %s", res.Body)
	}
}
