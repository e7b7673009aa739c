package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/quiet"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// defaultRateCents is what one outbound segment costs a new client unless the operator says.
const defaultRateCents = 1

// maxRateCents bounds a segment's price (100 dollars): a larger one is a typo.
const maxRateCents = 10_000

func validRate(n int64) bool { return n >= 0 && n <= maxRateCents }

var errRate = respond.Invalid("rate_cents", "rate_cents must be a whole number of cents from 0 to 10000 per segment")

// secretGrace is how long a rotated webhook secret keeps signing next to the new one.
const secretGrace = 24 * time.Hour

type clientOut struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	WebhookURL        *string `json:"webhook_url"`
	Active            bool    `json:"active"`
	WebhookDisabledAt *string `json:"webhook_disabled_at"`
	RateCents         int64   `json:"rate_cents"`
	QuietHours        *string `json:"quiet_hours"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
	// Secrets appear only in the answers that create them.
	APIKey                  string  `json:"api_key,omitempty"`
	WebhookSecret           string  `json:"webhook_secret,omitempty"`
	PreviousSecretExpiresAt *string `json:"previous_webhook_secret_expires_at,omitempty"`
}

func clientJSON(c model.Client) clientOut {
	out := clientOut{ID: c.ID, Name: c.Name, Active: c.Active, WebhookDisabledAt: timeOrNil(c.WebhookDisabledAt),
		RateCents: c.RateCents, CreatedAt: formatTime(c.CreatedAt), UpdatedAt: formatTime(c.UpdatedAt)}
	if c.WebhookURL != "" {
		out.WebhookURL = &c.WebhookURL
	}
	if c.QuietHours != "" {
		out.QuietHours = &c.QuietHours
	}
	return out
}

func (a *API) checkWebhookURL(r *http.Request, url string) error {
	if url == "" {
		return nil
	}
	if err := webhook.ValidateURL(r.Context(), url, a.AllowPrivateWebhooks, a.Resolver); err != nil {
		return respond.Invalid("webhook_url", err.Error())
	}
	return nil
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		WebhookURL string `json:"webhook_url"`
		RateCents  *int64 `json:"rate_cents"`
	}
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	in.Name, in.WebhookURL = strings.TrimSpace(in.Name), strings.TrimSpace(in.WebhookURL)
	switch {
	case in.ID == "":
		respond.Err(w, r, respond.Missing("id"))
		return
	case !model.ValidClientID(in.ID):
		respond.Err(w, r, respond.Invalid("id", model.ErrInvalidClientID.Error()))
		return
	case len(in.Name) > 200:
		respond.Err(w, r, respond.Invalid("name", "name must be at most 200 characters"))
		return
	case in.RateCents != nil && !validRate(*in.RateCents):
		respond.Err(w, r, errRate)
		return
	}
	if err := a.checkWebhookURL(r, in.WebhookURL); err != nil {
		respond.Err(w, r, err)
		return
	}
	now := a.now()
	c := model.Client{ID: in.ID, Name: in.Name, WebhookURL: in.WebhookURL, Active: true,
		WebhookSecret: webhook.NewSecret(), RateCents: defaultRateCents, CreatedAt: now, UpdatedAt: now}
	if in.RateCents != nil {
		c.RateCents = *in.RateCents
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	key, rec := auth.NewAPIKey(c.ID, now)
	err := a.Store.InTx(r.Context(), func(tx *store.Tx) error {
		if err := tx.InsertClient(r.Context(), c); err != nil {
			return err
		}
		return tx.InsertAPIKey(r.Context(), rec, auth.Hash(key))
	})
	if err != nil {
		if isConflict(err) {
			err = &respond.Error{Status: http.StatusConflict, Code: "client_exists", Message: "a client with this id exists", Param: "id"}
		}
		respond.Err(w, r, err)
		return
	}
	out := clientJSON(c)
	out.APIKey, out.WebhookSecret = key, c.WebhookSecret
	respond.JSON(w, http.StatusCreated, out)
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	cs, err := a.Store.Clients(r.Context(), cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]clientOut, len(cs))
	for i, c := range cs {
		out[i] = clientJSON(c)
	}
	last := ""
	if len(cs) > 0 {
		last = cs[len(cs)-1].ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(cs), limit, last)})
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := a.Store.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, clientJSON(c))
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name       *string `json:"name"`
		WebhookURL *string `json:"webhook_url"`
		Active     *bool   `json:"active"`
		RateCents  *int64  `json:"rate_cents"`
		QuietHours *string `json:"quiet_hours"`
	}
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	if in.RateCents != nil && !validRate(*in.RateCents) {
		respond.Err(w, r, errRate)
		return
	}
	if in.QuietHours != nil {
		q, err := quiet.Parse(*in.QuietHours)
		if err != nil {
			respond.Err(w, r, respond.Invalid("quiet_hours", err.Error()+` ("" for none)`))
			return
		}
		*in.QuietHours = q.String()
	}
	if in.Name != nil && (strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 200) {
		respond.Err(w, r, respond.Invalid("name", "name must be 1 to 200 characters"))
		return
	}
	if in.WebhookURL != nil {
		*in.WebhookURL = strings.TrimSpace(*in.WebhookURL)
		if err := a.checkWebhookURL(r, *in.WebhookURL); err != nil {
			respond.Err(w, r, err)
			return
		}
	}
	a.changeClient(w, r, http.StatusOK, func(c *model.Client, out *clientOut) {
		if in.Name != nil {
			c.Name = strings.TrimSpace(*in.Name)
		}
		if in.WebhookURL != nil {
			// Saving the URL, even unchanged, is how an operator re-enables an endpoint that
			// answered 410 Gone.
			c.WebhookURL, c.WebhookDisabledAt = *in.WebhookURL, time.Time{}
		}
		if in.Active != nil {
			c.Active = *in.Active
		}
		if in.RateCents != nil {
			c.RateCents = *in.RateCents
		}
		if in.QuietHours != nil {
			c.QuietHours = *in.QuietHours
		}
	})
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	var key string
	a.changeClient(w, r, http.StatusOK, func(c *model.Client, out *clientOut) {
		out.APIKey = key
	}, func(tx *store.Tx, c model.Client) error {
		var rec model.APIKey
		key, rec = auth.NewAPIKey(c.ID, a.now())
		if err := tx.RevokeAPIKeys(r.Context(), c.ID, a.now()); err != nil {
			return err
		}
		return tx.InsertAPIKey(r.Context(), rec, auth.Hash(key))
	})
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	a.changeClient(w, r, http.StatusOK, func(c *model.Client, out *clientOut) {
		c.PreviousSecret, c.PreviousSecretUntil = c.WebhookSecret, a.now().Add(secretGrace)
		c.WebhookSecret = webhook.NewSecret()
		out.WebhookSecret, out.PreviousSecretExpiresAt = c.WebhookSecret, timeOrNil(c.PreviousSecretUntil)
	})
}

// changeClient loads a client, applies edit (which may also fill in the answer's one-time
// secrets), runs the extra writes, and saves it all in one transaction.
func (a *API) changeClient(w http.ResponseWriter, r *http.Request, status int, edit func(*model.Client, *clientOut),
	extra ...func(*store.Tx, model.Client) error) {
	var (
		c   model.Client
		out clientOut
	)
	err := a.Store.InTx(r.Context(), func(tx *store.Tx) (err error) {
		c, err = tx.Client(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		for _, f := range extra {
			if err := f(tx, c); err != nil {
				return err
			}
		}
		out = clientOut{}
		edit(&c, &out)
		c.UpdatedAt = a.now()
		return tx.UpdateClient(r.Context(), c)
	})
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	res := clientJSON(c)
	res.APIKey, res.WebhookSecret, res.PreviousSecretExpiresAt = out.APIKey, out.WebhookSecret, out.PreviousSecretExpiresAt
	respond.JSON(w, status, res)
}
