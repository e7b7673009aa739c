package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []time.Duration
		errPart string
	}{
		{"a plain list parses in order", "5s,5m,30m,2h", []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}, ""},
		{"spaces around entries are allowed", " 5s , 1m30s,\t24h ", []time.Duration{5 * time.Second, 90 * time.Second, 24 * time.Hour}, ""},
		{"hours alone are accepted", "24h", []time.Duration{24 * time.Hour}, ""},
		{"sub-second delays are accepted", "500ms", []time.Duration{500 * time.Millisecond}, ""},
		{"fifty entries are accepted", strings.Repeat("1s,", 49) + "1s", slices.Repeat([]time.Duration{time.Second}, 50), ""},
		{"an empty schedule is refused", "  ", nil, "at least one"},
		{"fifty-one entries are refused", strings.Repeat("1s,", 50) + "1s", nil, "at most 50"},
		{"an unknown unit names the entry", "5s,5x,1h", nil, `entry 2 "5x"`},
		{"a bare number names the entry", "5s,30", nil, `entry 2 "30"`},
		{"a day unit is not a Go duration", "1d", nil, `entry 1 "1d"`},
		{"a trailing comma is an empty entry", "5s,", nil, `entry 2 ""`},
		{"zero is refused", "5s,0s", nil, `entry 2 "0s" must be greater than zero`},
		{"a negative delay is refused", "-5m", nil, `entry 1 "-5m" must be greater than zero`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSchedule(tt.in)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("ParseSchedule(%q) error = %v, want it to mention %q", tt.in, err, tt.errPart)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseSchedule(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDefaultScheduleRoundTripsThroughParseSchedule(t *testing.T) {
	parts := make([]string, len(DefaultSchedule))
	for i, d := range DefaultSchedule {
		parts[i] = d.String()
	}
	got, err := ParseSchedule(strings.Join(parts, ","))
	if err != nil || !slices.Equal(got, DefaultSchedule) {
		t.Fatalf("ParseSchedule(%v) = %v, %v", parts, got, err)
	}
}

func TestClassify(t *testing.T) {
	refused := fmt.Errorf("dial tcp 10.0.0.1:80: %w", ErrPrivateAddress)
	tests := []struct {
		name   string
		status int
		err    error
		want   Verdict
	}{
		{"200 succeeds", 200, nil, Succeeded},
		{"204 succeeds", 204, nil, Succeeded},
		{"299 succeeds", 299, nil, Succeeded},
		{"a timeout is retried", 0, context.DeadlineExceeded, Retry},
		{"a refused connection is retried", 0, syscall.ECONNREFUSED, Retry},
		{"a reset connection is retried", 0, fmt.Errorf("read: %w", syscall.ECONNRESET), Retry},
		{"a refusal by the SSRF guard fails for good", 0, refused, Fail},
		{"an error wins over a status code", 200, errors.New("body read failed"), Retry},
		{"408 is retried", 408, nil, Retry},
		{"429 is retried", 429, nil, Retry},
		{"500 is retried", 500, nil, Retry},
		{"503 is retried", 503, nil, Retry},
		{"599 is retried", 599, nil, Retry},
		{"410 means the endpoint is gone", 410, nil, Gone},
		{"a redirect fails for good", 302, nil, Fail},
		{"400 fails for good", 400, nil, Fail},
		{"401 fails for good", 401, nil, Fail},
		{"404 fails for good", 404, nil, Fail},
		{"413 fails for good", 413, nil, Fail},
		{"a status outside HTTP fails for good", 600, nil, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.status, tt.err); got != tt.want {
				t.Errorf("Classify(%d, %v) = %v, want %v", tt.status, tt.err, got, tt.want)
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Succeeded: "succeeded", Retry: "retry", Fail: "fail", Gone: "gone", 0: "Verdict(0)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
}

func TestNextDelay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	schedule := []time.Duration{10 * time.Second, 100 * time.Minute, 10 * time.Hour}
	fixed := func(f float64) func() float64 { return func() float64 { return f } }
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }

	tests := []struct {
		name       string
		attempt    int
		retryAfter string
		rnd        float64
		want       time.Duration
		ok         bool
	}{
		{"the first failure waits the first delay", 1, "", 0.5, 10 * time.Second, true},
		{"the second failure waits the second delay", 2, "", 0.5, 100 * time.Minute, true},
		{"the last entry is still used", 3, "", 0.5, 10 * time.Hour, true},
		{"past the last entry the schedule is exhausted", 4, "", 0.5, 0, false},
		{"an exhausted schedule ignores Retry-After", 4, "60", 0.5, 0, false},
		{"no attempt yet means no wait", 0, "", 0.5, 0, true},
		{"the lowest jitter takes off 10%", 2, "", 0, 90 * time.Minute, true},
		{"the highest jitter adds almost 10%", 2, "", 0.999999, 110*time.Minute - 1200*time.Microsecond, true},
		{"a quarter jitter takes off 5%", 1, "", 0.25, 9500 * time.Millisecond, true},
		{"a longer Retry-After in seconds wins", 1, "120", 0.5, 120 * time.Second, true},
		{"a shorter Retry-After in seconds loses to the schedule", 2, "120", 0.5, 100 * time.Minute, true},
		{"Retry-After in seconds beats the jittered delay too", 1, "10", 0, 10 * time.Second, true},
		{"Retry-After with spaces is read", 1, " 120 ", 0.5, 120 * time.Second, true},
		{"a longer Retry-After date wins", 1, date(time.Hour), 0.5, time.Hour, true},
		{"a Retry-After date in the past is ignored", 1, date(-time.Hour), 0.5, 10 * time.Second, true},
		{"an RFC 850 Retry-After date is read", 1, now.Add(time.Hour).Format(time.RFC850), 0.5, time.Hour, true},
		{"Retry-After in seconds is capped at a day", 1, "172800", 0.5, 24 * time.Hour, true},
		{"a huge Retry-After in seconds is capped at a day", 1, "99999999999999999999999", 0.5, 24 * time.Hour, true},
		{"a Retry-After date is capped at a day", 1, date(30 * 24 * time.Hour), 0.5, 24 * time.Hour, true},
		{"an unparsable Retry-After is ignored", 1, "soon", 0.5, 10 * time.Second, true},
		{"a negative Retry-After is ignored", 1, "-30", 0.5, 10 * time.Second, true},
		{"a fractional Retry-After is ignored", 1, "1.5", 0.5, 10 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NextDelay(schedule, tt.attempt, tt.retryAfter, now, fixed(tt.rnd))
			if ok != tt.ok || (got-tt.want).Abs() > time.Millisecond {
				t.Errorf("NextDelay(attempt %d, %q, rnd %v) = %v, %v; want %v, %v", tt.attempt, tt.retryAfter, tt.rnd, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNextDelayWithoutRandomSourceStaysWithinJitter(t *testing.T) {
	for range 100 {
		d, ok := NextDelay([]time.Duration{time.Minute}, 1, "", time.Now(), nil)
		if !ok || d < 54*time.Second || d >= 66*time.Second {
			t.Fatalf("NextDelay = %v, %v; want within ±10%% of 1m", d, ok)
		}
	}
}
