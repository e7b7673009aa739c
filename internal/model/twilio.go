package model

import "time"

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
