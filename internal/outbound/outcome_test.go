package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/provider"
)

// Every row of docs/providers.md's "How answers are read", for a provider that recognises
// repeats (nothing recorded before the call) and for one that does not ("sending" recorded).
func TestHowAnswersAreRead(t *testing.T) {
	refused := func(permanent bool, code string, after time.Duration) error {
		return &provider.SendError{Permanent: permanent, Code: code, Message: "provider says " + code, RetryAfter: after}
	}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name          string
		err           error
		recordedFirst bool
		want          verdict
		label         string
	}{
		{"2xx is sent, recording sending with it when nothing was recorded first", nil, false,
			verdict{outcome: sendSent, markSending: true}, "sent"},
		{"2xx is sent, after the sending recorded first", nil, true,
			verdict{outcome: sendSent}, "sent"},
		{"400 fails the message with the provider's code", refused(true, "400", 0), false,
			verdict{outcome: sendFailed, code: "400", message: "provider says 400"}, "failed"},
		{"404 fails the message with the provider's code", refused(true, "404", 0), true,
			verdict{outcome: sendFailed, code: "404", message: "provider says 404"}, "failed"},
		{"422 fails the message with the provider's code", refused(true, "422", 0), false,
			verdict{outcome: sendFailed, code: "422", message: "provider says 422"}, "failed"},
		{"a permanent refusal without a code fails as provider_rejected", refused(true, "", 0), false,
			verdict{outcome: sendFailed, code: "provider_rejected", message: "provider says "}, "failed"},
		{"401 is retried with back-off", refused(false, "401", 0), false,
			verdict{outcome: sendRetry}, "retry"},
		{"403 after sending was recorded goes back to queued and is retried", refused(false, "403", 0), true,
			verdict{outcome: sendRequeue}, "retry"},
		{"408 is retried, honouring Retry-After", refused(false, "408", 2*time.Second), false,
			verdict{outcome: sendRetry, retryAfter: 2 * time.Second}, "retry"},
		{"429 is retried, honouring Retry-After", refused(false, "429", 3*time.Second), true,
			verdict{outcome: sendRequeue, retryAfter: 3 * time.Second}, "retry"},
		{"5xx without Retry-After is retried with back-off", refused(false, "503", 0), true,
			verdict{outcome: sendRequeue}, "retry"},
		{"connection refused sent nothing: queued again and retried", refused(false, "unreachable", 0), true,
			verdict{outcome: sendRequeue}, "retry"},
		{"name not found sent nothing: retried", refused(false, "unreachable", 0), false,
			verdict{outcome: sendRetry}, "retry"},
		{"a refusal wrapped by the adapter is still a refusal", fmt.Errorf("extremesms: %w", refused(false, "429", time.Second)), true,
			verdict{outcome: sendRequeue, retryAfter: time.Second}, "retry"},
		{"a timeout leaves it unknown whether it arrived", context.DeadlineExceeded, true,
			verdict{outcome: sendInDoubt}, "in_doubt"},
		{"a dropped connection to a provider that recognises repeats is in doubt too", errors.New("read: connection reset"), false,
			verdict{outcome: sendInDoubt}, "in_doubt"},
		{"a transport error the adapter did not classify is in doubt", dial, true,
			verdict{outcome: sendInDoubt}, "in_doubt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err, tt.recordedFirst)
			if got != tt.want || got.outcome.label() != tt.label {
				t.Errorf("classify(%v, recorded first %v) = %+v (%q), want %+v (%q)",
					tt.err, tt.recordedFirst, got, got.outcome.label(), tt.want, tt.label)
			}
		})
	}
}

// Every row of docs/providers.md's "Never two sends": what is recorded before the call, and
// what a run does with a message an earlier call left "sending".
func TestNeverTwoSends(t *testing.T) {
	before := []struct {
		name       string
		idempotent bool
		inDoubt    bool
		want       bool
	}{
		{"a provider that cannot recognise a repeat gets the attempt committed before the call", false, false, true},
		{"a provider that de-duplicates by Ibiki's id needs nothing committed before the call", true, false, false},
		{"a message found sending is committed again before any call, whatever the provider", true, true, true},
		{"a message found sending to a provider that cannot recognise a repeat is committed again", false, true, true},
	}
	for _, tt := range before {
		t.Run(tt.name, func(t *testing.T) {
			if got := recordFirst(provider.Capabilities{Idempotent: tt.idempotent}, tt.inDoubt); got != tt.want {
				t.Errorf("recordFirst(idempotent %v, in doubt %v) = %v", tt.idempotent, tt.inDoubt, got)
			}
		})
	}
	after := []struct {
		name                         string
		canLookUp, found, idempotent bool
		want                         sendOutcome
		label                        string
	}{
		{"a provider that can look the send up and finds it: recorded sent, not sent again", true, true, false, sendReconciled, "reconciled"},
		{"a provider that can look the send up and does not find it: sent again", true, false, false, sendAgain, ""},
		{"a provider that de-duplicates by Ibiki's id gets the same message again", false, false, true, sendAgain, ""},
		{"a provider that can look up and de-duplicates, finding the send: not sent again", true, true, true, sendReconciled, "reconciled"},
		{"any other provider gets nothing more: unknown, counted in doubt", false, false, false, sendUnknown, "in_doubt"},
	}
	for _, tt := range after {
		t.Run(tt.name, func(t *testing.T) {
			got := resume(tt.canLookUp, tt.found, tt.idempotent)
			if got != tt.want || got.label() != tt.label {
				t.Errorf("resume(look up %v, found %v, idempotent %v) = %v (%q), want %v (%q)",
					tt.canLookUp, tt.found, tt.idempotent, got, got.label(), tt.want, tt.label)
			}
		})
	}
}
