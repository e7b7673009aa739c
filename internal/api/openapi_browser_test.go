package api_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// The reference page renders the document in a browser: operations by tag with their
// parameters, bodies, answers and error codes, and the filter narrows them.
func TestTheReferencePageRendersTheDocument(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	ctx := ibikitest.NewBrowser(t)
	ibikitest.Run(t, ctx, "open the reference page",
		chromedp.Navigate(s.URL+"/docs/api"),
		chromedp.WaitVisible(chromedp.ID("op-sendMessage")),
	)
	send := ibikitest.Get(t, ctx, "read the send operation", chromedp.Text(chromedp.ID("op-sendMessage")))
	for _, want := range []string{"POST", "/api/v1/messages", "Send a message", "Idempotency-Key", "to", "required",
		"202", "insufficient_credits", "recipient_opted_out"} {
		if !strings.Contains(send, want) {
			t.Errorf("the send operation does not show %q:\n%s", want, send)
		}
	}
	if got := ibikitest.Get(t, ctx, "read the Twilio section", chromedp.Text(chromedp.ID("tag-Twilio-compatible-API"))); !strings.Contains(got, "/2010-04-01/Accounts/{AccountSid}/Messages.json") {
		t.Errorf("the Twilio section does not show its messages:\n%.500s", got)
	}
	ibikitest.Run(t, ctx, "filter on a Twilio error code",
		chromedp.SendKeys(chromedp.ID("filter"), "21610"),
		chromedp.WaitNotVisible(chromedp.ID("op-getBalance")),
		chromedp.WaitVisible(chromedp.ID("op-twilioCreateMessage")),
	)
	ibikitest.Screenshot(t, ctx, "filtered")
}
