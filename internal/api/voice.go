package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

// voiceOut is a voice answer as the API shows it: the answer in effect, and whether it was set
// for this owner (false: the default, or the client's for a number).
type voiceOut struct {
	model.VoiceAnswer
	Configured bool `json:"configured"`
	// Number, or ClientID for a client's answer: whose answer it is.
	Number   string `json:"number,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// voiceOwner resolves whose voice answer a request names, checking that it exists (and, for a
// client, that the number is its own): "number:…" or "client:…", and the number's client.
type voiceOwner func(r *http.Request) (owner, number, clientID string, err error)

func (a *API) adminNumberOwner(r *http.Request) (string, string, string, error) {
	n, err := a.voiceNumber(r.Context(), r.PathValue("number"))
	return store.NumberVoiceOwner(n.Number), n.Number, n.ClientID, err
}

func (a *API) adminClientOwner(r *http.Request) (string, string, string, error) {
	id := r.PathValue("id")
	if _, err := a.Store.Client(r.Context(), id); err != nil {
		return "", "", "", err
	}
	return store.ClientVoiceOwner(id), "", id, nil
}

func (a *API) ownClientOwner(r *http.Request) (string, string, string, error) {
	id := clientID(r.Context())
	return store.ClientVoiceOwner(id), "", id, nil
}

// ownNumberOwner: a client configures only the numbers dedicated to it; another number is not
// found, as another client's anything.
func (a *API) ownNumberOwner(r *http.Request) (string, string, string, error) {
	n, err := a.voiceNumber(r.Context(), r.PathValue("number"))
	if err == nil && n.ClientID != clientID(r.Context()) {
		err = respond.ErrNotFound
	}
	return store.NumberVoiceOwner(n.Number), n.Number, n.ClientID, err
}

func (a *API) voiceNumber(ctx context.Context, raw string) (model.Number, error) {
	num, err := sms.NormalizeAddress(raw, a.Region)
	if err != nil {
		return model.Number{}, respond.ErrNotFound
	}
	return a.Store.Number(ctx, num)
}

// getVoice: GET …/voice → the answer in effect for the owner.
func (a *API) getVoice(owner voiceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, number, client, err := owner(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		v, err := a.Store.VoiceAnswer(r.Context(), o)
		who := whose(number, client)
		switch {
		case err == nil:
			who.VoiceAnswer, who.Configured = v, true
			respond.JSON(w, http.StatusOK, who)
		case errors.Is(err, store.ErrNotFound):
			eff := model.DefaultVoiceAnswer
			if number != "" {
				if eff, err = a.Store.CallAnswer(r.Context(), number, client); err != nil {
					respond.Err(w, r, err)
					return
				}
			}
			who.VoiceAnswer = eff
			respond.JSON(w, http.StatusOK, who)
		default:
			respond.Err(w, r, err)
		}
	}
}

// putVoice: PUT …/voice {"action","text"?,"forward_to"?,"max_seconds"?,"language"?} → 200.
func (a *API) putVoice(owner voiceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, number, client, err := owner(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		var in model.VoiceAnswer
		if err := respond.Decode(r, &in); err != nil {
			respond.Err(w, r, err)
			return
		}
		v, err := a.answers().SaveVoiceAnswer(r.Context(), o, in)
		if err != nil {
			respond.Err(w, r, tenantErr(err))
			return
		}
		who := whose(number, client)
		who.VoiceAnswer, who.Configured = v, true
		respond.JSON(w, http.StatusOK, who)
	}
}

// whose names the owner of an answer: a number (whatever its client), else a client.
func whose(number, clientID string) voiceOut {
	if number != "" {
		return voiceOut{Number: number}
	}
	return voiceOut{ClientID: clientID}
}

// deleteVoice: DELETE …/voice → 204; calls fall back (number → client → default).
func (a *API) deleteVoice(owner voiceOwner) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, _, _, err := owner(r)
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		err = a.Store.InTx(r.Context(), func(tx *store.Tx) error { return tx.DeleteVoiceAnswer(r.Context(), o) })
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
