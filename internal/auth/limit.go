package auth

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimiter slows down password guessing without handing the guesser a way to lock an
// account's owner out. Failed sign-ins are counted three ways:
//   - per email and source address: 5, then one every 30 s. This is what stops a guesser, and it
//     does not touch the owner signing in from anywhere else.
//   - per source address: 20 across every email, then one every 3 s, so that one address cannot
//     try one password on many accounts instead.
//   - per email, a looser ceiling: 100, then one every 10 s, against one account guessed from
//     many addresses at once. An address the email has signed in from (in this instance's memory,
//     for 30 days) is exempt: even such an attack does not keep the owner out where they sign in.
//
// Successful sign-ins cost nothing. The source address is the caller as seen through trusted
// proxies (ClientIP); IPv6 addresses count by their /64, which one subscriber usually holds whole.
type LoginLimiter struct {
	trusted []netip.Prefix
	clock   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	known   map[string]time.Time // email and address → its last successful sign-in
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

type budget struct {
	burst int
	every time.Duration
}

// The budgets of failed sign-ins, and how long a successful address is remembered.
var (
	pairBudget    = budget{burst: 5, every: 30 * time.Second}
	addressBudget = budget{burst: 20, every: 3 * time.Second}
	emailBudget   = budget{burst: 100, every: 10 * time.Second}
	knownFor      = 30 * 24 * time.Hour
)

// maxEntries bounds each of the limiter's maps; past it, entries no longer needed are dropped.
const maxEntries = 100_000

// NewLoginLimiter returns a limiter with the default budgets. trusted are the reverse proxies
// whose X-Forwarded-For names the caller (IBIKI_TRUSTED_PROXIES).
func NewLoginLimiter(clock func() time.Time, trusted []netip.Prefix) *LoginLimiter {
	return &LoginLimiter{trusted: trusted, clock: clock, buckets: map[string]*bucket{}, known: map[string]time.Time{}}
}

// Try takes one try of the budgets that apply to a sign-in as email from r. When ok is false
// the sign-in must not be tried (wait says for how long). Otherwise call done with the outcome:
// a success gives the try back. Taking the try before checking the password makes parallel
// guesses count too.
func (l *LoginLimiter) Try(r *http.Request, email string) (ok bool, wait time.Duration, done func(success bool)) {
	addr := sourceKey(ClientIP(r, l.trusted))
	pair := email + "\x00" + addr
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	lims := []*rate.Limiter{l.get("p:"+pair, pairBudget, now), l.get("a:"+addr, addressBudget, now)}
	if seen, ok := l.known[pair]; !ok || now.Sub(seen) > knownFor {
		lims = append(lims, l.get("e:"+email, emailBudget, now))
	}
	taken, wait := reserve(lims, now)
	if wait > 0 {
		return false, wait, func(bool) {}
	}
	return true, 0, func(success bool) {
		if !success {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, res := range taken {
			// At the reservation's own time: x/time/rate gives nothing back for a later one.
			res.CancelAt(now)
		}
		l.remember(pair, now)
	}
}

// reserve takes one token of every limiter, or none: when one has nothing left, the others'
// tokens are put back and wait is how long until all of them would have one.
func reserve(lims []*rate.Limiter, now time.Time) (taken []*rate.Reservation, wait time.Duration) {
	for _, lim := range lims {
		res := lim.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			wait = max(wait, d)
			res.CancelAt(now)
			continue
		}
		taken = append(taken, res)
	}
	if wait > 0 {
		for _, res := range taken {
			res.CancelAt(now)
		}
		return nil, wait
	}
	return taken, 0
}

func (l *LoginLimiter) get(key string, b budget, now time.Time) *rate.Limiter {
	bk := l.buckets[key]
	if bk == nil {
		if len(l.buckets) > maxEntries {
			// Forget buckets untouched for an hour: by then every budget has refilled.
			for k, b := range l.buckets {
				if now.Sub(b.seen) > time.Hour {
					delete(l.buckets, k)
				}
			}
		}
		bk = &bucket{lim: rate.NewLimiter(rate.Every(b.every), b.burst)}
		l.buckets[key] = bk
	}
	bk.seen = now
	return bk.lim
}

// remember records a successful sign-in of an email from an address.
func (l *LoginLimiter) remember(pair string, now time.Time) {
	if _, ok := l.known[pair]; !ok && len(l.known) > maxEntries {
		for k, at := range l.known {
			if now.Sub(at) > knownFor {
				delete(l.known, k)
			}
		}
	}
	l.known[pair] = now
}

// sourceKey is the address a budget is kept for: an IPv4 address, or the /64 of an IPv6 one.
func sourceKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
