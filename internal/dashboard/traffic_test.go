package dashboard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// The traffic chart counts a client's messages per hour, the SMS delivery latency and the
// webhook latency, on both engines (the hour is an integer division in SQL).
func TestTrafficCounts(t *testing.T) {
	f := newFixture(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "20ms"})
	hook := ibikitest.NewReceiver(t)
	acme := f.srv.CreateClient("acme", hook.URL)
	f.srv.CreateClient("globex", "")
	f.routeNumber("+15550004004", "acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 100}, http.StatusOK)
	f.inject("+15557774001", "+15550004004", "one")
	f.inject("+15557774002", "+15550004004", "two")
	f.api(acme.APIKey, "POST", "/api/v1/messages", map[string]string{"to": "+15557774001", "body": "hi"}, http.StatusAccepted)
	now := time.Now()
	waitFor(t, "the counts", func() bool {
		hours, err := f.srv.Store.Traffic(t.Context(), "acme", now.Add(-time.Hour), now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		var in, out, delivered, attempts int64
		for _, h := range hours {
			in, out, delivered, attempts = in+h.In, out+h.Out, delivered+h.Delivered, attempts+h.Attempts
		}
		return in == 2 && out == 1 && delivered == 1 && attempts >= 2
	})
	hours, err := f.srv.Store.Traffic(t.Context(), "globex", now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hours {
		if h.In+h.Out+h.Attempts+h.Delivered != 0 {
			t.Errorf("globex's traffic shows acme's: %+v", h)
		}
	}
	page := f.op.get("/clients/acme").Body
	if !strings.Contains(page, "in: 2, out: 1") || !strings.Contains(page, "SMS delivery") {
		t.Errorf("the client's chart does not show its traffic")
	}
}
