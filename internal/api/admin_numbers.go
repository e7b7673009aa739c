package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

type numberOut struct {
	Number    string  `json:"number"`
	ClientID  *string `json:"client_id"`
	Provider  *string `json:"provider"`
	CreatedAt string  `json:"created_at"`
}

func numberJSON(n model.Number) numberOut {
	out := numberOut{Number: n.Number, CreatedAt: formatTime(n.CreatedAt)}
	if n.ClientID != "" {
		out.ClientID = &n.ClientID
	}
	if n.Provider != "" {
		out.Provider = &n.Provider
	}
	return out
}

// numbers is the shared writer of receiving numbers (the dashboard uses the same).
func (a *API) numbers() tenant.Numbers {
	return tenant.Numbers{Store: a.Store, Providers: a.Providers, Region: a.Region, Clock: a.now}
}

// numberErr maps the number writer's errors onto the catalogue.
func numberErr(err error) error {
	if errors.Is(err, tenant.ErrNumberExists) {
		return &respond.Error{Status: http.StatusConflict, Code: "number_exists",
			Message: "this number is already configured; PATCH it to change its client", Param: "number"}
	}
	return tenantErr(err)
}

// createNumberIn is the body of POST /admin/v1/numbers.
type createNumberIn struct {
	Number   string  `json:"number"`
	ClientID *string `json:"client_id"`
	Provider string  `json:"provider"`
}

// createNumber: POST /admin/v1/numbers {"number","client_id"?,"provider"?} → 201. It takes an
// Idempotency-Key (the operator's).
func (a *API) createNumber(w http.ResponseWriter, r *http.Request) {
	a.idempotent(w, r, store.OperatorOwner, answerWith(http.StatusCreated, numberJSON), func(r *http.Request, body []byte) (int, any, error) {
		var in createNumberIn
		if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		nn := tenant.NewNumber{Number: in.Number, Provider: in.Provider}
		if in.ClientID != nil {
			nn.ClientID = *in.ClientID
		}
		n, err := a.numbers().Add(r.Context(), nn)
		if err != nil {
			return 0, nil, keepCause(numberErr(err), err)
		}
		return http.StatusCreated, numberJSON(n), nil
	})
}

func (a *API) listNumbers(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	ns, err := a.Store.Numbers(r.Context(), cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]numberOut, len(ns))
	last := ""
	for i, n := range ns {
		out[i], last = numberJSON(n), n.Number
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(ns), limit, last)})
}

// updateNumberIn is the body of PATCH /admin/v1/numbers/{number}.
type updateNumberIn struct {
	// Raw, to tell null (back to the shared pool) from absent (unchanged).
	ClientID json.RawMessage `json:"client_id"`
	Provider *string         `json:"provider"`
}

func (a *API) updateNumber(w http.ResponseWriter, r *http.Request) {
	var in updateNumberIn
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	var clientID *string
	if len(in.ClientID) > 0 {
		id := ""
		if string(in.ClientID) != "null" {
			if err := json.Unmarshal(in.ClientID, &id); err != nil {
				respond.Err(w, r, respond.Invalid("client_id", "client_id must be a string, or null for the shared pool"))
				return
			}
		}
		clientID = &id
	}
	n, err := a.numbers().Change(r.Context(), r.PathValue("number"), clientID, in.Provider)
	if err != nil {
		respond.Err(w, r, numberErr(err))
		return
	}
	respond.JSON(w, http.StatusOK, numberJSON(n))
}

func (a *API) deleteNumber(w http.ResponseWriter, r *http.Request) {
	if err := a.numbers().Delete(r.Context(), r.PathValue("number")); err != nil {
		respond.Err(w, r, numberErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
