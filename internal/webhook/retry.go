package webhook

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the wait before each retry after a failed delivery, close to the schedule
// the Standard Webhooks spec suggests: quick retries for blips, then spaced out over about three
// days so a receiver that is down for a weekend still gets its events.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// maxScheduleLen bounds a configured schedule: more entries than this is a typo, and each one is
// another attempt against an endpoint that keeps failing.
const maxScheduleLen = 50

// maxRetryAfter caps how long a receiver may push a retry back, so one Retry-After cannot park a
// delivery for a month.
const maxRetryAfter = 24 * time.Hour

// ParseSchedule parses a retry schedule such as "5s, 5m, 30m, 2h, 24h": comma-separated Go
// durations, each positive, between 1 and 50 of them. Errors name the offending entry, since
// they are shown to whoever wrote the setting.
func ParseSchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("retry schedule: at least one delay is required")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxScheduleLen {
		return nil, fmt.Errorf("retry schedule: %d delays, at most %d allowed", len(parts), maxScheduleLen)
	}
	out := make([]time.Duration, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		d, err := time.ParseDuration(p)
		if err != nil {
			return nil, fmt.Errorf("retry schedule: entry %d %q is not a duration like 30s, 5m or 2h", i+1, p)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule: entry %d %q must be greater than zero", i+1, p)
		}
		out[i] = d
	}
	return out, nil
}

// Verdict is what a delivery attempt's outcome means for the delivery.
type Verdict int

// The verdicts start at one so that an unset Verdict is never mistaken for success.
const (
	// Succeeded means the receiver accepted the event (2xx); the delivery is done.
	Succeeded Verdict = iota + 1
	// Retry means the failure may be temporary; try again per the schedule.
	Retry
	// Fail means the failure is permanent: retrying the same request cannot succeed.
	Fail
	// Gone means the receiver answered 410: the endpoint no longer exists and must be disabled,
	// as the Standard Webhooks spec asks.
	Gone
)

// String returns the verdict's lowercase name, for logs and attempt records.
func (v Verdict) String() string {
	switch v {
	case Succeeded:
		return "succeeded"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	case Gone:
		return "gone"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Classify judges one attempt from its status code, or from err when no response arrived.
// Transport errors (timeouts, refused or reset connections, TLS) are retried, except a refusal by
// the SSRF guard: it will fail identically until the URL changes. Among responses, only 408, 429
// and 5xx suggest that the same request could succeed later; a redirect or another 4xx is the
// receiver's considered answer.
func Classify(statusCode int, err error) Verdict {
	switch {
	case errors.Is(err, ErrPrivateAddress):
		return Fail
	case err != nil:
		return Retry
	case statusCode >= 200 && statusCode <= 299:
		return Succeeded
	case statusCode == http.StatusGone:
		return Gone
	case statusCode == http.StatusRequestTimeout, statusCode == http.StatusTooManyRequests, statusCode >= 500 && statusCode <= 599:
		return Retry
	}
	return Fail
}

// NextDelay returns the wait before the next attempt, given that attempt attempts have been made,
// and false once the schedule is exhausted. The scheduled delay gets ±10% jitter from rnd (a
// source in [0,1); nil means math/rand) so deliveries that failed together in an outage do not
// all come back in the same second. A Retry-After header (delta seconds or an HTTP date) may
// lengthen the wait, up to 24 hours, but never shorten it: the schedule is our promise of
// restraint towards a struggling receiver.
func NextDelay(schedule []time.Duration, attempt int, retryAfter string, now time.Time, rnd func() float64) (time.Duration, bool) {
	if attempt < 1 {
		return 0, true // nothing has been tried yet: the first attempt does not wait
	}
	if attempt > len(schedule) {
		return 0, false
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	d := time.Duration(float64(schedule[attempt-1]) * (0.9 + 0.2*rnd()))
	return max(d, parseRetryAfter(retryAfter, now)), true
}

// parseRetryAfter returns the wait a Retry-After value asks for, capped at maxRetryAfter, or 0
// when it is absent, unparsable or already past: a bad header is the receiver's bug, and the
// schedule still applies.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			// Only overflow fails here: a number that large is far past the cap anyway.
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else {
		t, err := http.ParseTime(v)
		if err != nil {
			return 0
		}
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
