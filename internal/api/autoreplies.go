package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

// autoReplyIO is an auto-reply rule as the API reads and shows it.
type autoReplyIO struct {
	ID            string               `json:"id,omitempty"`
	ClientID      string               `json:"client_id,omitempty"`
	Channel       model.Channel        `json:"channel"`
	Number        string               `json:"number"`
	Text          string               `json:"text"`
	OutsideText   string               `json:"outside_text"`
	Hours         *model.BusinessHours `json:"hours"`
	WindowSeconds int64                `json:"window_seconds"`
	CreatedAt     string               `json:"created_at,omitempty"`
	UpdatedAt     string               `json:"updated_at,omitempty"`
}

func autoReplyJSON(a model.AutoReply) autoReplyIO {
	return autoReplyIO{ID: a.ID, ClientID: a.ClientID, Channel: a.Channel, Number: a.Number, Text: a.Text,
		OutsideText: a.OutsideText, Hours: a.Hours, WindowSeconds: int64(a.Window / time.Second),
		CreatedAt: formatTime(a.CreatedAt), UpdatedAt: formatTime(a.UpdatedAt)}
}

// autoReplyClient is whose rules a request names: the client of the key, or the operator's
// {id} (which must exist).
type autoReplyClient func(r *http.Request) (string, error)

func (a *API) ownAutoReplies(r *http.Request) (string, error) { return clientID(r.Context()), nil }

func (a *API) adminAutoReplies(r *http.Request) (string, error) {
	id := r.PathValue("id")
	_, err := a.Store.Client(r.Context(), id)
	return id, err
}

// listAutoReplies: GET …/auto-replies → {"data":[…]}.
func (a *API) listAutoReplies(who autoReplyClient) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := who(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		rules, err := a.Store.AutoReplies(r.Context(), id)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		out := make([]autoReplyIO, len(rules))
		for i, rule := range rules {
			out[i] = autoReplyJSON(rule)
		}
		respond.JSON(w, http.StatusOK, page{Data: out})
	}
}

// putAutoReply: PUT …/auto-replies {"channel"?,"number"?,"text","outside_text"?,"hours"?,
// "window_seconds"?} → 200 with the rule; it replaces the rule of the same channel and number.
func (a *API) putAutoReply(who autoReplyClient) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := who(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		var in autoReplyIO
		if err := respond.Decode(r, &in); err != nil {
			respond.Err(w, r, err)
			return
		}
		if in.ID != "" || in.ClientID != "" || in.CreatedAt != "" || in.UpdatedAt != "" {
			respond.Err(w, r, respond.Invalid("id", "a rule is named by its channel and number; id, client_id and the times are Ibiki's"))
			return
		}
		if in.WindowSeconds < 0 {
			respond.Err(w, r, respond.Invalid("window_seconds", "must be from 60 to 2592000"))
			return
		}
		rule, err := a.answers().SaveAutoReply(r.Context(), id, model.AutoReply{Channel: in.Channel, Number: in.Number,
			Text: in.Text, OutsideText: in.OutsideText, Hours: in.Hours, Window: time.Duration(in.WindowSeconds) * time.Second})
		var fe *tenant.FieldError
		if errors.As(err, &fe) && fe.Field == "window" {
			err = respond.Invalid("window_seconds", "window_seconds must be from 60 to 2592000")
		}
		if err != nil {
			respond.Err(w, r, tenantErr(err))
			return
		}
		respond.JSON(w, http.StatusOK, autoReplyJSON(rule))
	}
}

// answers is the shared writer of auto-replies and voice answers (the dashboard uses the same).
func (a *API) answers() tenant.Answers {
	return tenant.Answers{Store: a.Store, Region: a.Region, Clock: a.now}
}

// deleteAutoReply: DELETE …/auto-replies/{rule} → 204.
func (a *API) deleteAutoReply(who autoReplyClient) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := who(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		err = a.Store.InTx(r.Context(), func(tx *store.Tx) error { return tx.DeleteAutoReply(r.Context(), id, r.PathValue("rule")) })
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
