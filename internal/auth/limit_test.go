package auth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
)

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(func() time.Time { return now }, nil)
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "192.0.2.1:5555"
	try := func(r *http.Request, email string, success bool) (bool, time.Duration) {
		ok, wait, done := l.Try(r, email)
		now = now.Add(100 * time.Millisecond) // the password check takes time
		done(success)
		return ok, wait
	}
	for range 10 {
		if ok, _ := try(r, "a@x.test", true); !ok {
			t.Fatal("successful sign-ins used up the budget")
		}
	}
	for i := range 5 {
		if ok, _ := try(r, "a@x.test", false); !ok {
			t.Fatalf("try %d refused", i+1)
		}
	}
	ok, wait := try(r, "a@x.test", true)
	if ok || wait <= 0 || wait > 30*time.Second {
		t.Fatalf("6th failed try: allowed=%v wait=%v, want a refusal with a wait up to 30s", ok, wait)
	}
	if ok, _ := try(r, "b@x.test", true); !ok {
		t.Error("another email from the same address is refused after 5 failures")
	}
	now = now.Add(30 * time.Second)
	if ok, _ := try(r, "a@x.test", true); !ok {
		t.Error("still refused after the budget refilled")
	}
	// Guesses in flight at once each take a try: the sixth is refused before any password
	// is checked.
	par := httptest.NewRequest("POST", "/login", nil)
	par.RemoteAddr = "192.0.2.50:1"
	var dones []func(bool)
	for i := range 6 {
		ok, _, done := l.Try(par, "c@x.test")
		if ok != (i < 5) {
			t.Errorf("parallel try %d: allowed = %v", i+1, ok)
		}
		dones = append(dones, done)
	}
	for _, done := range dones {
		done(false)
	}
	// The address's own budget: 20 failures across emails.
	other := httptest.NewRequest("POST", "/login", nil)
	other.RemoteAddr = "192.0.2.9:1"
	for i := range 20 {
		try(other, "user"+string(rune('a'+i))+"@x.test", false)
	}
	if ok, _ := try(other, "fresh@x.test", true); ok {
		t.Error("an address that failed 20 times may still try a new email")
	}
}

// from is a sign-in request from addr, through the peer (a proxy) when peer is not "".
func from(addr, peer string) *http.Request {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = addr
	if peer != "" {
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", addr)
	}
	return r
}

// fail makes failed sign-ins from r until the limiter refuses one, and returns how many it let through.
func fail(l *auth.LoginLimiter, r *http.Request, email string) int {
	n := 0
	for ; ; n++ {
		ok, _, done := l.Try(r, email)
		if !ok {
			return n
		}
		done(false)
	}
}

// A guesser who fails as often as the limiter lets them, for an hour, keeps being slowed down,
// and the owner signs in from their own address whenever they like.
func TestLoginLimiterDoesNotLockTheOwnerOut(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(func() time.Time { return now }, nil)
	attacker, owner := from("198.51.100.7:4000", ""), from("192.0.2.1:5555", "")
	guesses := 0
	for i := range 120 {
		guesses += fail(l, attacker, "a@x.test")
		now = now.Add(15 * time.Second)
		if i%10 == 9 {
			ok, _, done := l.Try(owner, "a@x.test")
			if !ok {
				t.Fatalf("after %d wrong passwords from another address, the owner may not sign in", guesses)
			}
			done(true)
		}
		now = now.Add(15 * time.Second)
	}
	if guesses > 5+120 {
		t.Errorf("the guesser made %d guesses in an hour, want at most 5 and then one every 30 s", guesses)
	}
}

// Guesses at one email from many addresses meet the email's ceiling; the owner still signs in
// from an address they signed in from before, and other emails are not affected.
func TestLoginLimiterCeilingPerEmail(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(func() time.Time { return now }, nil)
	home := from("192.0.2.1:5555", "")
	ok, _, done := l.Try(home, "a@x.test")
	if !ok {
		t.Fatal("a first sign-in was refused")
	}
	done(true)
	now = now.Add(time.Hour)
	guesses := 0
	for i := range 40 {
		guesses += fail(l, from(fmt.Sprintf("198.51.100.%d:1", i+1), ""), "a@x.test")
	}
	if guesses != 100 {
		t.Errorf("40 addresses made %d guesses at one email, want the ceiling of 100", guesses)
	}
	tests := []struct {
		name  string
		r     *http.Request
		email string
		want  bool
	}{
		{"a new address is held by the email's ceiling", from("203.0.113.9:1", ""), "a@x.test", false},
		{"the owner's usual address is not", home, "a@x.test", true},
		{"another email from a new address is not", from("203.0.113.9:1", ""), "b@x.test", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, _, done := l.Try(tt.r, tt.email)
			if ok != tt.want {
				t.Errorf("allowed = %v, want %v", ok, tt.want)
			}
			done(true)
		})
	}
}

// The budgets belong to the caller's address as seen through trusted proxies; a forged
// X-Forwarded-For from anyone else changes nothing, and an IPv6 /64 is one address.
func TestLoginLimiterSourceAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name          string
		failing, next *http.Request
		sameBudget    bool
	}{
		{"two callers behind a trusted proxy have their own budgets",
			from("198.51.100.7", "10.0.0.2:443"), from("192.0.2.1", "10.0.0.2:443"), false},
		{"one caller through two trusted proxies has one budget",
			from("198.51.100.7", "10.0.0.2:443"), from("198.51.100.7", "10.9.9.9:443"), true},
		{"a forged X-Forwarded-For from an untrusted peer is ignored",
			from("198.51.100.7", "203.0.113.5:1"), from("192.0.2.1", "203.0.113.5:2"), true},
		{"two addresses of one IPv6 /64 share a budget",
			from("[2001:db8:1:2::1]:1", ""), from("[2001:db8:1:2:ffff::9]:1", ""), true},
		{"addresses of two IPv6 /64s do not",
			from("[2001:db8:1:2::1]:1", ""), from("[2001:db8:1:3::1]:1", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			l := auth.NewLoginLimiter(func() time.Time { return now }, proxies)
			if n := fail(l, tt.failing, "a@x.test"); n != 5 {
				t.Fatalf("%d failures before the refusal, want 5", n)
			}
			if ok, _, _ := l.Try(tt.next, "a@x.test"); ok == tt.sameBudget {
				t.Errorf("the next caller allowed = %v, want %v", ok, !tt.sameBudget)
			}
		})
	}
}
