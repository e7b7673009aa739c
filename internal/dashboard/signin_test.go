package dashboard_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestLoginLimitLeavesTheOwnerIn: failed sign-ins are counted per email and address (the
// address as seen through trusted proxies), so someone guessing at an email is stopped while its
// owner, from another address, still signs in.
func TestLoginLimitLeavesTheOwnerIn(t *testing.T) {
	f := newFixture(t, map[string]string{"IBIKI_TRUSTED_PROXIES": "127.0.0.0/8, ::1"})
	f.client("acme")
	f.clientUser("acme", "ann@acme.example")
	login := func(b *browser, password, addr string) answer {
		return b.postRaw("/login", url.Values{"email": {"ann@acme.example"}, "password": {password}},
			map[string]string{"X-Forwarded-For": addr})
	}
	const guesser, owner = "198.51.100.7", "192.0.2.1"

	t.Run("the guesser is refused after 5 wrong passwords, even with the right one", func(t *testing.T) {
		b := newBrowser(t, f.srv)
		for i := range 5 {
			if a := login(b, "wrong-password", guesser); a.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %s", i+1, a)
			}
		}
		if a := login(b, userPassword, guesser); a.Status != http.StatusTooManyRequests {
			t.Errorf("6th try from the guesser's address: %s", a)
		}
	})
	t.Run("the owner signs in from their own address meanwhile", func(t *testing.T) {
		if a := login(newBrowser(t, f.srv), userPassword, owner); a.Status != http.StatusSeeOther {
			t.Errorf("the owner's sign-in: %s", a)
		}
	})
	t.Run("the guesser is still refused afterwards", func(t *testing.T) {
		if a := login(newBrowser(t, f.srv), "wrong-password", guesser); a.Status != http.StatusTooManyRequests {
			t.Errorf("the guesser's next try: %s", a)
		}
	})
}
