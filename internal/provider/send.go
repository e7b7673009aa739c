package provider

import (
	"context"
	"fmt"
	"slices"
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
	// Channel is sms or whatsapp: an adapter is handed only the channels its Capabilities
	// name, and MediaURLs only when it carries media.
	Channel   model.Channel
	MediaURLs []string
	// DLTTemplateID and DLTEntityID are the DLT ids the message was sent under (India; ""
	// for none), for the providers that take them (the http adapter's {dlt_template_id} and
	// {dlt_entity_id}).
	DLTTemplateID string
	DLTEntityID   string
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

// Capabilities describe how a sending adapter sends; dispatch and the sender choice read them.
// (What an adapter can do at all is the set of interfaces it implements: see Features.)
type Capabilities struct {
	// ChooseSender: the provider sends from the number we name. Without it the sticky sender
	// cannot apply and the provider picks the number.
	ChooseSender bool
	// Idempotent: the provider de-duplicates sends by our message id, so a send interrupted by
	// a crash may be repeated safely.
	Idempotent bool
	// MaxPerSecond is the throttle the operator configured (0 = unlimited).
	MaxPerSecond float64
	// Channels are the channels the provider carries besides SMS (WhatsApp through Twilio).
	Channels []model.Channel
	// Media: the provider sends attachments given by URL (MMS, WhatsApp media).
	Media bool
}

// Carries reports whether the provider sends on channel ch: SMS always, others when named.
func (c Capabilities) Carries(ch model.Channel) bool {
	return ch == model.ChannelSMS || ch == "" || slices.Contains(c.Channels, ch)
}

// Sender is implemented by adapters that send messages: outbound dispatch hands them each
// message, and Registry.Get finds them by name.
type Sender interface {
	Send(ctx context.Context, m Outbound) (SendResult, error)
	Capabilities() Capabilities
}

// Reconciler is implemented by adapters that can look up a send by Ibiki's message id: after a
// crash between the provider call and its record, dispatch asks instead of resending.
type Reconciler interface {
	Lookup(ctx context.Context, messageID string) (res SendResult, found bool, err error)
}

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
