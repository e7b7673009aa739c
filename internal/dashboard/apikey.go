package dashboard

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/store"
)

// A client's API key: shown once when rotated; and its Twilio-compatible credentials (Account
// SID, and an auth token shown once when made).

type keyPage struct {
	Key string // shown once, after a rotation
	// AccountSID is the client's Twilio-compatible Account SID ("" for none yet); AuthToken is
	// shown once, after it is made.
	AccountSID, AuthToken string
}

func (d *Dashboard) apiKeyPage(w http.ResponseWriter, r *http.Request, v *view) error {
	page, err := d.keyPage(r, v)
	if err != nil {
		return err
	}
	d.render(w, r, v, http.StatusOK, "apikey", "API key", page)
	return nil
}

func (d *Dashboard) keyPage(r *http.Request, v *view) (keyPage, error) {
	acct, err := d.Store.TwilioAccount(r.Context(), v.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return keyPage{}, nil
	}
	return keyPage{AccountSID: acct.AccountSID}, err
}

// rotateAPIKey makes a new key (shown once) and revokes the old ones at once.
func (d *Dashboard) rotateAPIKey(w http.ResponseWriter, r *http.Request, v *view) error {
	_, key, err := d.Tenants.RotateKey(r.Context(), v.Client.ID)
	if err != nil {
		return err
	}
	d.audit(r, v, "client.rotate_key", v.Client.ID, "", "")
	page, err := d.keyPage(r, v)
	if err != nil {
		return err
	}
	page.Key = key
	d.render(w, r, v, http.StatusOK, "apikey", "API key", page)
	return nil
}

// twilioCredentials makes the client's Twilio-compatible credentials, or a new auth token for
// them (shown once; the former stops working at once).
func (d *Dashboard) twilioCredentials(w http.ResponseWriter, r *http.Request, v *view) error {
	acct, token, _, err := d.Tenants.TwilioCredentials(r.Context(), v.Client.ID)
	if err != nil {
		return err
	}
	d.audit(r, v, "client.twilio_credentials", v.Client.ID, "", "account_sid="+acct.AccountSID)
	d.render(w, r, v, http.StatusOK, "apikey", "API key", keyPage{AccountSID: acct.AccountSID, AuthToken: token})
	return nil
}
