package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// The dashboard's writes that now go through their domain packages: reading a thread clears
// its unread count (conversation.MarkRead), the test event is queued to the client's webhook
// (webhook.EnqueueTest), and blocking a user ends its sessions (auth.Accounts.SetActive).
func TestDashboardWritesThroughTheDomain(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")

	t.Run("opening a thread marks it read", func(t *testing.T) {
		f := f.on(t)
		f.routeNumber("+15550009001", "acme")
		f.inject("+15557770001", "+15550009001", "hello")
		conv := f.conversationOf(acme.APIKey, "+15557770001")
		unread := func() int64 {
			var pg struct {
				Data []struct {
					ID          string `json:"id"`
					UnreadCount int64  `json:"unread_count"`
				} `json:"data"`
			}
			f.api(acme.APIKey, "GET", "/api/v1/conversations", nil, http.StatusOK).JSON(t, &pg)
			for _, c := range pg.Data {
				if c.ID == conv {
					return c.UnreadCount
				}
			}
			return -1
		}
		if n := unread(); n != 1 {
			t.Fatalf("unread before = %d, want 1", n)
		}
		if a := user.on(t).get("/conversations/" + conv); a.Status != http.StatusOK {
			t.Fatalf("thread: %s", a)
		}
		if n := unread(); n != 0 {
			t.Errorf("unread after reading = %d, want 0", n)
		}
	})

	t.Run("the test event needs a URL, then is queued to it", func(t *testing.T) {
		u := user.on(t)
		if a := u.postForm("/settings/webhook/test", nil); a.Status != http.StatusSeeOther || a.Location() != "/settings/webhook" {
			t.Fatalf("test without a URL: %s", a)
		}
		if n := deliveries(t, f, acme.APIKey); n != 0 {
			t.Fatalf("%d deliveries without a URL, want none", n)
		}
		hook := ibikitest.NewReceiver(t)
		f.on(t).admin("PATCH", "/admin/v1/clients/acme", map[string]string{"webhook_url": hook.URL}, http.StatusOK)
		if a := u.postForm("/settings/webhook/test", nil); a.Status != http.StatusSeeOther {
			t.Fatalf("test: %s", a)
		}
		got := hook.WaitFor(t, 1)
		if !strings.Contains(string(got[0].Body), `"type":"webhook.test"`) {
			t.Errorf("the receiver got %s, want a webhook.test event", got[0].Body)
		}
	})

	t.Run("blocking a user signs it out", func(t *testing.T) {
		page := f.on(t).op.get("/clients/acme")
		m := regexp.MustCompile(`action="(/clients/acme/users/[^/"]+/active)"`).FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("no block button on %s", page)
		}
		if a := f.op.on(t).postForm(m[1], url.Values{"active": {"false"}}); a.Status != http.StatusSeeOther {
			t.Fatalf("block: %s", a)
		}
		if user.on(t).signedIn() {
			t.Errorf("the blocked user is still signed in")
		}
		if a := f.op.on(t).postForm(strings.Replace(m[1], "/clients/acme/", "/clients/globex/", 1), url.Values{"active": {"true"}}); a.Status != http.StatusNotFound {
			t.Errorf("unblocking through another client: %s, want 404", a)
		}
	})
}

// deliveries counts the client's webhook deliveries.
func deliveries(t *testing.T, f *fixture, key string) int {
	t.Helper()
	var pg struct {
		Data []json.RawMessage `json:"data"`
	}
	f.on(t).api(key, "GET", "/api/v1/webhook/deliveries", nil, http.StatusOK).JSON(t, &pg)
	return len(pg.Data)
}
