package api

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

type clientOut struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	WebhookURL        *string `json:"webhook_url"`
	Active            bool    `json:"active"`
	WebhookDisabledAt *string `json:"webhook_disabled_at"`
	RateCents         int64   `json:"rate_cents"`
	QuietHours        *string `json:"quiet_hours"`
	// WebhookFormat is standard (Standard Webhooks JSON) or twilio (Twilio's forms).
	WebhookFormat model.DeliveryFormat `json:"webhook_format"`
	// DLTRequired: every send must match one of the client's DLT templates.
	DLTRequired bool   `json:"dlt_required"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
	// Secrets appear only in the answers that create them.
	APIKey                  string  `json:"api_key,omitempty"`
	WebhookSecret           string  `json:"webhook_secret,omitempty"`
	PreviousSecretExpiresAt *string `json:"previous_webhook_secret_expires_at,omitempty"`
}

func clientJSON(c model.Client) clientOut {
	out := clientOut{ID: c.ID, Name: c.Name, Active: c.Active, WebhookDisabledAt: timeOrNil(c.WebhookDisabledAt),
		RateCents: c.RateCents, WebhookFormat: cmp.Or(c.WebhookFormat, model.DeliveryStandard), DLTRequired: c.DLTRequired, CreatedAt: formatTime(c.CreatedAt),
		UpdatedAt: formatTime(c.UpdatedAt)}
	if c.WebhookURL != "" {
		out.WebhookURL = &c.WebhookURL
	}
	if c.QuietHours != "" {
		out.QuietHours = &c.QuietHours
	}
	return out
}

// tenantErr maps the errors of the tenant service onto the catalogue: its field errors keep
// their code, field and message; a taken id is client_exists. Others pass through to
// respond.Map.
func tenantErr(err error) error {
	var fe *tenant.FieldError
	switch {
	case errors.As(err, &fe):
		return &respond.Error{Status: http.StatusBadRequest, Code: fe.Code, Message: fe.Message, Param: fe.Field}
	case errors.Is(err, tenant.ErrClientExists):
		return &respond.Error{Status: http.StatusConflict, Code: "client_exists", Message: "a client with this id exists", Param: "id"}
	default:
		return err
	}
}

// createClientIn is the body of POST /admin/v1/clients.
type createClientIn struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	WebhookURL string `json:"webhook_url"`
	RateCents  *int64 `json:"rate_cents"`
}

// createClient: POST /admin/v1/clients {"id","name"?,"webhook_url"?,"rate_cents"?} → 201 with
// the API key and webhook secret, shown this once. It takes an Idempotency-Key (the
// operator's), but its answer is not kept: only a marker is, and a repeat is 409
// secrets_shown_once (see answerMarker).
func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	a.idempotent(w, r, store.OperatorOwner, clientAnswer, func(r *http.Request, body []byte) (int, any, error) {
		var in createClientIn
		if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		nc := tenant.NewClient{ID: in.ID, Name: in.Name, WebhookURL: in.WebhookURL, RateCents: in.RateCents}
		c, key, err := a.Tenants.Create(r.Context(), nc)
		if err != nil {
			return 0, nil, keepCause(tenantErr(err), err)
		}
		out := clientJSON(c)
		out.APIKey, out.WebhookSecret = key, c.WebhookSecret
		return http.StatusCreated, out, nil
	})
}

// clientAnswer keeps, for a keyed client creation, only a marker: its answer holds secrets.
var clientAnswer = answerWith(http.StatusCreated, func(c model.Client) answerMarker {
	return answerMarker{SecretsOfClient: c.ID}
})

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

// updateClientIn is the body of PATCH /admin/v1/clients/{id}: the fields to change.
type updateClientIn struct {
	Name       *string `json:"name"`
	WebhookURL *string `json:"webhook_url"`
	Active     *bool   `json:"active"`
	RateCents  *int64  `json:"rate_cents"`
	QuietHours *string `json:"quiet_hours"`
	// WebhookFormat: "standard" or "twilio".
	WebhookFormat *model.DeliveryFormat `json:"webhook_format"`
	// DLTRequired: every send must then match one of the client's DLT templates.
	DLTRequired *bool `json:"dlt_required"`
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request) {
	var in updateClientIn
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	c, err := a.Tenants.Update(r.Context(), r.PathValue("id"), tenant.Changes{Name: in.Name, WebhookURL: in.WebhookURL,
		QuietHours: in.QuietHours, Active: in.Active, RateCents: in.RateCents, WebhookFormat: in.WebhookFormat, DLTRequired: in.DLTRequired})
	if err != nil {
		respond.Err(w, r, tenantErr(err))
		return
	}
	respond.JSON(w, http.StatusOK, clientJSON(c))
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	c, key, err := a.Tenants.RotateKey(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, tenantErr(err))
		return
	}
	out := clientJSON(c)
	out.APIKey = key
	respond.JSON(w, http.StatusOK, out)
}

// twilioCredentials: POST /admin/v1/clients/{id}/twilio-credentials → the client's Account SID
// and a new auth token (201 the first time, 200 on a rotation); the token is shown only here.
func (a *API) twilioCredentials(w http.ResponseWriter, r *http.Request) {
	acct, token, created, err := a.Tenants.TwilioCredentials(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, tenantErr(err))
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	respond.JSON(w, status, twilioCredentialsOut{AccountSID: acct.AccountSID, AuthToken: token})
}

// twilioCredentialsOut is a client's Twilio-compatible credentials, as shown once.
type twilioCredentialsOut struct {
	AccountSID string `json:"account_sid"`
	AuthToken  string `json:"auth_token"`
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	c, err := a.Tenants.RotateWebhookSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, tenantErr(err))
		return
	}
	out := clientJSON(c)
	out.WebhookSecret, out.PreviousSecretExpiresAt = c.WebhookSecret, timeOrNil(c.PreviousSecretUntil)
	respond.JSON(w, http.StatusOK, out)
}

// smppPasswordIn is the optional body of POST /admin/v1/clients/{id}/smpp-password: the
// login's settings (left out: kept, or the defaults on the first password).
type smppPasswordIn struct {
	AllowedIPs *[]string `json:"allowed_ips"`
	MaxBinds   *int      `json:"max_binds"`
	MODelivery *string   `json:"mo_delivery"`
	Rate       *int      `json:"rate"`
}

// smppPasswordOut is a client's SMPP login, its password shown this once.
type smppPasswordOut struct {
	SystemID   string   `json:"system_id"`
	Password   string   `json:"password"`
	AllowedIPs []string `json:"allowed_ips"`
	MaxBinds   int      `json:"max_binds"`
	MODelivery string   `json:"mo_delivery"`
	Rate       int      `json:"rate"`
}

// smppPassword: POST /admin/v1/clients/{id}/smpp-password {"allowed_ips"?,"max_binds"?,
// "mo_delivery"?,"rate"?} → 200 {"system_id","password",…}: a new password for the client's
// binds to the SMPP server (the previous one stops working for new binds), shown only here.
func (a *API) smppPassword(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	var in smppPasswordIn
	if len(bytes.TrimSpace(body)) > 0 {
		if err := respond.DecodeBytes(body, &in); err != nil {
			respond.Err(w, r, err)
			return
		}
	}
	acct, password, err := a.Tenants.SMPPPassword(r.Context(), r.PathValue("id"), tenant.SMPPSettings{
		AllowedIPs: in.AllowedIPs, MaxBinds: in.MaxBinds, MODelivery: in.MODelivery, Rate: in.Rate})
	if errors.Is(err, tenant.ErrSMPPSystemID) {
		err = &respond.Error{Status: http.StatusConflict, Code: "smpp_system_id_too_long", Message: err.Error(), Param: "id"}
	}
	if err != nil {
		respond.Err(w, r, tenantErr(err))
		return
	}
	ips := []string{}
	if acct.AllowedIPs != "" {
		ips = strings.Split(acct.AllowedIPs, ",")
	}
	respond.JSON(w, http.StatusOK, smppPasswordOut{SystemID: acct.ClientID, Password: password, AllowedIPs: ips,
		MaxBinds: acct.MaxBinds, MODelivery: acct.MODelivery, Rate: acct.Rate})
}
