// Package hooks serves the provider webhook endpoints, the same way for every adapter of the
// provider registry: it reads the request once, has the adapter verify and parse it, hands the
// messages to inbound.Accept (which commits them) and the status reports to the status sink,
// and answers at once. Routing (in-process, after the commit) and forwarding (delivery jobs)
// happen later, so a provider never waits for a client.
package hooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
)

// Hooks serves POST /webhooks/{name} for every adapter that takes inbound messages
// (provider.InboundParser) and POST /webhooks/{name}/status for every adapter that takes
// delivery reports (provider.StatusParser); adapters that are a provider.Verifier check every
// request first.
type Hooks struct {
	Inbound   *inbound.Service
	Providers *provider.Registry
	// Status records the delivery reports (outbound.Service).
	Status provider.StatusSink
	// Replies gives auto-replies in the answer to a provider's webhook when its adapter can
	// (provider.InstantReplier); nil gives none there (routing still queues them).
	Replies AutoAnswerer
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// PublicURL is IBIKI_PUBLIC_URL: the URL a provider called, which signatures cover, is
	// rebuilt from it (provider.Request.URL).
	PublicURL string
	Log       *slog.Logger

	statuses map[string]statusRoute // by provider name, built by Register
}

// seedURL is the webhook URL of the seed conversation: operators who configured it in
// ExtremeSMS keep it working, as an alias of the extremesms entry's webhook.
const seedURL = "/webhook/incoming-sms"

// seedSource names the entry whose webhook seedURL is (an extremesms entry: the providers file
// may not give this name another type).
const seedSource = "extremesms"

// Mux is what Register adds routes to: http.ServeMux's registration methods (server.Mux, the
// same interface literal, which the server records).
type Mux = interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the webhook routes of every configured adapter to mux, according to the
// interfaces it implements. A name whose adapter takes no inbound messages has no route, so it
// answers 404 like any unknown path.
func (h *Hooks) Register(mux Mux) {
	h.statuses = map[string]statusRoute{}
	for name, a := range h.Providers.All() {
		v, _ := a.(provider.Verifier)
		if p, ok := a.(provider.InboundParser); ok {
			src := h.source(name, p, v)
			mux.Handle("POST /webhooks/"+name, src)
			if g, ok := a.(provider.GETInbound); ok && g.InboundByGET() {
				mux.Handle("GET /webhooks/"+name, getOnly(src))
			}
			if name == seedSource {
				mux.Handle("POST "+seedURL, src)
			}
		}
		if p, ok := a.(provider.StatusParser); ok {
			h.statuses[name] = statusRoute{parser: p, verifier: v}
		}
		if ch, ok := a.(provider.CallHandler); ok {
			h.registerVoice(mux, name, ch, v)
		}
		if ce, ok := a.(provider.ConversationEvents); ok {
			mux.Handle("POST /webhooks/"+name+"/conversations", h.conversations(name, ce, v))
		}
	}
	mux.HandleFunc("POST /webhooks/{provider}/status", h.status)
}

// getOnly serves a GET webhook, refusing the HEAD that a GET pattern also matches: a link
// checker's HEAD must not store a message.
func getOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET, POST")
			respond.Err(w, r, &respond.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
				Message: "this webhook takes GET and POST"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// read reads a provider's request once and has the adapter verify it. It returns false when
// the request has been answered (refused).
func (h *Hooks) read(w http.ResponseWriter, r *http.Request, name string, v provider.Verifier, status bool) (provider.Request, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		h.reject(w, r, name, "read", err)
		return provider.Request{}, false
	}
	req := provider.Request{HTTP: r, Body: body, ClientIP: auth.ClientIP(r, h.TrustedProxies), PublicURL: h.PublicURL, Status: status}
	if v == nil {
		return req, true
	}
	switch err := v.Verify(req); {
	case err == nil:
		return req, true
	case errors.Is(err, provider.ErrMalformed):
		h.reject(w, r, name, "invalid", err)
	default:
		// Whatever else stops a verification refuses the request: never let it through.
		h.refuse(w, r, name, req.ClientIP, err)
	}
	return req, false
}

// parseFailed answers an adapter's parse error: a refusal if the adapter verifies while it
// parses, otherwise a request it could not read (400, nothing stored).
func (h *Hooks) parseFailed(w http.ResponseWriter, r *http.Request, req provider.Request, name string, err error) {
	if errors.Is(err, provider.ErrUnauthorized) {
		h.refuse(w, r, name, req.ClientIP, err)
		return
	}
	h.reject(w, r, name, "invalid", err)
}

func (h *Hooks) reject(w http.ResponseWriter, r *http.Request, name, reason string, err error) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		reason = "too_large"
	}
	metrics.InboundRejected.WithLabelValues(name, reason).Inc()
	respond.Err(w, r, err)
}

// refuse answers a failed verification without saying which secret was wrong.
func (h *Hooks) refuse(w http.ResponseWriter, r *http.Request, name string, ip netip.Addr, err error) {
	reason, e := "token", &respond.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "the webhook token or signature is missing or wrong"}
	if errors.Is(err, provider.ErrForbiddenIP) {
		reason, e = "ip", &respond.Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "this address may not post to this webhook"}
	} else if errors.Is(err, provider.ErrForbiddenSignature) {
		reason, e = "signature", &respond.Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "the request signature is missing or wrong"}
	} else if errors.Is(err, provider.ErrBadSignature) {
		reason = "signature"
	}
	h.Log.Warn("webhook refused", "source", name, "reason", reason, "client_ip", ip.String())
	metrics.InboundRejected.WithLabelValues(name, reason).Inc()
	respond.Err(w, r, e)
}

// countRejected counts a webhook Ibiki answered without taking anything from it.
func countRejected(name, reason string) { metrics.InboundRejected.WithLabelValues(name, reason).Inc() }

// AutoAnswerer gives a contact's auto-reply at once (outbound.Service).
type AutoAnswerer interface {
	AnswerAutoReply(ctx context.Context, in model.Message) (model.Message, bool, error)
}
