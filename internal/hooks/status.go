package hooks

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
)

// StatusApplier records providers' status reports (outbound.Service).
type StatusApplier interface {
	ApplyStatus(ctx context.Context, providerName string, updates []provider.StatusUpdate) error
}

var errNoStatus = &respond.Error{Status: http.StatusNotFound, Code: "not_found",
	Message: "no configured provider of that name takes status callbacks"}

// status serves POST /webhooks/{provider}/status: a provider's delivery report, verified and
// parsed by its adapter, then applied (a report never moves a message backwards).
func (h *Hooks) status(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	var parser provider.StatusParser
	if h.Providers != nil {
		if s, ok := h.Providers.Get(name); ok && name != "" {
			parser, _ = s.(provider.StatusParser)
		}
	}
	if parser == nil || h.Status == nil {
		respond.Err(w, r, errNoStatus)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		h.reject(w, r, name, "read", err)
		return
	}
	ups, err := parser.ParseStatus(r, body)
	if errors.Is(err, provider.ErrUnauthorized) {
		h.refuse(w, r, name, ClientIP(r, h.TrustedProxies).String(), err)
		return
	}
	if err != nil {
		h.reject(w, r, name, "invalid", err)
		return
	}
	if err := h.Status.ApplyStatus(r.Context(), name, ups); err != nil {
		h.reject(w, r, name, "store", err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]int{"received": len(ups)})
}
