// Package hooks serves the provider webhook endpoints: it checks each source's configured
// protection, parses the provider's payload with its adapter, hands the message to
// inbound.Accept (which commits it with its route job) and answers at once. Routing and
// forwarding happen later, in jobs, so a provider never waits for a client.
package hooks

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/extremesms"
	"github.com/ibiki/ibiki/internal/provider/generic"
	"github.com/ibiki/ibiki/internal/respond"
)

// Hooks serves POST /webhooks/{provider}.
type Hooks struct {
	Inbound *inbound.Service
	// Region reads phone numbers written without a country code.
	Region string
	// Guards holds the protection of each source by name ("extremesms", "generic").
	Guards map[string]Guard
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	Log            *slog.Logger
	// Providers and Status serve the outbound providers' status callbacks.
	Providers *provider.Registry
	Status    StatusApplier
}

// parser turns a provider's raw body into a message.
type parser func(body []byte, region string) (provider.Inbound, error)

// Register adds the webhook routes to mux. /webhook/incoming-sms is the URL of the seed
// conversation: operators who configured it in ExtremeSMS keep it working.
func (h *Hooks) Register(mux *http.ServeMux) {
	extreme := h.source(extremesms.Name, extremesms.Parse)
	mux.Handle("POST /webhooks/extremesms", extreme)
	mux.Handle("POST /webhook/incoming-sms", extreme)
	mux.Handle("POST /webhooks/generic", h.source(generic.Name, generic.Parse))
	mux.HandleFunc("POST /webhooks/{provider}/status", h.status)
}

type acceptedOut struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

func (h *Hooks) source(name string, parse parser) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			h.reject(w, r, name, "read", err)
			return
		}
		ip := ClientIP(r, h.TrustedProxies)
		if err := h.Guards[name].Check(r, ip, body); err != nil {
			h.refuse(w, r, name, ip.String(), err)
			return
		}
		in, err := parse(body, h.Region)
		if err != nil {
			h.reject(w, r, name, "invalid", err)
			return
		}
		res, err := h.Inbound.Accept(r.Context(), in)
		if err != nil {
			// Not stored: answer 5xx so that the provider retries.
			h.reject(w, r, name, "store", err)
			return
		}
		respond.JSON(w, http.StatusOK, acceptedOut{ID: res.ID, Duplicate: res.Duplicate})
	})
}

func (h *Hooks) reject(w http.ResponseWriter, r *http.Request, name, reason string, err error) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		reason = "too_large"
	}
	metrics.InboundRejected.WithLabelValues(name, reason).Inc()
	respond.Err(w, r, err)
}

// refuse answers a failed protection check without saying which secret was wrong.
func (h *Hooks) refuse(w http.ResponseWriter, r *http.Request, name, ip string, err error) {
	reason, e := "token", &respond.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "the webhook token or signature is missing or wrong"}
	if errors.Is(err, ErrForbiddenIP) {
		reason, e = "ip", &respond.Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "this address may not post to this webhook"}
	} else if errors.Is(err, ErrBadSignature) {
		reason = "signature"
	}
	h.Log.Warn("webhook refused", "source", name, "reason", reason, "client_ip", ip)
	metrics.InboundRejected.WithLabelValues(name, reason).Inc()
	respond.Err(w, r, e)
}
