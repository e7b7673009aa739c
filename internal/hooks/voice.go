package hooks

import (
	"context"
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

// registerVoice adds the voice routes of an adapter that takes calls: the incoming call, and
// its status and recording callbacks.
func (h *Hooks) registerVoice(mux Mux, name string, ch provider.CallHandler, v provider.Verifier) {
	mux.Handle("POST /webhooks/"+name+"/voice", h.call(name, ch, v))
	update := h.callUpdate(name, ch, v)
	mux.Handle("POST /webhooks/"+name+"/voice/status", update)
	mux.Handle("POST /webhooks/"+name+"/voice/recording", update)
}

// call serves POST /webhooks/{name}/voice: the call is logged (committed, then routed like a
// message), and answered at once with what its number, or its number's client, configured.
func (h *Hooks) call(name string, ch provider.CallHandler, v provider.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.read(w, r, name, v, false)
		if !ok {
			return
		}
		in, err := ch.ParseCall(req)
		if err != nil {
			h.parseFailed(w, r, req, name, err)
			return
		}
		if _, err := h.Inbound.Accept(r.Context(), in); err != nil {
			h.reject(w, r, name, "store", err) // 5xx: Twilio plays its error; nothing was logged
			return
		}
		writeAnswer(w, r, ch.AnswerCall(req, h.callAnswer(r.Context(), in.To), false))
	})
}

// callAnswer reads how calls to number are answered. A failed read must not fail the call: the
// caller hears the default answer, and the operator reads why in the log.
func (h *Hooks) callAnswer(ctx context.Context, number string) model.VoiceAnswer {
	if number == "" {
		return model.DefaultVoiceAnswer
	}
	st := h.Inbound.Store
	n, err := st.CachedNumber(ctx, number)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.Log.Warn("call answered by default: number unreadable", "number", number, "error", err)
		return model.DefaultVoiceAnswer
	}
	a, err := st.CallAnswer(ctx, number, n.ClientID)
	if err != nil {
		h.Log.Warn("call answered by default: voice answer unreadable", "number", number, "error", err)
		return model.DefaultVoiceAnswer
	}
	return a
}

// callUpdate serves a call's status and recording callbacks: the call's message gets the status,
// the duration and the voicemail. A report on a call Ibiki never logged is answered and
// dropped (counted as "unknown_call").
func (h *Hooks) callUpdate(name string, ch provider.CallHandler, v provider.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.read(w, r, name, v, false)
		if !ok {
			return
		}
		u, err := ch.ParseCallUpdate(req)
		if err != nil {
			h.parseFailed(w, r, req, name, err)
			return
		}
		err = h.Inbound.Store.InTx(r.Context(), func(tx *store.Tx) error {
			_, err := tx.UpdateCall(r.Context(), name, u)
			return err
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			countRejected(name, "unknown_call")
		case err != nil:
			h.reject(w, r, name, "store", err)
			return
		}
		writeAnswer(w, r, ch.AnswerCall(req, model.VoiceAnswer{}, true))
	})
}

// writeAnswer answers 200 with a provider's answer body.
func writeAnswer(w http.ResponseWriter, r *http.Request, a provider.Answer) {
	w.Header().Set("Content-Type", a.ContentType)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(a.Body); err != nil {
		respond.Log(r, "webhook answer not written", err)
	}
}
