package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// secretPrefix marks a Standard Webhooks signing secret. Receivers' libraries strip it before
// decoding, so we insist on it: a secret without it was not made by NewSecret.
const secretPrefix = "whsec_"

// secretBytes is the key length NewSecret draws: 24 bytes (192 bits) is what the Standard
// Webhooks reference implementations generate, and it encodes to 32 characters without padding.
const secretBytes = 24

// ErrBadSecret reports a signing secret that is not "whsec_" followed by non-empty base64.
var ErrBadSecret = errors.New("webhook: malformed signing secret")

// NewSecret returns a fresh signing secret in the Standard Webhooks format, "whsec_<base64>",
// which receivers can pass unchanged to any Standard Webhooks library.
func NewSecret() string {
	b := make([]byte, secretBytes)
	// crypto/rand.Read never returns an error on supported platforms (it panics instead).
	_, _ = rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the Standard Webhooks "v1,<base64 HMAC-SHA256>" signature of
// "msgID.unix_seconds.body" under secret. The id and timestamp are signed with the body so a
// captured delivery cannot be replayed under another id or at a later time.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignatureHeader returns the webhook-signature header value: one signature per non-empty
// secret, separated by spaces. During a secret rotation both the old and the new secret sign,
// so a receiver still holding either one verifies the delivery.
func SignatureHeader(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s == "" {
			continue
		}
		sig, err := Sign(s, msgID, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		// An empty header would be sent as "unsigned", which every receiver must reject anyway.
		return "", fmt.Errorf("%w: no secret to sign with", ErrBadSecret)
	}
	return strings.Join(sigs, " "), nil
}

// decodeSecret returns the HMAC key carried by a "whsec_" secret.
func decodeSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: missing %q prefix", ErrBadSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSecret, err)
	}
	if len(key) == 0 {
		// HMAC with an empty key is valid but signs nothing anyone couldn't forge.
		return nil, fmt.Errorf("%w: empty key", ErrBadSecret)
	}
	return key, nil
}
