package dashboard_test

import (
	"encoding/json"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

// With two instances on one PostgreSQL database, a page served by one hears a reply that the
// other accepted.
func TestEventsReachPagesServedByAnotherInstance(t *testing.T) {
	if ibikitest.Engine() != store.Postgres {
		t.Skip("SQLite runs one instance (this test runs in the PostgreSQL pass)")
	}
	url := ibikitest.DatabaseURL(t)
	f := newFixture(t, map[string]string{"IBIKI_DATABASE_URL": url})
	other := ibikitest.NewServer(t, map[string]string{"IBIKI_DATABASE_URL": url})
	f.client("acme")
	f.routeNumber("+15550003003", "acme")
	user := f.clientUser("acme", "ann@acme.example")
	// The session lives in the shared database: the same cookie works on the other instance.
	elsewhere := newBrowser(t, other)
	elsewhere.setSession(user.sessionID())
	stream := elsewhere.events()
	time.Sleep(300 * time.Millisecond) // both instances LISTENing
	id := f.inject("+15557773003", "+15550003003", "hello from instance one")
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-stream:
			if !ok {
				t.Fatal("the stream ended")
			}
			var d struct {
				ClientID  string `json:"client_id"`
				MessageID string `json:"message_id"`
			}
			if json.Unmarshal([]byte(ev.Data), &d) == nil && ev.Kind == "message" && d.MessageID == id {
				if d.ClientID != "acme" {
					t.Errorf("event of client %q", d.ClientID)
				}
				return
			}
		case <-timeout:
			t.Fatal("the page on the other instance heard nothing within 10 s")
		}
	}
}

// The two steps of an import may reach different instances: the upload waits in the database.
func TestImportAcrossInstances(t *testing.T) {
	if ibikitest.Engine() != store.Postgres {
		t.Skip("SQLite runs one instance (this test runs in the PostgreSQL pass)")
	}
	url := ibikitest.DatabaseURL(t)
	f := newFixture(t, map[string]string{"IBIKI_DATABASE_URL": url})
	other := ibikitest.NewServer(t, map[string]string{"IBIKI_DATABASE_URL": url})
	f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")
	up := user.postFile("/contacts/import", "a.csv", "Mobile,Name\n+15551239001,Ann\n", nil)
	m := importToken.FindStringSubmatch(up.Body)
	if m == nil {
		t.Fatalf("upload: %s", up)
	}
	elsewhere := newBrowser(t, other)
	elsewhere.setSession(user.sessionID())
	res := elsewhere.postForm("/contacts/import/"+m[1], neturl.Values{"col1": {"phone"}, "col2": {"first_name"}})
	if res.Status != 200 || !strings.Contains(res.Body, `id="imported">1<`) {
		t.Fatalf("the mapping step on the other instance: %s", res)
	}
}
