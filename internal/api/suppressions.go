package api

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

// A suppression is a phone on a client's opt-out list: sends to it are refused (422
// recipient_opted_out). Contacts add themselves by STOP and leave by START; the client and the
// operator manage the list here too.
type suppressionOut struct {
	Phone     string `json:"phone"`
	ClientID  string `json:"client_id"`
	Source    string `json:"source"`
	Keyword   string `json:"keyword"`
	CreatedAt string `json:"created_at"`
}

func suppressionJSON(o model.OptOut) suppressionOut {
	return suppressionOut{Phone: o.Phone, ClientID: o.ClientID, Source: o.Source, Keyword: o.Keyword, CreatedAt: formatTime(o.CreatedAt)}
}

// listSuppressions: GET /api/v1/suppressions.
func (a *API) listSuppressions(w http.ResponseWriter, r *http.Request) {
	a.suppressions(w, r, clientID(r.Context()))
}

// addSuppression: POST /api/v1/suppressions {"phone"} → 201 (200 if it was there already). It
// takes an Idempotency-Key, as the operator's POST /admin/v1/clients/{id}/suppressions does.
func (a *API) addSuppression(w http.ResponseWriter, r *http.Request) {
	id := clientID(r.Context())
	a.suppress(w, r, id, "client", id)
}

// getSuppression: GET /api/v1/suppressions/{phone} → 200, or 404 when the phone may be sent to.
func (a *API) getSuppression(w http.ResponseWriter, r *http.Request) {
	phone, err := sms.NormalizeE164(r.PathValue("phone"), a.Region)
	if err != nil {
		respond.Err(w, r, respond.ErrNotFound)
		return
	}
	o, err := a.Store.OptOut(r.Context(), clientID(r.Context()), phone)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, suppressionJSON(o))
}

// removeSuppression: DELETE /api/v1/suppressions/{phone} → 204.
func (a *API) removeSuppression(w http.ResponseWriter, r *http.Request) {
	a.unsuppress(w, r, clientID(r.Context()))
}

// The operator's views of one client's list: /admin/v1/clients/{id}/suppressions.
func (a *API) adminListSuppressions(w http.ResponseWriter, r *http.Request) {
	if id, ok := a.existingClient(w, r); ok {
		a.suppressions(w, r, id)
	}
}

func (a *API) adminAddSuppression(w http.ResponseWriter, r *http.Request) {
	if id, ok := a.existingClient(w, r); ok {
		a.suppress(w, r, id, "operator", store.OperatorOwner)
	}
}

func (a *API) adminRemoveSuppression(w http.ResponseWriter, r *http.Request) {
	if id, ok := a.existingClient(w, r); ok {
		a.unsuppress(w, r, id)
	}
}

// existingClient reads {id} and answers 404 for an unknown client.
func (a *API) existingClient(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, err := a.Store.CachedClient(r.Context(), id); err != nil {
		respond.Err(w, r, err)
		return "", false
	}
	return id, true
}

func (a *API) suppressions(w http.ResponseWriter, r *http.Request, client string) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	os, err := a.Store.OptOuts(r.Context(), client, cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]suppressionOut, len(os))
	last := ""
	for i, o := range os {
		out[i], last = suppressionJSON(o), o.Phone
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(os), limit, last)})
}

// suppressionAnswer keeps a suppression's answer: 201 when it was added, 200 when it was there.
func suppressionAnswer(result any) (int, any) {
	sup := result.(contact.Suppression)
	if sup.Created {
		return http.StatusCreated, suppressionJSON(sup.OptOut)
	}
	return http.StatusOK, suppressionJSON(sup.OptOut)
}

// suppressionIn is the body of POST /api/v1/suppressions and POST /admin/v1/clients/{id}/suppressions.
type suppressionIn struct {
	Phone string `json:"phone"`
}

// suppress adds a phone to the client's list; owner is the caller whose Idempotency-Key it
// takes (the client, or the operator).
func (a *API) suppress(w http.ResponseWriter, r *http.Request, client, source, owner string) {
	a.idempotent(w, r, owner, suppressionAnswer, func(r *http.Request, body []byte) (int, any, error) {
		var in suppressionIn
		if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		sup, err := a.Contacts.Suppress(r.Context(), client, in.Phone, source)
		if err != nil {
			return 0, nil, contactErr(err, "")
		}
		status, out := suppressionAnswer(sup)
		return status, out, nil
	})
}

func (a *API) unsuppress(w http.ResponseWriter, r *http.Request, client string) {
	if err := a.Contacts.Unsuppress(r.Context(), client, r.PathValue("phone")); err != nil {
		respond.Err(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
