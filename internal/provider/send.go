package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// Outbound is one message to hand to a provider. MessageID is Ibiki's id: adapters pass it on
// where the provider takes a reference or an idempotency key, so a resend after a crash can be
// recognised.
type Outbound struct {
	MessageID string
	From      string // "" lets the provider choose
	To        string
	Body      string
	Segments  int
}

// SendResult is a provider's acceptance of a message.
type SendResult struct {
	ProviderMessageID string
	// Status is "sent" unless the provider already reports more (or "queued" on its side,
	// which Ibiki still records as sent: it left our hands).
	Status model.MessageStatus
	// From, when the provider says, is the number the message went out from (a modem pool
	// picks it).
	From string
}

// Capabilities describe what an adapter can do; dispatch and the sender choice read them.
type Capabilities struct {
	// ChooseSender: the provider sends from the number we name. Without it the sticky sender
	// cannot apply and the provider picks the number.
	ChooseSender bool
	// Idempotent: the provider de-duplicates sends by our message id, so a send interrupted by
	// a crash may be repeated safely.
	Idempotent bool
	// MaxPerSecond is the throttle the operator configured (0 = unlimited).
	MaxPerSecond float64
}

// Sender is an outbound provider adapter.
type Sender interface {
	Send(ctx context.Context, m Outbound) (SendResult, error)
	Capabilities() Capabilities
}

// Reconciler is implemented by adapters that can look up a send by Ibiki's message id: after a
// crash between the provider call and its record, dispatch asks instead of resending.
type Reconciler interface {
	Lookup(ctx context.Context, messageID string) (res SendResult, found bool, err error)
}

// StatusUpdate is a provider's report on a message it accepted.
type StatusUpdate struct {
	ProviderMessageID string
	Status            model.MessageStatus
	ErrorCode         string
	ErrorMessage      string
}

// StatusParser is implemented by adapters whose provider calls back with delivery reports. It
// verifies the request (signature, token) and parses it; an unverifiable request is
// ErrUnauthorized.
type StatusParser interface {
	ParseStatus(r *http.Request, body []byte) ([]StatusUpdate, error)
}

// ErrUnauthorized is returned by verifiers for requests that fail their check.
var ErrUnauthorized = errors.New("request failed verification")

// SendError is a provider's refusal. Permanent refusals fail the message (and refund it);
// the others are retried with back-off. Both mean the provider did not take the message.
// Any other error from Send (a timeout, a dropped connection) leaves it unknown whether the
// provider took it.
type SendError struct {
	Permanent  bool
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("provider refused (%s) %s: %s", kind, e.Code, e.Message)
}

// Registry holds the configured outbound adapters by name and the default one.
type Registry struct {
	senders map[string]Sender
	types   map[string]string
	order   []string
	def     string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{senders: map[string]Sender{}, types: map[string]string{}}
}

// Add registers an adapter under a name; the first added is the default until SetDefault.
func (r *Registry) Add(name, typ string, s Sender) {
	if _, ok := r.senders[name]; !ok {
		r.order = append(r.order, name)
	}
	r.senders[name], r.types[name] = s, typ
	if r.def == "" {
		r.def = name
	}
}

// SetDefault names the default provider; it must have been added.
func (r *Registry) SetDefault(name string) error {
	if _, ok := r.senders[name]; !ok {
		return fmt.Errorf("provider %q is not configured", name)
	}
	r.def = name
	return nil
}

// Default returns the default provider's name.
func (r *Registry) Default() string { return r.def }

// Get returns a provider by name ("" is the default).
func (r *Registry) Get(name string) (Sender, bool) {
	if name == "" {
		name = r.def
	}
	s, ok := r.senders[name]
	return s, ok
}

// Type returns the adapter type of a provider ("simulator", "twilio"...).
func (r *Registry) Type(name string) string { return r.types[name] }

// Names lists the providers in the order they were added.
func (r *Registry) Names() []string { return append([]string(nil), r.order...) }
