package api

import (
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

// maxTopUpCents bounds one ledger movement (one million dollars): a larger one is a typo.
const maxTopUpCents = 100_000_000

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

// topUp: POST /admin/v1/clients/{id}/credits {"amount_cents","reference"}: adds credits (a
// negative amount corrects a mistake, never below zero) and answers the new balance.
func (a *API) topUp(w http.ResponseWriter, r *http.Request) {
	c, err := a.Store.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	a.scopedIdempotent(w, r, c.ID, "admin:", func(body []byte, save saveFunc) (int, any, error) {
		var in struct {
			AmountCents *int64 `json:"amount_cents"`
			Reference   string `json:"reference"`
		}
		if err := decodeBytes(r, body, &in); err != nil {
			return 0, nil, err
		}
		switch {
		case in.AmountCents == nil:
			return 0, nil, respond.Missing("amount_cents")
		case *in.AmountCents == 0 || *in.AmountCents > maxTopUpCents || *in.AmountCents < -maxTopUpCents:
			return 0, nil, respond.Invalid("amount_cents", "amount_cents must be a non-zero whole number of cents, at most 100000000 either way")
		case len(in.Reference) > 200:
			return 0, nil, respond.Invalid("reference", "reference must be at most 200 characters")
		}
		kind := model.LedgerTopUp
		if *in.AmountCents < 0 {
			kind = model.LedgerAdjustment
		}
		now := a.now()
		var e model.LedgerEntry
		err := a.Store.InTx(r.Context(), func(tx *store.Tx) error {
			var err error
			e, err = tx.MoveCredits(r.Context(), model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: c.ID,
				Kind: kind, AmountCents: *in.AmountCents, Reference: strings.TrimSpace(in.Reference), CreatedAt: now})
			if err == nil && save != nil {
				err = save(tx, http.StatusOK, topUpOut(c, e))
			}
			return err
		})
		return http.StatusOK, topUpOut(c, e), err
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
