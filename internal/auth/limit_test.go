package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
)

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := auth.NewLoginLimiter(func() time.Time { return now })
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
