package api

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
)

// providerOut describes a configured provider. Credentials never appear: they stay in the
// operator's providers file.
type providerOut struct {
	Name           string  `json:"name"`
	Type           string  `json:"type"`
	Default        bool    `json:"default"`
	Simulator      bool    `json:"simulator"`
	ChooseSender   bool    `json:"choose_sender"`
	Idempotent     bool    `json:"idempotent"`
	Reconciles     bool    `json:"reconciles"`
	MaxPerSecond   float64 `json:"max_per_second"`
	StatusCallback *string `json:"status_callback_path"`
}

// listProviders: GET /admin/v1/providers.
func (a *API) listProviders(w http.ResponseWriter, r *http.Request) {
	out := []providerOut{}
	for _, name := range a.Providers.Names() {
		s, _ := a.Providers.Get(name)
		caps := s.Capabilities()
		p := providerOut{Name: name, Type: a.Providers.Type(name), Default: name == a.Providers.Default(),
			ChooseSender: caps.ChooseSender, Idempotent: caps.Idempotent, MaxPerSecond: caps.MaxPerSecond}
		p.Simulator = p.Type == "simulator"
		_, p.Reconciles = s.(provider.Reconciler)
		if _, ok := s.(provider.StatusParser); ok {
			path := "/webhooks/" + name + "/status"
			p.StatusCallback = &path
		}
		out = append(out, p)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": out})
}
