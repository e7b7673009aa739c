package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/auth"
)

type loginForm struct {
	Email, Next, Error string
	// NoUsers is true until the first operator exists: the page then says how to make one.
	NoUsers bool
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if d.stillSignedIn(r) {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	n, err := d.Store.CountUsers(r.Context())
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	d.render(w, r, nil, http.StatusOK, "login", "Sign in", loginForm{Next: r.URL.Query().Get("next"), NoUsers: n == 0})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	email, password := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password")
	form := loginForm{Email: email, Next: r.PostFormValue("next")}
	key := strings.ToLower(email)
	ok, wait, done := d.Limiter.Try(r, key)
	if !ok {
		form.Error = fmt.Sprintf("Too many failed sign-ins. Wait %d seconds and try again.", int(wait.Seconds())+1)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		d.render(w, r, nil, http.StatusTooManyRequests, "login", "Sign in", form)
		return
	}
	u, err := d.Accounts.Authenticate(r.Context(), email, password)
	done(err == nil)
	if errors.Is(err, auth.ErrBadCredentials) {
		form.Error = "Wrong email or password."
		d.render(w, r, nil, http.StatusUnauthorized, "login", "Sign in", form)
		return
	}
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	if _, err := d.Sessions.Start(r.Context(), w, r, u); err != nil {
		d.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, safeNext(form.Next), http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := d.Sessions.End(r.Context(), w, r); err != nil {
		return err
	}
	redirect(w, r, "/login", "You are signed out.")
	return nil
}

func (d *Dashboard) logoutEverywhere(w http.ResponseWriter, r *http.Request, v *view) error {
	n, err := d.Sessions.EndAll(r.Context(), v.User.ID)
	if err != nil {
		return err
	}
	d.Sessions.End(r.Context(), w, r) //nolint:errcheck // the session row is gone already
	redirect(w, r, "/login", fmt.Sprintf("You are signed out everywhere (%d sessions).", n))
	return nil
}

type inviteForm struct {
	Email, Error string
}

func (d *Dashboard) invitePage(w http.ResponseWriter, r *http.Request) {
	u, err := d.Accounts.InvitedUser(r.Context(), r.PathValue("token"))
	if errors.Is(err, auth.ErrInviteInvalid) {
		d.errorPage(w, r, nil, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	d.render(w, r, nil, http.StatusOK, "invite", "Choose your password", inviteForm{Email: u.Email})
}

func (d *Dashboard) acceptInvite(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	pw, again := r.PostFormValue("password"), r.PostFormValue("password_again")
	u, err := d.Accounts.InvitedUser(r.Context(), token)
	if err != nil {
		d.errorPage(w, r, nil, http.StatusNotFound, auth.ErrInviteInvalid.Error())
		return
	}
	form := inviteForm{Email: u.Email}
	if pw != again {
		form.Error = "The two passwords differ."
		d.render(w, r, nil, http.StatusUnprocessableEntity, "invite", "Choose your password", form)
		return
	}
	u, err = d.Accounts.AcceptInvite(r.Context(), token, pw)
	switch {
	case errors.Is(err, auth.ErrWeakPassword):
		form.Error = "A password must be " + fmt.Sprint(auth.MinPasswordLen) + " to " + fmt.Sprint(auth.MaxPasswordLen) + " characters."
		d.render(w, r, nil, http.StatusUnprocessableEntity, "invite", "Choose your password", form)
		return
	case err != nil:
		d.fail(w, r, nil, err)
		return
	}
	if _, err := d.Sessions.Start(r.Context(), w, r, u); err != nil {
		d.fail(w, r, nil, err)
		return
	}
	flash(w, r, "Welcome! Your password is set.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) accountPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d.render(w, r, v, http.StatusOK, "account", "Your account", map[string]any{"Error": ""})
	return nil
}

func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request, v *view) error {
	cur, pw, again := r.PostFormValue("current_password"), r.PostFormValue("password"), r.PostFormValue("password_again")
	msg := ""
	switch {
	case !auth.CheckPassword(v.User.PasswordHash, cur):
		msg = "The current password is wrong."
	case pw != again:
		msg = "The two new passwords differ."
	case auth.CheckPasswordRules(pw) != nil:
		msg = auth.ErrWeakPassword.Error() + "."
	}
	if msg != "" {
		d.render(w, r, v, http.StatusUnprocessableEntity, "account", "Your account", map[string]any{"Error": msg})
		return nil
	}
	if err := d.Accounts.SetPassword(r.Context(), v.User.ID, pw); err != nil {
		return err
	}
	// Every session is gone, this one too: sign this browser in again with a new session.
	if _, err := d.Sessions.Start(r.Context(), w, r, v.User); err != nil {
		return err
	}
	redirect(w, r, "/account", "Password changed; other browsers are signed out.")
	return nil
}
