package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

func TestSessions(t *testing.T) {
	st := ibikitest.NewStore(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	accounts := &auth.Accounts{Store: st, Clock: clock}
	u, err := accounts.CreateOperator(ctx, "Op@Example.com", "Op", "operator-pass")
	if err != nil {
		t.Fatal(err)
	}
	s := &auth.Sessions{Store: st, Clock: clock, Idle: time.Hour, Lifetime: 3 * time.Hour}
	start := func(planted string) (cookie string, r *http.Request) {
		t.Helper()
		req := httptest.NewRequest("POST", "/login", nil)
		if planted != "" {
			req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: planted})
		}
		w := httptest.NewRecorder()
		if _, err := s.Start(ctx, w, req, u); err != nil {
			t.Fatal(err)
		}
		c := w.Result().Cookies()[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
			t.Errorf("cookie = %+v, want HttpOnly, SameSite=Lax, not Secure over plain http", c)
		}
		r = httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: c.Value})
		return c.Value, r
	}
	load := func(r *http.Request) error {
		_, _, err := s.Load(ctx, r)
		return err
	}

	first, r1 := start("")
	t.Run("a new session loads with its user", func(t *testing.T) {
		_, got, err := s.Load(ctx, r1)
		if err != nil || got.Email != "op@example.com" {
			t.Fatalf("Load = %+v, %v", got, err)
		}
	})
	t.Run("signing in again from the same browser replaces its session", func(t *testing.T) {
		second, r2 := start(first)
		if second == first {
			t.Fatal("the session id did not change at sign-in")
		}
		if err := load(r1); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("the replaced session still loads: %v", err)
		}
		r1 = r2
	})
	t.Run("a session used within the idle time lives on, up to its lifetime", func(t *testing.T) {
		for range 4 {
			now = now.Add(50 * time.Minute)
			if err := load(r1); err != nil && now.Before(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
				t.Fatalf("at %s: %v", now, err)
			}
		}
		// 3h20 after sign-in: past the 3h lifetime, used or not.
		if err := load(r1); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("a session past its lifetime loads: %v", err)
		}
	})
	t.Run("an idle session ends", func(t *testing.T) {
		_, r := start("")
		now = now.Add(61 * time.Minute)
		if err := load(r); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("an idle session loads: %v", err)
		}
	})
	t.Run("signing out everywhere ends every session of the user", func(t *testing.T) {
		_, a := start("")
		_, b := start("")
		if n, err := s.EndAll(ctx, u.ID); err != nil || n < 2 {
			t.Fatalf("EndAll = %d, %v", n, err)
		}
		if load(a) == nil || load(b) == nil {
			t.Error("a session survived signing out everywhere")
		}
	})
	t.Run("a blocked user's sessions do not load", func(t *testing.T) {
		_, r := start("")
		u.Active = false
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, u) }); err != nil {
			t.Fatal(err)
		}
		if err := load(r); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("a blocked user's session loads: %v", err)
		}
	})
	t.Run("cookies are Secure when configured", func(t *testing.T) {
		sec := &auth.Sessions{Store: st, Clock: clock, Idle: time.Hour, Lifetime: time.Hour, Secure: true}
		w := httptest.NewRecorder()
		if _, err := sec.Start(ctx, w, httptest.NewRequest("POST", "/login", nil), u); err != nil {
			t.Fatal(err)
		}
		if c := w.Result().Cookies()[0]; !c.Secure {
			t.Error("cookie not Secure")
		}
	})
}
