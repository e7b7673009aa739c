// Package provider declares what Ibiki needs from an upstream SMS provider adapter, the shared
// types adapters produce, and the Registry that holds the configured adapters by name. Each
// adapter lives in its own sub-package and implements the subset it supports of a few small
// interfaces — Sender, InboundParser, StatusParser, Verifier (and the optional Reconciler,
// Injector, io.Closer) — so every part of Ibiki finds what an adapter can do by interface,
// never by its concrete type. docs/providers.md, "Writing an adapter", walks through one.
package provider

import (
	"errors"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// Inbound is one message a provider delivered to Ibiki, parsed and validated, with phone
// numbers already in E.164 (or a short code for To).
type Inbound struct {
	Provider          string // adapter name, e.g. "extremesms"
	ProviderMessageID string // "" when the provider gave none and none could be derived
	From              string
	To                string // "" when the provider did not say
	Body              string
	Channel           model.Channel
	Status            model.MessageStatus // received or blocked
	MatchedBlockWord  string
	Business          string
	Contact           model.ContactInfo
	ProviderTime      time.Time // the provider's own timestamp, zero when absent
	Meta              map[string]string
	// Media are the message's attachments (MMS, WhatsApp), http(s) URLs with their type.
	Media []model.Attachment
	// RepeatWindow is set by a provider that gives a message no id (SMPP) and may deliver it
	// again (its acknowledgement lost): ProviderMessageID is then a key of what the message says,
	// and a message with the same key within RepeatWindow of the one stored is that one again
	// (stored once; a part of a concatenated message likewise). 0: ProviderMessageID is an id.
	RepeatWindow time.Duration
}

// FieldError reports which input field is wrong and why. Webhook endpoints turn it into a 400
// whose "param" names the field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// reasonRequired is the Reason of a field that was not given at all.
const reasonRequired = "is required"

// Required reports a field that must be given and was not.
func Required(field string) *FieldError { return &FieldError{Field: field, Reason: reasonRequired} }

// Missing tells a field that was not given from one that was given wrong: some callers (the
// admin API) answer the two differently.
func (e *FieldError) Missing() bool { return e.Reason == reasonRequired }

// ErrMalformed wraps bodies that are not the JSON (or form) the adapter expects at all.
var ErrMalformed = errors.New("malformed payload")
