package provider

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/ibiki/ibiki/internal/model"
)

// Request is one call of a provider to Ibiki's webhooks, read once by hooks and handed by
// value to the adapter's Verify and Parse methods, so that no adapter reads the body again or
// resolves the caller on its own.
type Request struct {
	// HTTP is the request as received; its body has already been read into Body.
	HTTP *http.Request
	// Body is the raw body: a signature covers exactly these bytes.
	Body []byte
	// ClientIP is the caller, resolved through IBIKI_TRUSTED_PROXIES; the zero Addr when the
	// peer address could not be read.
	ClientIP netip.Addr
	// PublicURL is IBIKI_PUBLIC_URL without a trailing slash ("" when unset).
	PublicURL string
	// Status is true on POST /webhooks/{name}/status (a delivery report) and false on
	// POST /webhooks/{name} (messages).
	Status bool
}

// URL is the URL the provider called, as the provider wrote it, which is what signatures such
// as Twilio's cover: IBIKI_PUBLIC_URL followed by the path and query when it is set (behind a
// proxy the request reaches Ibiki on another host), else the URL as this server received it.
// It is built on demand: only adapters that sign URLs pay for it.
func (r Request) URL() string {
	uri := r.HTTP.URL.RequestURI()
	if r.PublicURL != "" {
		return r.PublicURL + uri
	}
	scheme := "https"
	if r.HTTP.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.HTTP.Host + uri
}

// Verifier is implemented by adapters whose webhooks check who calls: a signature, a token, an
// IP allow list (Guard). hooks calls Verify on every request to the adapter's webhooks before
// anything is parsed. A refusal wraps ErrUnauthorized (answered 401; ErrForbiddenIP and
// ErrForbiddenSignature are 403); a request that cannot even be checked (a signed form that is
// not a form) is ErrMalformed (400).
type Verifier interface {
	Verify(r Request) error
}

// InboundParser is implemented by adapters whose provider posts messages to Ibiki
// (POST /webhooks/{name}). ParseInbound reads one verified request into the messages it
// carries (most providers post one; some batch several) with Provider set to the adapter's
// name, and, when the provider expects one, the body to answer it with. Errors are ErrMalformed
// or a *FieldError naming the provider's field: both are answered 400 and nothing is stored.
type InboundParser interface {
	ParseInbound(r Request) ([]Inbound, Answer, error)
}

// GETInbound is implemented by InboundParsers whose provider may deliver a message as the query
// string of a GET instead of a POST (a "callback URL" several aggregators call): when
// InboundByGET is true, hooks also serves GET /webhooks/{name}, and ParseInbound reads
// r.HTTP.URL's query for such a request (its Body is empty). It is a choice of the entry, not
// of the type: a GET is logged and cached by proxies on the way, and has no body to sign.
type GETInbound interface {
	InboundByGET() bool
}

// CallHandler is implemented by adapters whose provider posts the phone calls made to its
// numbers (Twilio Voice): POST /webhooks/{name}/voice when a call comes in, and the call's
// later reports on the paths below it (/voice/status, /voice/recording).
type CallHandler interface {
	// ParseCall reads a verified incoming call into the inbound message that logs it: channel
	// voice, the call's id as its provider message id (a retried request is the same call).
	ParseCall(r Request) (Inbound, error)
	// ParseCallUpdate reads a verified status or recording callback.
	ParseCallUpdate(r Request) (model.CallUpdate, error)
	// AnswerCall renders what the provider is to do with the call (r is its request), and, for
	// a callback (update true), the answer that ends it.
	AnswerCall(r Request, a model.VoiceAnswer, update bool) Answer
}

// ConversationEvents is implemented by adapters whose provider posts the events of all its
// message threads on one URL (Twilio's Conversations API): POST /webhooks/{name}/conversations.
type ConversationEvents interface {
	// ParseConversationEvent reads one verified event. It may call the provider's API (to learn
	// which of its numbers a thread runs on), within ctx.
	ParseConversationEvent(ctx context.Context, r Request) (ConversationEvent, error)
}

// ConversationEvent is what one event means to Ibiki: a contact's message (To is the provider's
// number the thread runs on), delivery reports of messages Ibiki sent, or nothing (Skip says
// why: Ibiki's own message, an event it does not take).
type ConversationEvent struct {
	Message  *Inbound
	Statuses []StatusUpdate
	Skip     string
}

// Answer is a body a provider expects in the 200 that acknowledges its request, such as the
// TwiML in which Twilio reads what to reply. An Answer without ContentType is none: hooks then
// answers with Ibiki's own JSON ({"id","duplicate"} for one message, {"data":[…]} for several).
type Answer struct {
	ContentType string
	Body        []byte
}

// StatusUpdate is a provider's report on a message it accepted.
type StatusUpdate struct {
	ProviderMessageID string
	Status            model.MessageStatus
	ErrorCode         string
	ErrorMessage      string
	// MessageID is Ibiki's id of the message, when the report names it (a reply Ibiki gave in
	// its answer to the provider's webhook, whose provider id it learns from this report).
	MessageID string
}

// InstantReplier is implemented by adapters whose provider takes a reply in the answer to its
// message webhook (Twilio's TwiML <Message>): InstantReply renders the answer to r that sends
// body back to the sender, its status reported with Ibiki's messageID (StatusUpdate.MessageID).
type InstantReplier interface {
	InstantReply(r Request, body, messageID string) Answer
}

// StatusParser is implemented by adapters whose provider calls back with delivery reports
// (POST /webhooks/{name}/status). ParseStatus reads one verified request; reports that say
// nothing Ibiki records (a step before "sent") are left out, so the list may be empty.
type StatusParser interface {
	ParseStatus(r Request) ([]StatusUpdate, error)
}

// StatusSink records status reports (outbound.Service). Every provider's reports end there:
// the ones that arrive by webhook through hooks, and the ones an adapter produces inside the
// process (the simulator's), which it is given at construction (Env.Status).
type StatusSink interface {
	ApplyStatus(ctx context.Context, providerName string, updates []StatusUpdate) error
}

// InboundSink stores the messages an adapter receives on connections of its own (SMPP's
// deliver_sm) rather than through hooks: each call returns once what it was given is committed
// (a *FieldError: refused for good).
type InboundSink interface {
	// AcceptInbound stores a whole message.
	AcceptInbound(ctx context.Context, in Inbound) error
	// AcceptInboundPart holds part seq of total of a concatenated message (the sender's
	// reference ref, in.Body the part's text); the last part stores the whole message.
	AcceptInboundPart(ctx context.Context, in Inbound, ref, total, seq int) error
}

// Injector is implemented by adapters that can make a contact's message arrive on the
// operator's demand (the simulator). Inject checks the message and returns it as if the
// provider had delivered it (a *FieldError names a wrong field); storing it is inbound's, as
// for every provider's message.
type Injector interface {
	Inject(m Injection) (Inbound, error)
}

// Injection is a contact's message the operator makes up: From is required, To is optional
// (the number the contact wrote to), Body must not be empty.
type Injection struct {
	From, To, Body string
}

// ErrUnauthorized is wrapped by every refusal of a Verifier.
var ErrUnauthorized = errors.New("request failed verification")
