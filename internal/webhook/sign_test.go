package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// verify checks a delivery with the official Standard Webhooks library, the same code a
// client's receiver is likely to run, so it is the oracle rather than our own Sign.
func verify(t *testing.T, secret, msgID string, ts time.Time, sigHeader string, body []byte) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("NewWebhook(%q): %v", secret, err)
	}
	h := http.Header{}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sigHeader)
	return wh.Verify(body, h)
}

func TestNewSecretHasPrefixAndDecodesTo24Bytes(t *testing.T) {
	s := NewSecret()
	key, err := decodeSecret(s)
	if err != nil || len(key) != 24 || !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("NewSecret() = %q: key %d bytes, %v", s, len(key), err)
	}
	if NewSecret() == s {
		t.Fatal("two calls to NewSecret returned the same secret")
	}
}

func TestSignatureHeaderVerifiesWithOfficialLibrary(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	msgID := "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	// Verify enforces a five-minute tolerance against the wall clock.
	ts := time.Now()
	body := []byte(`{"type":"message.received","data":{"id":"msg_1","body":"hi"}}`)

	tests := []struct {
		name    string
		secrets []string
		verify  []string
	}{
		{"one secret verifies with itself", []string{oldSecret}, []string{oldSecret}},
		{"both rotating secrets each verify the header", []string{oldSecret, newSecret}, []string{oldSecret, newSecret}},
		{"empty secrets are skipped", []string{"", newSecret, ""}, []string{newSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, err := SignatureHeader(tt.secrets, msgID, ts, body)
			if err != nil {
				t.Fatalf("SignatureHeader: %v", err)
			}
			if n, want := len(strings.Fields(hdr)), len(tt.verify); n != want {
				t.Errorf("header %q has %d signatures, want %d", hdr, n, want)
			}
			for _, s := range tt.verify {
				if err := verify(t, s, msgID, ts, hdr, body); err != nil {
					t.Errorf("official Verify with %q: %v", s, err)
				}
			}
		})
	}
}

func TestSignatureHeaderFailsVerification(t *testing.T) {
	secret, other := NewSecret(), NewSecret()
	ts := time.Now()
	body := []byte(`{"type":"message.status"}`)
	hdr, err := SignatureHeader([]string{secret}, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		secret string
		msgID  string
		ts     time.Time
		body   []byte
	}{
		{"a tampered body fails", secret, "msg_1", ts, []byte(`{"type":"message.statuS"}`)},
		{"another message id fails", secret, "msg_2", ts, body},
		{"another timestamp fails", secret, "msg_1", ts.Add(-time.Second), body},
		{"a secret that did not sign fails", other, "msg_1", ts, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify(t, tt.secret, tt.msgID, tt.ts, hdr, tt.body)
			if !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
				t.Errorf("Verify = %v, want ErrNoMatchingSignature", err)
			}
		})
	}
}

func TestSignMatchesKnownVector(t *testing.T) {
	// The test vector published with the Standard Webhooks reference libraries.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	got, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
}

func TestSignRejectsMalformedSecrets(t *testing.T) {
	tests := []struct {
		name   string
		secret string
	}{
		{"a secret without the whsec_ prefix is refused", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"a secret that is not base64 is refused", "whsec_not*base64!"},
		{"a secret with an empty key is refused", "whsec_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(tt.secret, "msg_1", time.Now(), nil); !errors.Is(err, ErrBadSecret) {
				t.Errorf("Sign(%q) error = %v, want ErrBadSecret", tt.secret, err)
			}
		})
	}
}

func TestSignatureHeaderWithoutSecretsIsAnError(t *testing.T) {
	if hdr, err := SignatureHeader([]string{"", ""}, "msg_1", time.Now(), nil); err == nil {
		t.Fatalf("SignatureHeader with no secrets = %q, want an error", hdr)
	}
}
