package model

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// TwilioAccount is a client's Twilio-compatible identity on Ibiki's Twilio-shaped API: its
// Account SID and the hash of its auth token. The token is not stored (see auth.TwilioTokens);
// Salt is what a rotation changes.
type TwilioAccount struct {
	ClientID    string
	AccountSID  string
	TokenSHA256 string
	Salt        string
	CreatedAt   time.Time
	RotatedAt   time.Time
}

// TwilioMessageSID is a message's SID in Twilio's shapes (the Twilio-compatible API and
// Twilio-format webhooks): "SM" and the 32 hex digits of its id's 16 bytes, "MM" for a message
// with media. It is "" for an id NewID did not make.
func TwilioMessageSID(m Message) string {
	h, ok := HexOfID(PrefixMessage, m.ID)
	switch {
	case !ok:
		return ""
	case len(m.Media) > 0:
		return "MM" + h
	}
	return "SM" + h
}

// TwilioStatus is a message's status in Twilio's names.
func TwilioStatus(s MessageStatus) string {
	switch s {
	case StatusBlocked:
		return "received" // a STOP word: received, and acted on
	case StatusUnknown:
		return "sent" // no final report came: Twilio leaves such messages "sent"
	}
	return string(s)
}

// TwilioAddress is a number as Twilio writes it on a channel ("whatsapp:+1...").
func TwilioAddress(ch Channel, number string) string {
	if ch == ChannelWhatsApp && number != "" {
		return "whatsapp:" + number
	}
	return number
}

// ValidTwilioSID reports whether s has the shape of a Twilio SID of this kind: the two-letter
// prefix ("AC", "MG", "SM"...) and 32 hex digits.
func ValidTwilioSID(s, prefix string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}

// TwilioErrorCode is a message's error code as Twilio's numeric code: a provider's numeric code
// as it came, Ibiki's own reasons as the Twilio code that says the same (21610 opted out),
// anything else 30008 (Twilio's "unknown error").
func TwilioErrorCode(code string) int {
	if n, err := strconv.Atoi(code); err == nil {
		return n
	}
	if code == "recipient_opted_out" {
		return 21610
	}
	return 30008
}
