package api

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

type ledgerOut struct {
	ID           string           `json:"id"`
	ClientID     string           `json:"client_id"`
	Kind         model.LedgerKind `json:"kind"`
	AmountCents  int64            `json:"amount_cents"`
	BalanceCents int64            `json:"balance_cents"`
	Reference    string           `json:"reference"`
	MessageID    *string          `json:"message_id"`
	CreatedAt    string           `json:"created_at"`
}

func ledgerJSON(e model.LedgerEntry) ledgerOut {
	out := ledgerOut{ID: e.ID, ClientID: e.ClientID, Kind: e.Kind, AmountCents: e.AmountCents, BalanceCents: e.BalanceCents,
		Reference: e.Reference, CreatedAt: formatTime(e.CreatedAt)}
	if e.MessageID != "" {
		out.MessageID = &e.MessageID
	}
	return out
}

type balanceOut struct {
	ClientID     string `json:"client_id"`
	BalanceCents int64  `json:"balance_cents"`
	RateCents    int64  `json:"rate_cents"`
}

// topUpIn is the body of POST /admin/v1/clients/{id}/credits.
type topUpIn struct {
	AmountCents *int64 `json:"amount_cents"`
	Reference   string `json:"reference"`
}

// topUp: POST /admin/v1/clients/{id}/credits {"amount_cents","reference"}: adds credits (a
// negative amount corrects a mistake, never below zero) and answers the new balance.
func (a *API) topUp(w http.ResponseWriter, r *http.Request) {
	c, err := a.Store.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	kept := answerWith(http.StatusOK, func(e model.LedgerEntry) any { return topUpOut(c, e) })
	a.idempotent(w, r, store.OperatorOwner, kept, func(r *http.Request, body []byte) (int, any, error) {
		var in topUpIn
		if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		if in.AmountCents == nil {
			return 0, nil, respond.Missing("amount_cents")
		}
		_, e, err := a.Tenants.TopUp(r.Context(), c.ID, *in.AmountCents, in.Reference)
		if err != nil {
			return 0, nil, tenantErr(err)
		}
		return http.StatusOK, topUpOut(c, e), nil
	})
}

func topUpOut(c model.Client, e model.LedgerEntry) any {
	return struct {
		balanceOut
		Entry ledgerOut `json:"entry"`
	}{balanceOut{ClientID: c.ID, BalanceCents: e.BalanceCents, RateCents: c.RateCents}, ledgerJSON(e)}
}

// getBalance: GET /api/v1/balance.
func (a *API) getBalance(w http.ResponseWriter, r *http.Request) {
	id := clientID(r.Context())
	c, err := a.Store.Client(r.Context(), id)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	b, err := a.Store.Balance(r.Context(), id)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, balanceOut{ClientID: id, BalanceCents: b, RateCents: c.RateCents})
}

// listLedger: GET /api/v1/ledger (newest first).
func (a *API) listLedger(w http.ResponseWriter, r *http.Request) {
	a.ledger(w, r, clientID(r.Context()))
}

// clientLedger: GET /admin/v1/clients/{id}/ledger.
func (a *API) clientLedger(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.Store.Client(r.Context(), id); err != nil {
		respond.Err(w, r, err)
		return
	}
	a.ledger(w, r, id)
}

func (a *API) ledger(w http.ResponseWriter, r *http.Request, id string) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	es, err := a.Store.Ledger(r.Context(), id, cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]ledgerOut, len(es))
	last := ""
	for i, e := range es {
		out[i], last = ledgerJSON(e), e.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(es), limit, last)})
}
