package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Blocking a client's user ends its sessions at once and keeps it from signing in; the user is
// found only under its own client; unblocking lets it in again.
func TestSetActive(t *testing.T) {
	st := ibikitest.NewStore(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ibikitest.Must(t, st.InTx(t.Context(), func(tx *store.Tx) error {
		return tx.InsertClient(t.Context(), model.Client{ID: "acme", Name: "acme", Active: true, CreatedAt: now, UpdatedAt: now})
	}))
	accounts := &auth.Accounts{Store: st, Clock: clock}
	u, token, err := accounts.InviteClientUser(t.Context(), "acme", "ann@acme.example", "Ann")
	ibikitest.Must(t, err)
	_, err = accounts.AcceptInvite(t.Context(), token, "ann-password")
	ibikitest.Must(t, err)
	sessions := &auth.Sessions{Store: st, Clock: clock, Idle: time.Hour, Lifetime: 3 * time.Hour}
	w := httptest.NewRecorder()
	_, err = sessions.Start(t.Context(), w, httptest.NewRequest("POST", "/login", nil), u)
	ibikitest.Must(t, err)
	signedIn := func() bool {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: w.Result().Cookies()[0].Value})
		_, _, err := sessions.Load(t.Context(), r)
		return err == nil
	}
	canSignIn := func() bool {
		_, err := accounts.Authenticate(t.Context(), "ann@acme.example", "ann-password")
		return err == nil
	}
	if !signedIn() || !canSignIn() {
		t.Fatal("the user is not signed in to begin with")
	}

	t.Run("another client's user is not found", func(t *testing.T) {
		if _, err := accounts.SetActive(t.Context(), "globex", u.ID, false); !errors.Is(err, store.ErrNotFound) || !signedIn() {
			t.Errorf("SetActive = %v (signed in %t), want ErrNotFound and nothing changed", err, signedIn())
		}
	})
	t.Run("blocking ends the sessions and refuses sign-in", func(t *testing.T) {
		got, err := accounts.SetActive(t.Context(), "acme", u.ID, false)
		if err != nil || got.Active || got.Email != u.Email || signedIn() || canSignIn() {
			t.Errorf("SetActive = %+v, %v; signed in %t, can sign in %t", got, err, signedIn(), canSignIn())
		}
	})
	t.Run("unblocking lets the user sign in again", func(t *testing.T) {
		if got, err := accounts.SetActive(t.Context(), "acme", u.ID, true); err != nil || !got.Active || !canSignIn() {
			t.Errorf("SetActive = %+v, %v; can sign in %t", got, err, canSignIn())
		}
	})
}
