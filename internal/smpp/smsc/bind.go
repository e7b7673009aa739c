package smsc

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

// Failed binds an address may make: a burst of 10, then one every 6 seconds. Beyond them its
// binds are refused without their password being looked at, so guessing is slow and costs
// the server no hashing.
const (
	failBurst = 10
	failEvery = 6 * time.Second
)

// bind authenticates a bind: system_id a client with an SMPP login, its password, an address
// it may bind from, fewer binds than it may hold, an active client. Every refusal is
// ESME_RBINDFAIL (the reason is logged, not told).
func (c *conn) bind(ctx context.Context, s *session.Session, b *pdu.Bind) (pdu.Status, pdu.Body) {
	srv := c.srv
	// The connection's one bind is claimed first: two binds sent at once on one connection
	// (its requests are handled concurrently) cannot both register.
	claim := &bind{}
	if !c.bound.CompareAndSwap(nil, claim) {
		return pdu.StatusAlreadyBound, nil
	}
	refuse := func(why string, err error) (pdu.Status, pdu.Body) {
		c.bound.Store(nil)
		srv.Log.Warn("smpp server: bind refused", "system_id", b.SystemID, "address", c.addr, "why", why, "error", err)
		return pdu.StatusBindFailed, nil
	}
	// A try is spent before the password is looked at, and given back when it was right, so
	// that binds sent at once cannot all pass before the first failure counts.
	try, ok := srv.tryBind(c.addr)
	if !ok {
		return refuse("too many failed binds from this address", nil)
	}
	acct, err := srv.Store.SMPPAccount(ctx, b.SystemID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse("no SMPP login for this system_id", nil)
	}
	if err != nil {
		try.Cancel()
		return refuse("the login could not be read", err)
	}
	if !srv.checkPassword(ctx, acct.PasswordHash, b.Password) {
		return refuse("wrong password", nil)
	}
	try.Cancel()
	if !tenant.AllowedIP(acct.AllowedIPs, c.addr) {
		return refuse("address not allowed", nil)
	}
	client, err := srv.Store.Client(ctx, acct.ClientID)
	if err != nil {
		return refuse("the client could not be read", err)
	}
	if !client.Active {
		return refuse("the client is deactivated", nil)
	}
	nb := &bind{client: acct.ClientID, kind: b.ID, s: s}
	srv.mu.Lock()
	if n := len(srv.binds[nb.client]); n >= acct.MaxBinds {
		srv.mu.Unlock()
		return refuse("the client holds all the binds it may", nil)
	}
	srv.binds[nb.client] = append(srv.binds[nb.client], nb)
	if acct.Rate > 0 {
		lim := srv.limits[nb.client]
		if lim == nil {
			lim = rate.NewLimiter(rate.Limit(acct.Rate), max(acct.Rate/10, 1))
			srv.limits[nb.client] = lim
		}
		lim.SetLimit(rate.Limit(acct.Rate))
		lim.SetBurst(max(acct.Rate/10, 1))
	} else {
		delete(srv.limits, nb.client)
	}
	srv.mu.Unlock()
	c.bound.Store(nb)
	metrics.SMPPServerBinds.WithLabelValues(nb.client, kindName(nb.kind)).Inc()
	srv.Log.Info("smpp server: bound", "client", nb.client, "kind", kindName(nb.kind), "address", c.addr)
	return pdu.StatusOK, &pdu.BindResp{ID: b.ID.Resp(), SystemID: srv.Config.SystemID,
		TLVs: pdu.TLVs{pdu.Uint8TLV(pdu.TagSCInterfaceVersion, 0x34)}}
}

// tryBind spends one of the failed binds addr has left (an IPv6 address by its /64); ok false
// when none is left. Cancel the reservation to give it back (a bind that succeeded).
func (srv *Server) tryBind(addr netip.Addr) (*rate.Reservation, bool) {
	addr = network(addr)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.fails) > 10_000 {
		clear(srv.fails) // bounded memory; an attacker gains a fresh burst at most
	}
	lim := srv.fails[addr]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(failEvery), failBurst)
		srv.fails[addr] = lim
	}
	r := lim.Reserve()
	if !r.OK() || r.Delay() > 0 {
		r.Cancel()
		return nil, false
	}
	return r, true
}

// network is the address limits count by: an IPv4 address, an IPv6 address's /64 (one host
// usually holds the whole /64).
func network(addr netip.Addr) netip.Addr {
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	return addr
}

// hashing bounds the password checks running at once: each takes 19 MiB (argon2id).
var hashing = make(chan struct{}, 4)

// checkPassword checks a bind's password against the login's hash, a few at a time.
func (srv *Server) checkPassword(ctx context.Context, hash, password string) bool {
	select {
	case hashing <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-hashing }()
	return auth.CheckPassword(hash, password)
}

// limit is the client's submit rate limiter (nil: none).
func (srv *Server) limit(clientID string) *rate.Limiter {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.limits[clientID]
}
