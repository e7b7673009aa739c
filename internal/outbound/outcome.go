package outbound

import (
	"cmp"
	"errors"
	"time"

	"github.com/ibiki/ibiki/internal/provider"
)

// The decisions of the send job, as pure functions of what it knows: docs/providers.md's "How
// answers are read" (classify) and "Never two sends" (recordFirst, resume) tables. The job's
// steps do the reading and the writing around them (dispatch.go).

// sendOutcome is what one run of a send job comes to.
type sendOutcome int

const (
	// sendSent: the provider took the message; it is recorded "sent".
	sendSent sendOutcome = iota
	// sendFailed: refused for good; the message fails with the provider's code and is refunded.
	sendFailed
	// sendRetry: refused for now, and nothing was recorded before the call; the job runs
	// again after the provider's Retry-After, or after its back-off.
	sendRetry
	// sendRequeue: refused for now after "sending" was recorded; the provider did not take it,
	// so the message goes back to "queued", then as sendRetry.
	sendRequeue
	// sendInDoubt: no answer (a timeout, a dropped connection): unknown whether it arrived. The
	// job runs again: a provider that recognises repeats is sent to again, any other is
	// reconciled (the message stays "sending").
	sendInDoubt
	// sendReconciled: a message left "sending" was found by looking it up; recorded "sent".
	sendReconciled
	// sendAgain: a message left "sending" may be sent again: the look-up did not find it, or
	// the provider recognises repeats.
	sendAgain
	// sendUnknown: a message left "sending" that nothing can confirm; it becomes "unknown"
	// (send_in_doubt), is not refunded, and is not sent again.
	sendUnknown
)

// label is the outcome's value of ibiki_outbound_sends_total{outcome}; "" for sendAgain, which
// is not counted (the call that follows is).
func (o sendOutcome) label() string {
	switch o {
	case sendSent:
		return "sent"
	case sendFailed:
		return "failed"
	case sendRetry, sendRequeue:
		return "retry"
	case sendReconciled:
		return "reconciled"
	case sendAgain:
		return ""
	}
	return "in_doubt"
}

// verdict is what a provider's answer to one call means for the message.
type verdict struct {
	outcome sendOutcome
	// markSending, on sendSent: "sending" was not recorded before the call, and is recorded
	// with "sent" (the client sees every step).
	markSending bool
	// retryAfter, on sendRetry and sendRequeue: the wait the provider asked for (0: the job's
	// back-off).
	retryAfter time.Duration
	// code and message, on sendFailed: why, as the message's error.
	code, message string
}

// recordFirst tells whether the attempt must be committed ("sending") before the provider is
// called: when the provider could not recognise a repeat, a crash after the call must leave a
// trace; and a message found "sending" is in doubt whatever the provider.
func recordFirst(caps provider.Capabilities, inDoubt bool) bool {
	return !caps.Idempotent || inDoubt
}

// classify reads the provider's answer to one call (err from Send), knowing whether the attempt
// was recorded before it. A *provider.SendError is a refusal, so the provider did not take the
// message; any other error leaves it unknown.
func classify(err error, recordedFirst bool) verdict {
	var se *provider.SendError
	switch {
	case err == nil:
		return verdict{outcome: sendSent, markSending: !recordedFirst}
	case !errors.As(err, &se):
		return verdict{outcome: sendInDoubt}
	case se.Permanent:
		return verdict{outcome: sendFailed, code: cmp.Or(se.Code, "provider_rejected"), message: se.Message}
	case recordedFirst:
		return verdict{outcome: sendRequeue, retryAfter: se.RetryAfter}
	}
	return verdict{outcome: sendRetry, retryAfter: se.RetryAfter}
}

// resume decides what a run does with a message found "sending" (an earlier call may have
// reached the provider): canLookUp says the provider can look a send up by Ibiki's id, found
// that it did find this one, idempotent that the provider recognises a repeat.
func resume(canLookUp, found, idempotent bool) sendOutcome {
	switch {
	case canLookUp && found:
		return sendReconciled
	case canLookUp || idempotent:
		return sendAgain
	}
	return sendUnknown
}
