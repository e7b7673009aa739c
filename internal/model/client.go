package model

import (
	"errors"
	"time"
)

// Client is a tenant: a business that receives its contacts' replies and sends through Ibiki.
type Client struct {
	ID         string
	Name       string
	WebhookURL string
	Active     bool
	// WebhookSecret signs deliveries (Standard Webhooks "whsec_..."). PreviousSecret, while
	// PreviousSecretUntil is in the future, signs too, so a rotation does not break receivers
	// that have not yet switched.
	WebhookSecret       string
	PreviousSecret      string
	PreviousSecretUntil time.Time
	// WebhookDisabledAt is set when the endpoint answered 410 Gone; saving a URL clears it.
	WebhookDisabledAt time.Time
	// RateCents is what one outbound segment costs the client.
	RateCents int64
	// QuietHours is the client's daily quiet window ("21:00-08:00", "" for none), applied to
	// the campaigns that ask for it in each recipient's time zone.
	QuietHours string
	// WebhookFormat is the shape of its webhook deliveries: DeliveryStandard (Standard
	// Webhooks JSON) or DeliveryTwilio (Twilio's forms, for code written for Twilio).
	WebhookFormat DeliveryFormat
	// DLTRequired: every send of the client must match one of its DLT templates (India).
	DLTRequired bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ErrInvalidClientID is returned for client ids outside 2–32 characters of a-z 0-9 _ -.
var ErrInvalidClientID = errors.New("client id must be 2-32 characters of a-z, 0-9, _ and -, starting with a letter or digit")

// ValidClientID reports whether id is a well-formed client id. Ids travel in the ExtremeSMS
// Business field, so they are kept short and free of spaces and capitals.
func ValidClientID(id string) bool {
	if len(id) < 2 || len(id) > 32 || id[0] == '_' || id[0] == '-' {
		return false // a leading "-" would read as a formula in the ExtremeSMS export
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// APIKey is a client's machine credential. Only its SHA-256 hash is stored; Prefix is kept to
// let people tell keys apart.
type APIKey struct {
	ID        string
	ClientID  string
	Prefix    string
	CreatedAt time.Time
}

// LedgerKind says why a client's balance moved.
type LedgerKind string

// Ledger kinds.
const (
	LedgerTopUp  LedgerKind = "top_up"
	LedgerCharge LedgerKind = "charge"
	LedgerRefund LedgerKind = "refund"
	// LedgerAdjustment is an operator's correction downwards.
	LedgerAdjustment LedgerKind = "adjustment"
)

// LedgerEntry is one movement of a client's credits. AmountCents is signed (a charge is
// negative); BalanceCents is the balance right after it.
type LedgerEntry struct {
	ID           string
	ClientID     string
	Kind         LedgerKind
	AmountCents  int64
	BalanceCents int64
	Reference    string
	MessageID    string
	CreatedAt    time.Time
}
