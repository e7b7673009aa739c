package outbound

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/ibiki/ibiki/internal/provider"
)

// maxThrottleWait is the longest a send job waits for its provider's throttle while holding its
// lease; a longer wait puts the job back in the queue for that time instead.
const maxThrottleWait = 5 * time.Second

// throttleBurst is how much of a provider's rate its bucket holds: after a stall of the
// dispatcher (a slow commit, a busy machine) the sends missed during the stall catch up, up to
// this much, so the rate holds on average. A bucket of one token lost every stall: 477/s of
// 500/s over 60 s on a shared machine. Over any window W at most rate×W + burst are sent.
const throttleBurst = 200 * time.Millisecond

// bucket is one provider's token bucket. Its times are given by the caller (the wall clock in
// throttle, a fake one in tests).
type bucket struct{ lim *rate.Limiter }

// newBucket is a full bucket for perSec messages a second, holding throttleBurst of the rate
// (at least one token).
func newBucket(perSec float64) *bucket {
	return &bucket{rate.NewLimiter(rate.Limit(perSec), burstOf(perSec))}
}

// burstOf is the bucket size for a rate: throttleBurst of it, at least 1.
func burstOf(perSec float64) int {
	return max(1, int(perSec*throttleBurst.Seconds()))
}

// take reserves a token at now and says how long to wait for it. A wait longer than limit is
// not taken (the token stays in the bucket) and ok is false. cancel gives a taken token back.
func (b *bucket) take(now time.Time, limit time.Duration) (wait time.Duration, cancel func(time.Time), ok bool) {
	r := b.lim.ReserveN(now, 1)
	wait = r.DelayFrom(now)
	if wait > limit {
		r.CancelAt(now)
		return wait, nil, false
	}
	return wait, r.CancelAt, true
}

// throttle waits for the provider's token bucket. When the wait would be long it gives the
// token back and says how long to wait instead (ok=false).
func (s *Service) throttle(ctx context.Context, name string, p provider.Sender) (wait time.Duration, ok bool) {
	perSec := p.Capabilities().MaxPerSecond
	if perSec <= 0 {
		return 0, true
	}
	s.limMu.Lock()
	if s.limiters == nil {
		s.limiters = map[string]*bucket{}
	}
	b := s.limiters[name]
	if b == nil {
		b = newBucket(perSec)
		s.limiters[name] = b
	}
	s.limMu.Unlock()
	d, cancel, ok := b.take(time.Now(), maxThrottleWait)
	if !ok {
		return d, false
	}
	if d <= 0 {
		return 0, true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return 0, true
	case <-ctx.Done():
		cancel(time.Now())
		return time.Second, false
	}
}
