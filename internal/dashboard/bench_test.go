package dashboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkConversationsPage is a client user's home page with 100 conversations: the list
// query, the opt-out lookup and the render, through the real server.
func BenchmarkConversationsPage(b *testing.B) {
	f := newFixture(b, nil)
	f.client("acme")
	f.routeNumber("+15550009009", "acme")
	user := f.clientUser("acme", "ann@acme.example")
	for i := range 100 {
		f.inject(fmt.Sprintf("+1555701%04d", i), "+15550009009", fmt.Sprintf("reply number %d", i))
	}
	waitFor(b, "100 conversations", func() bool {
		return strings.Count(user.get("/").Body, `<span class="phone">`) == 100
	})
	for b.Loop() {
		if a := user.get("/"); a.Status != http.StatusOK {
			b.Fatalf("GET /: %s", a)
		}
	}
}
