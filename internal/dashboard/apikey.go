package dashboard

import "net/http"

// A client's API key: shown once when rotated.

type keyPage struct {
	Key string // shown once, after a rotation
}

func (d *Dashboard) apiKeyPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d.render(w, r, v, http.StatusOK, "apikey", "API key", keyPage{})
	return nil
}

// rotateAPIKey makes a new key (shown once) and revokes the old ones at once.
func (d *Dashboard) rotateAPIKey(w http.ResponseWriter, r *http.Request, v *view) error {
	_, key, err := d.Tenants.RotateKey(r.Context(), v.Client.ID)
	if err != nil {
		return err
	}
	d.audit(r, v, "client.rotate_key", v.Client.ID, "", "")
	d.render(w, r, v, http.StatusOK, "apikey", "API key", keyPage{Key: key})
	return nil
}
