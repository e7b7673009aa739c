package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
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

// checkClient answers a 400 naming the field when clientID names no client.
func (a *API) checkClient(r *http.Request, tx *store.Tx, param, clientID string) error {
	if _, err := tx.Client(r.Context(), clientID); errors.Is(err, store.ErrNotFound) {
		return respond.Invalid(param, "no client has the id "+clientID)
	} else if err != nil {
		return err
	}
	return nil
}

func (a *API) createNumber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Number   string  `json:"number"`
		ClientID *string `json:"client_id"`
		Provider string  `json:"provider"`
	}
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	if in.Number == "" {
		respond.Err(w, r, respond.Missing("number"))
		return
	}
	num, err := sms.NormalizeAddress(in.Number, a.Region)
	if err != nil {
		respond.Err(w, r, respond.Invalid("number", err.Error()))
		return
	}
	if in.Provider, err = a.checkProvider(in.Provider); err != nil {
		respond.Err(w, r, err)
		return
	}
	n := model.Number{Number: num, Provider: in.Provider, CreatedAt: a.now()}
	if in.ClientID != nil {
		n.ClientID = *in.ClientID
	}
	err = a.Store.InTx(r.Context(), func(tx *store.Tx) error {
		if n.ClientID != "" {
			if err := a.checkClient(r, tx, "client_id", n.ClientID); err != nil {
				return err
			}
		}
		return tx.InsertNumber(r.Context(), n)
	})
	if isConflict(err) {
		err = &respond.Error{Status: http.StatusConflict, Code: "number_exists",
			Message: "this number is already configured; PATCH it to change its client", Param: "number"}
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, numberJSON(n))
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

// numberParam reads the {number} path segment, normalised like a stored number.
func (a *API) numberParam(r *http.Request) (string, error) {
	num, err := sms.NormalizeAddress(r.PathValue("number"), a.Region)
	if err != nil {
		return "", respond.ErrNotFound
	}
	return num, nil
}

func (a *API) updateNumber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		// Raw, to tell null (back to the shared pool) from absent (unchanged).
		ClientID json.RawMessage `json:"client_id"`
		Provider *string         `json:"provider"`
	}
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
	num, err := a.numberParam(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	if in.Provider != nil {
		if *in.Provider, err = a.checkProvider(*in.Provider); err != nil {
			respond.Err(w, r, err)
			return
		}
	}
	var n model.Number
	err = a.Store.InTx(r.Context(), func(tx *store.Tx) (err error) {
		if n, err = tx.Number(r.Context(), num); err != nil {
			return err
		}
		if clientID != nil {
			if n.ClientID = *clientID; n.ClientID != "" {
				if err := a.checkClient(r, tx, "client_id", n.ClientID); err != nil {
					return err
				}
			}
		}
		if in.Provider != nil {
			n.Provider = *in.Provider
		}
		return tx.UpdateNumber(r.Context(), n)
	})
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, numberJSON(n))
}

func (a *API) deleteNumber(w http.ResponseWriter, r *http.Request) {
	num, err := a.numberParam(r)
	if err == nil {
		err = a.Store.InTx(r.Context(), func(tx *store.Tx) error { return tx.DeleteNumber(r.Context(), num) })
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// checkProvider validates a number's provider: a configured one, or "" for the default.
func (a *API) checkProvider(name string) (string, error) {
	if a.Providers == nil {
		return name, nil
	}
	if name == "" {
		return a.Providers.Default(), nil
	}
	if _, ok := a.Providers.Get(name); !ok {
		return "", respond.Invalid("provider", fmt.Sprintf("provider %q is not configured (configured: %s)",
			name, strings.Join(a.Providers.Names(), ", ")))
	}
	return name, nil
}
