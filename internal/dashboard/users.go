package dashboard

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ibiki/ibiki/internal/auth"
)

// A client's users, as the operator manages them: invitations and blocking.

// inviteUser adds a client user and shows the invitation link to hand over.
func (d *Dashboard) inviteUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	u, token, err := d.Accounts.InviteClientUser(r.Context(), id, r.PostFormValue("email"), r.PostFormValue("name"))
	switch {
	case errors.Is(err, auth.ErrBadEmail), errors.Is(err, auth.ErrEmailTaken):
		return d.clientError(w, r, v, id, err.Error()+".")
	case err != nil:
		return err
	}
	d.audit(r, v, "user.invite", id, u.Email, "")
	return d.showInvite(w, r, v, id, u.Email, token)
}

func (d *Dashboard) reinviteUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	token, err := d.Accounts.Reinvite(r.Context(), id, r.PathValue("user"))
	if errors.Is(err, auth.ErrHasPassword) {
		return d.clientError(w, r, v, id, err.Error()+".")
	}
	if err != nil {
		return err
	}
	u, err := d.Store.User(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	d.audit(r, v, "user.reinvite", id, u.Email, "")
	return d.showInvite(w, r, v, id, u.Email, token)
}

func (d *Dashboard) showInvite(w http.ResponseWriter, r *http.Request, v *view, clientID, email, token string) error {
	data, err := d.clientData(r, clientID)
	if err != nil {
		return err
	}
	data.InviteLink, data.InviteFor = d.baseURL(r)+"/invite/"+token, email
	d.render(w, r, v, http.StatusOK, "client", data.Client.Name, data)
	return nil
}

// setUserActive blocks or unblocks a client user; blocking also ends the user's sessions.
func (d *Dashboard) setUserActive(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	active := r.PostFormValue("active") == "true"
	u, err := d.Accounts.SetActive(r.Context(), id, r.PathValue("user"), active)
	if err != nil {
		return err
	}
	d.audit(r, v, "user.set_active", id, u.Email, fmt.Sprintf("active=%t", active))
	redirect(w, r, "/clients/"+id, "Saved.")
	return nil
}
