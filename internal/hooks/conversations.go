package hooks

import (
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

// conversationsOut answers a thread event: what Ibiki took from it.
type conversationsOut struct {
	Message  *acceptedOut `json:"message"`
	Statuses int          `json:"statuses"`
	Skipped  string       `json:"skipped,omitempty"`
}

// conversations serves POST /webhooks/{name}/conversations: the events of all the provider's
// threads on one URL. A contact's message to a number Ibiki manages is accepted like any
// inbound message (To routes it); one to a number Ibiki does not manage is answered 200 and
// skipped (counted as "unmanaged_number"); delivery reports go to the status sink.
func (h *Hooks) conversations(name string, p provider.ConversationEvents, v provider.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.read(w, r, name, v, false)
		if !ok {
			return
		}
		ev, err := p.ParseConversationEvent(r.Context(), req)
		if err != nil {
			h.parseFailed(w, r, req, name, err)
			return
		}
		out := conversationsOut{Skipped: ev.Skip}
		if m := ev.Message; m != nil {
			managed := true
			if m.To != "" {
				_, err := h.Inbound.Store.CachedNumber(r.Context(), m.To)
				switch {
				case errors.Is(err, store.ErrNotFound):
					managed = false
				case err != nil:
					h.reject(w, r, name, "store", err)
					return
				}
			}
			if managed {
				res, err := h.Inbound.Accept(r.Context(), *m)
				if err != nil {
					h.reject(w, r, name, "store", err)
					return
				}
				out.Message = &acceptedOut{ID: res.ID, Duplicate: res.Duplicate}
			} else {
				countRejected(name, "unmanaged_number")
				out.Skipped = "unmanaged_number"
			}
		}
		if len(ev.Statuses) > 0 && h.Status != nil {
			if err := h.Status.ApplyStatus(r.Context(), name, ev.Statuses); err != nil {
				h.reject(w, r, name, "store", err)
				return
			}
			out.Statuses = len(ev.Statuses)
		}
		respond.JSON(w, http.StatusOK, out)
	})
}
