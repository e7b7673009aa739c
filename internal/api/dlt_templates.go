package api

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/dlt"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

// dltTemplateOut is a DLT template as the API shows it.
type dltTemplateOut struct {
	ID         string `json:"id"`
	ClientID   string `json:"client_id"`
	TemplateID string `json:"template_id"`
	EntityID   string `json:"entity_id"`
	Sender     string `json:"sender"`
	Text       string `json:"text"`
	// Variables is the number of {#var#} placeholders in text.
	Variables int    `json:"variables"`
	CreatedAt string `json:"created_at"`
}

func dltTemplateJSON(t model.DLTTemplate) dltTemplateOut {
	return dltTemplateOut{ID: t.ID, ClientID: t.ClientID, TemplateID: t.TemplateID, EntityID: t.EntityID, Sender: t.Sender,
		Text: t.Text, Variables: dlt.Compile(t.Text).Vars(), CreatedAt: formatTime(t.CreatedAt)}
}

// dltTemplateIn is the body of POST /api/v1/dlt-templates.
type dltTemplateIn struct {
	TemplateID string `json:"template_id"`
	EntityID   string `json:"entity_id"`
	Sender     string `json:"sender"`
	Text       string `json:"text"`
}

// errDLTTemplateExists: the client registered this DLT template id already.
var errDLTTemplateExists = &respond.Error{Status: http.StatusConflict, Code: "dlt_template_exists",
	Message: "a DLT template with this template_id is registered already", Param: "template_id"}

// ownDLTTemplates and adminDLTTemplates say whose templates a request names: the client of
// the key, or the operator's {id} (which must exist).
func (a *API) ownDLTTemplates(r *http.Request) (string, error) { return clientID(r.Context()), nil }

func (a *API) adminDLTTemplates(r *http.Request) (string, error) {
	id := r.PathValue("id")
	_, err := a.Store.Client(r.Context(), id)
	return id, err
}

// createDLTTemplate: POST …/dlt-templates {"template_id","entity_id","sender","text"} → 201.
// owner is whose Idempotency-Key the request takes (the client, or the operator).
func (a *API) createDLTTemplate(who autoReplyClient, owner func(r *http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		client, err := who(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		a.idempotent(w, r, owner(r), answerWith(http.StatusCreated, dltTemplateJSON), func(r *http.Request, body []byte) (int, any, error) {
			var in dltTemplateIn
			if err := respond.DecodeBytes(body, &in); err != nil {
				return 0, nil, err
			}
			now := a.now().UTC()
			t := model.DLTTemplate{ID: model.NewIDAt(model.PrefixDLTTemplate, now), ClientID: client, TemplateID: in.TemplateID,
				EntityID: in.EntityID, Sender: in.Sender, Text: in.Text, CreatedAt: now}
			var fe *dlt.FieldError
			if err := dlt.Check(t); errors.As(err, &fe) {
				return 0, nil, respond.Invalid(fe.Field, fe.Reason)
			}
			err := a.Store.InTx(r.Context(), func(tx *store.Tx) error {
				if err := tx.InsertDLTTemplate(r.Context(), t); err != nil {
					return err
				}
				return tx.Done(r.Context(), t)
			})
			if errors.Is(err, store.ErrConflict) {
				err = keepCause(errDLTTemplateExists, err)
			}
			return http.StatusCreated, dltTemplateJSON(t), err
		})
	}
}

// listDLTTemplates: GET …/dlt-templates?limit=&cursor= → newest first.
func (a *API) listDLTTemplates(who autoReplyClient) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		client, err := who(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		limit, cursor, err := pageParams(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		ts, err := a.Store.DLTTemplates(r.Context(), client, cursor, limit)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		out := make([]dltTemplateOut, len(ts))
		last := ""
		for i, t := range ts {
			out[i], last = dltTemplateJSON(t), t.ID
		}
		respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(ts), limit, last)})
	}
}

// getDLTTemplate: GET /api/v1/dlt-templates/{id}.
func (a *API) getDLTTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := a.Store.DLTTemplate(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, dltTemplateJSON(t))
}

// deleteDLTTemplate: DELETE …/dlt-templates/{template} → 204. Messages sent under it keep
// its ids.
func (a *API) deleteDLTTemplate(who autoReplyClient, param string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		client, err := who(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		err = a.Store.InTx(r.Context(), func(tx *store.Tx) error {
			return tx.DeleteDLTTemplate(r.Context(), client, r.PathValue(param))
		})
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
