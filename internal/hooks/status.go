package hooks

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
)

// statusRoute is what the status endpoint needs of one adapter.
type statusRoute struct {
	parser   provider.StatusParser
	verifier provider.Verifier // nil when the adapter checks nothing
}

var errNoStatus = &respond.Error{Status: http.StatusNotFound, Code: "not_found",
	Message: "no configured provider of that name takes status callbacks"}

// status serves POST /webhooks/{provider}/status: a provider's delivery report, verified and
// parsed by its adapter, then applied (a report never moves a message backwards).
func (h *Hooks) status(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	route, ok := h.statuses[name]
	if !ok || h.Status == nil {
		respond.Err(w, r, errNoStatus)
		return
	}
	req, ok := h.read(w, r, name, route.verifier, true)
	if !ok {
		return
	}
	ups, err := route.parser.ParseStatus(req)
	if err != nil {
		h.parseFailed(w, r, req, name, err)
		return
	}
	if err := h.Status.ApplyStatus(r.Context(), name, ups); err != nil {
		h.reject(w, r, name, "store", err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]int{"received": len(ups)})
}
