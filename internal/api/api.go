// Package api is the REST interface: /api/v1 for client developers (API key) and /admin/v1 for
// the operator (admin token). One file per resource. Handlers decode, call one domain operation
// and answer (they never open a transaction); errors are answered through respond, whose Map
// turns domain errors into catalogue entries, while codes particular to one endpoint
// (client_exists, no_valid_recipients…) are built beside it. A creating call's Idempotency-Key
// travels to the domain operation in the request context (idempotency.go, store.Tx.Done).
package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
	"github.com/ibiki/ibiki/internal/text"
	"github.com/ibiki/ibiki/internal/webhook"
)

// API serves the client and admin REST endpoints.
type API struct {
	Store   *store.Store
	Inbound *inbound.Service
	// Outbound sends clients' messages.
	Outbound *outbound.Service
	// Tenants creates and changes clients (settings, keys, secrets, credits).
	Tenants *tenant.Service
	// Providers are the configured providers (those that send are listed for the operator,
	// never their secrets; the simulator takes injected replies).
	Providers *provider.Registry
	// Campaigns creates and runs campaigns; a reply within CampaignReplyWindow of a campaign
	// message counts as "replied".
	Campaigns           *campaign.Service
	CampaignReplyWindow time.Duration
	// Contacts writes clients' contacts and suppression lists.
	Contacts *contact.Service
	// Importer imports contact lists.
	Importer *importer.Service
	Admin    *auth.Admin
	Clock    func() time.Time
	// BulkMaxItems caps the items of one bulk send.
	BulkMaxItems int
	// Region reads phone numbers written without a country code.
	Region string
	// PriceUnit names the currency of credits in the Twilio-shaped API (price_unit).
	PriceUnit string
}

// Mux is what Register adds routes to: http.ServeMux's registration methods (server.Mux, the
// same interface literal, which the server records).
type Mux = interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Mux) {
	admin := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, a.requireAdmin(plainURL(a.audited(pattern, h))))
	}
	admin("POST /admin/v1/clients", a.createClient)
	admin("GET /admin/v1/clients", a.listClients)
	admin("GET /admin/v1/clients/{id}", a.getClient)
	admin("PATCH /admin/v1/clients/{id}", a.updateClient)
	admin("POST /admin/v1/clients/{id}/rotate-key", a.rotateKey)
	admin("POST /admin/v1/clients/{id}/rotate-webhook-secret", a.rotateWebhookSecret)
	admin("POST /admin/v1/clients/{id}/twilio-credentials", a.twilioCredentials)
	admin("POST /admin/v1/clients/{id}/smpp-password", a.smppPassword)
	admin("POST /admin/v1/numbers", a.createNumber)
	admin("GET /admin/v1/numbers", a.listNumbers)
	admin("PATCH /admin/v1/numbers/{number}", a.updateNumber)
	admin("DELETE /admin/v1/numbers/{number}", a.deleteNumber)
	admin("GET /admin/v1/numbers/{number}/voice", a.getVoice(a.adminNumberOwner))
	admin("PUT /admin/v1/numbers/{number}/voice", a.putVoice(a.adminNumberOwner))
	admin("DELETE /admin/v1/numbers/{number}/voice", a.deleteVoice(a.adminNumberOwner))
	admin("GET /admin/v1/clients/{id}/auto-replies", a.listAutoReplies(a.adminAutoReplies))
	admin("PUT /admin/v1/clients/{id}/auto-replies", a.putAutoReply(a.adminAutoReplies))
	admin("DELETE /admin/v1/clients/{id}/auto-replies/{rule}", a.deleteAutoReply(a.adminAutoReplies))
	admin("GET /admin/v1/clients/{id}/dlt-templates", a.listDLTTemplates(a.adminDLTTemplates))
	admin("POST /admin/v1/clients/{id}/dlt-templates", a.createDLTTemplate(a.adminDLTTemplates, func(*http.Request) string { return store.OperatorOwner }))
	admin("DELETE /admin/v1/clients/{id}/dlt-templates/{template}", a.deleteDLTTemplate(a.adminDLTTemplates, "template"))
	admin("GET /admin/v1/clients/{id}/voice", a.getVoice(a.adminClientOwner))
	admin("PUT /admin/v1/clients/{id}/voice", a.putVoice(a.adminClientOwner))
	admin("DELETE /admin/v1/clients/{id}/voice", a.deleteVoice(a.adminClientOwner))
	admin("POST /admin/v1/services", a.createService(anyServices))
	admin("GET /admin/v1/services", a.listServices(anyServices))
	admin("GET /admin/v1/services/{id}", a.getService(anyServices))
	admin("PUT /admin/v1/services/{id}", a.putService(anyServices))
	admin("DELETE /admin/v1/services/{id}", a.deleteService(anyServices))
	admin("GET /admin/v1/services/{id}/log", a.serviceLog(anyServices))
	admin("GET /admin/v1/unrouted", a.listUnrouted)
	admin("POST /admin/v1/unrouted/{id}/assign", a.assignUnrouted)
	admin("GET /admin/v1/deliveries", a.listAllDeliveries)
	admin("GET /admin/v1/deliveries/{id}", a.getAnyDelivery)
	admin("POST /admin/v1/deliveries/{id}/replay", a.replayDelivery)
	admin("POST /admin/v1/clients/{id}/credits", a.topUp)
	admin("GET /admin/v1/clients/{id}/ledger", a.clientLedger)
	admin("POST /admin/v1/simulator/inbound", a.simulateInbound)
	admin("GET /admin/v1/providers", a.listProviders)
	admin("GET /admin/v1/contacts/export", a.adminExportContacts)
	admin("GET /admin/v1/audit", a.listAudit)
	admin("GET /admin/v1/clients/{id}/suppressions", a.adminListSuppressions)
	admin("POST /admin/v1/clients/{id}/suppressions", a.adminAddSuppression)
	admin("DELETE /admin/v1/clients/{id}/suppressions/{phone}", a.adminRemoveSuppression)

	client := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, a.requireClient(plainURL(h))) }
	client("POST /api/v1/contacts", a.createContact)
	client("GET /api/v1/contacts", a.listContacts)
	client("POST /api/v1/contacts/import", a.importContacts)
	client("GET /api/v1/contacts/export", a.exportContacts)
	client("GET /api/v1/contacts/imports/{id}", a.getImport)
	client("GET /api/v1/contacts/{id}", a.getContact)
	client("PATCH /api/v1/contacts/{id}", a.updateContact)
	client("DELETE /api/v1/contacts/{id}", a.deleteContact)
	client("GET /api/v1/conversations", a.listConversations)
	client("GET /api/v1/conversations/{phone}/messages", a.listConversationMessages)
	client("GET /api/v1/messages/{id}", a.getMessage)
	client("POST /api/v1/messages/{id}/cancel", a.cancelMessage)
	client("POST /api/v1/messages", a.createMessage)
	client("POST /api/v1/messages/bulk", a.createBulk)
	client("GET /api/v1/messages", a.listMessages)
	client("POST /api/v1/conversations/{phone}/messages", a.replyInConversation)
	client("GET /api/v1/auto-replies", a.listAutoReplies(a.ownAutoReplies))
	client("PUT /api/v1/auto-replies", a.putAutoReply(a.ownAutoReplies))
	client("DELETE /api/v1/auto-replies/{rule}", a.deleteAutoReply(a.ownAutoReplies))
	client("POST /api/v1/services", a.createService(ownServices))
	client("GET /api/v1/services", a.listServices(ownServices))
	client("GET /api/v1/services/{id}", a.getService(ownServices))
	client("PUT /api/v1/services/{id}", a.putService(ownServices))
	client("DELETE /api/v1/services/{id}", a.deleteService(ownServices))
	client("GET /api/v1/services/{id}/log", a.serviceLog(ownServices))
	client("POST /api/v1/dlt-templates", a.createDLTTemplate(a.ownDLTTemplates, func(r *http.Request) string { return clientID(r.Context()) }))
	client("GET /api/v1/dlt-templates", a.listDLTTemplates(a.ownDLTTemplates))
	client("GET /api/v1/dlt-templates/{id}", a.getDLTTemplate)
	client("DELETE /api/v1/dlt-templates/{id}", a.deleteDLTTemplate(a.ownDLTTemplates, "id"))
	client("GET /api/v1/voice", a.getVoice(a.ownClientOwner))
	client("PUT /api/v1/voice", a.putVoice(a.ownClientOwner))
	client("DELETE /api/v1/voice", a.deleteVoice(a.ownClientOwner))
	client("GET /api/v1/numbers/{number}/voice", a.getVoice(a.ownNumberOwner))
	client("PUT /api/v1/numbers/{number}/voice", a.putVoice(a.ownNumberOwner))
	client("DELETE /api/v1/numbers/{number}/voice", a.deleteVoice(a.ownNumberOwner))
	client("GET /api/v1/balance", a.getBalance)
	client("GET /api/v1/ledger", a.listLedger)
	client("POST /api/v1/campaigns", a.createCampaign)
	client("GET /api/v1/campaigns", a.listCampaigns)
	client("GET /api/v1/campaigns/{id}", a.getCampaign)
	client("GET /api/v1/campaigns/{id}/recipients", a.listRecipients)
	client("GET /api/v1/campaigns/{id}/results", a.campaignResults)
	client("POST /api/v1/campaigns/{id}/start", a.campaignAction(func(s *campaign.Service) campaignActionFunc { return s.Start }))
	client("POST /api/v1/campaigns/{id}/pause", a.campaignAction(func(s *campaign.Service) campaignActionFunc { return s.Pause }))
	client("POST /api/v1/campaigns/{id}/resume", a.campaignAction(func(s *campaign.Service) campaignActionFunc { return s.Resume }))
	client("POST /api/v1/campaigns/{id}/cancel", a.campaignAction(func(s *campaign.Service) campaignActionFunc { return s.Cancel }))
	client("GET /api/v1/suppressions", a.listSuppressions)
	client("POST /api/v1/suppressions", a.addSuppression)
	client("GET /api/v1/suppressions/{phone}", a.getSuppression)
	client("DELETE /api/v1/suppressions/{phone}", a.removeSuppression)
	client("GET /api/v1/webhook/deliveries", a.listDeliveries)
	client("GET /api/v1/webhook/deliveries/{id}", a.getDelivery)

	a.registerTwilio(mux)
	registerReference(mux)
}

func (a *API) requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Admin.Allowed(r) {
			respond.Err(w, r, respond.ErrAdminUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (a *API) requireClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := auth.ClientFromRequest(r.Context(), a.Store, r)
		if err == auth.ErrNoCredentials {
			err = respond.ErrUnauthorized
		}
		if err != nil {
			respond.Err(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(auth.WithClient(r.Context(), c)))
	})
}

// clientID is the authenticated client of a /api/v1 request.
func clientID(ctx context.Context) string {
	c, _ := auth.Client(ctx)
	return c.ID
}

func (a *API) now() time.Time { return a.Clock().UTC() }

// page is a list answer: data and the cursor of the next page (null at the end).
type page struct {
	Data       any     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// pageParams reads ?limit= (1–100, default 50) and ?cursor= (opaque).
func pageParams(r *http.Request) (limit int, cursor string, err error) {
	limit = 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, "", respond.Invalid("limit", "limit must be a whole number from 1 to 100")
		}
		limit = n
	}
	if v := r.URL.Query().Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || !text.Valid(string(b)) {
			return 0, "", respond.Invalid("cursor", "cursor is not one this API gave out")
		}
		cursor = string(b)
	}
	return limit, cursor, nil
}

// nextCursor returns the cursor after the last item when the page is full.
func nextCursor(n, limit int, last string) *string {
	if n < limit {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(last))
	return &c
}

// timeOrNil formats a time, or null for the zero time.
func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(webhook.TimeFormat)
	return &s
}

func formatTime(t time.Time) string { return t.UTC().Format(webhook.TimeFormat) }

// messageJSON is a message as the API shows it: the same shape as in webhook events.
func messageJSON(m model.Message) webhook.MessageData {
	return webhook.NewMessageData(m, m.Contact)
}
