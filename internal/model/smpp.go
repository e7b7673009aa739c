package model

import "time"

// SMPPAccount is a client's login to Ibiki's SMPP server: it binds with its client id as
// system_id and a password of which only the argon2id hash is kept.
type SMPPAccount struct {
	ClientID     string
	PasswordHash string
	// AllowedIPs are the CIDR prefixes it may bind from, comma-separated ("" for any).
	AllowedIPs string
	// MaxBinds is how many binds it may hold at once.
	MaxBinds int
	// MODelivery is how its inbound messages reach it: SMPPMOFallback or SMPPMOBoth.
	MODelivery string
	// Rate is how many submit_sm a second it may send over all its binds (0: no limit);
	// beyond it the server answers ESME_RTHROTTLED.
	Rate      int
	CreatedAt time.Time
	RotatedAt time.Time
}

// How a client with an SMPP login receives its inbound messages.
const (
	// SMPPMOFallback: as deliver_sm over a receiver bind when one is up, else to its webhook
	// (and held for a bind when it has no webhook URL).
	SMPPMOFallback = "fallback"
	// SMPPMOBoth: as deliver_sm (held for a bind while none is up) and to its webhook.
	SMPPMOBoth = "both"
)

// SMPP status callbacks: an outbound message submitted over SMPP with registered_delivery
// asks its final status back as a delivery receipt (deliver_sm) on the client's receiver bind.
const (
	// SMPPReceiptAll: a receipt for every final status.
	SMPPReceiptAll = "smpp:receipt"
	// SMPPReceiptFailure: a receipt only when the message did not reach the handset.
	SMPPReceiptFailure = "smpp:failure"
)

// SMPPReceipt reports whether a status callback is an SMPP receipt request, and whether m's
// status (final) should produce one.
func SMPPReceipt(m Message) (asked, due bool) {
	switch m.StatusCallback {
	case SMPPReceiptAll:
		return true, m.Status.Final()
	case SMPPReceiptFailure:
		return true, m.Status.Final() && m.Status != StatusDelivered
	}
	return false, false
}
