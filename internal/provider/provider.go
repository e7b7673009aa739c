// Package provider declares what Ibiki needs from an upstream SMS provider adapter, and the
// shared types adapters produce. Each adapter lives in its own sub-package.
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
}

// FieldError reports which input field is wrong and why. Webhook endpoints turn it into a 400
// whose "param" names the field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// ErrMalformed wraps bodies that are not the JSON (or form) the adapter expects at all.
var ErrMalformed = errors.New("malformed payload")
