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
	if c.bound.Load() != nil {
		return pdu.StatusAlreadyBound, nil
	}
	refuse := func(why string, err error) (pdu.Status, pdu.Body) {
		srv.Log.Warn("smpp server: bind refused", "system_id", b.SystemID, "address", c.addr, "why", why, "error", err)
		return pdu.StatusBindFailed, nil
	}
	if !srv.mayTry(c.addr) {
		return refuse("too many failed binds from this address", nil)
	}
	acct, err := srv.Store.SMPPAccount(ctx, b.SystemID)
	if errors.Is(err, store.ErrNotFound) {
		srv.failed(c.addr)
		return refuse("no SMPP login for this system_id", nil)
	}
	if err != nil {
		return refuse("the login could not be read", err)
	}
	if !auth.CheckPassword(acct.PasswordHash, b.Password) {
		srv.failed(c.addr)
		return refuse("wrong password", nil)
	}
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

// mayTry says whether addr has failed binds left.
func (srv *Server) mayTry(addr netip.Addr) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	lim := srv.fails[addr]
	return lim == nil || lim.Tokens() >= 1
}

// failed spends one of addr's failed binds.
func (srv *Server) failed(addr netip.Addr) {
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
	lim.Allow()
}

// limit is the client's submit rate limiter (nil: none).
func (srv *Server) limit(clientID string) *rate.Limiter {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.limits[clientID]
}
