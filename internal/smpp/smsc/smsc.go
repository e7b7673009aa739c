// Package smsc is Ibiki's SMPP server: clients bind to it as ESMEs (system_id = their client
// id, with the password POST /admin/v1/clients/{id}/smpp-password gave them) and submit
// messages, which take the same path as POST /api/v1/messages (outbound.Send); their delivery
// receipts and inbound messages go back to them as deliver_sm over their receiver binds, as
// deliveries of the webhook queue (webhook.SMPPSender). It is a transport: every write is a
// domain operation's.
package smsc

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
	"github.com/ibiki/ibiki/internal/store"
)

// Config configures the server; zero values take the defaults.
type Config struct {
	// Idle: a bind from which nothing came for this long (not even enquire_link) is unbound
	// (2 minutes).
	Idle time.Duration
	// Window is how many deliver_sm wait for their response at once on one bind (10).
	Window int
	// Timeout is how long a deliver_sm waits for its response (10 s).
	Timeout time.Duration
	// BindWithin: a connection that has not bound this long after it opened (its TLS
	// handshake included) is closed (10 s).
	BindWithin time.Duration
	// TLS, when set, makes the listener speak TLS.
	TLS *tls.Config
	// SystemID is what bind responses name the server ("ibiki").
	SystemID string
}

// Server is the SMPP server.
type Server struct {
	Store    *store.Store
	Outbound *outbound.Service
	Region   string
	Clock    func() time.Time
	Log      *slog.Logger
	Config   Config

	mu     sync.Mutex
	binds  map[string][]*bind // client id → its binds
	conns  map[*session.Session]struct{}
	limits map[string]*rate.Limiter // client id → its submit rate (nil: none)
	fails  map[netip.Addr]*rate.Limiter
	open   int                // connections open (a TLS handshake under way included)
	from   map[netip.Addr]int // of them, per address (network)
	ln     net.Listener
	closed bool
	next   atomic.Uint64
	// refusedLog is when a refused connection was last logged (unix nanoseconds).
	refusedLog atomic.Int64
	wg         sync.WaitGroup
}

// bind is one bound session.
type bind struct {
	client string
	kind   pdu.CommandID // BindTransmitter, BindReceiver or BindTransceiver
	s      *session.Session
}

func (b *bind) receives() bool  { return b.kind != pdu.BindTransmitter }
func (b *bind) transmits() bool { return b.kind != pdu.BindReceiver }

func kindName(k pdu.CommandID) string {
	switch k {
	case pdu.BindTransmitter:
		return "transmitter"
	case pdu.BindReceiver:
		return "receiver"
	}
	return "transceiver"
}

func (srv *Server) defaults() {
	c := &srv.Config
	if c.Idle <= 0 {
		c.Idle = 2 * time.Minute
	}
	if c.Window <= 0 {
		c.Window = 10
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.BindWithin <= 0 {
		c.BindWithin = 10 * time.Second
	}
	if c.SystemID == "" {
		c.SystemID = "ibiki"
	}
	if srv.Clock == nil {
		srv.Clock = time.Now
	}
	if srv.Log == nil {
		srv.Log = slog.New(slog.DiscardHandler)
	}
}

// Listen starts serving on addr (host:port) and returns the address it listens on.
func (srv *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if srv.Config.TLS != nil {
		ln = tls.NewListener(ln, srv.Config.TLS)
	}
	srv.Serve(ln)
	return ln.Addr(), nil
}

// Serve accepts connections on ln until Close.
func (srv *Server) Serve(ln net.Listener) {
	srv.defaults()
	srv.mu.Lock()
	srv.ln = ln
	if srv.binds == nil {
		srv.binds, srv.conns = map[string][]*bind{}, map[*session.Session]struct{}{}
		srv.limits, srv.fails = map[string]*rate.Limiter{}, map[netip.Addr]*rate.Limiter{}
		srv.from = map[netip.Addr]int{}
	}
	srv.mu.Unlock()
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					srv.Log.Error("smpp server: accept", "error", err)
				}
				return
			}
			srv.wg.Add(1)
			go func() {
				defer srv.wg.Done()
				srv.serveConn(conn)
			}()
		}
	}()
}

// conn is the state of one connection: its bind once bound.
type conn struct {
	srv   *Server
	addr  netip.Addr
	bound atomic.Pointer[bind]
}

// maxConns bounds the connections open at once (TLS handshakes under way included);
// maxConnsFrom those from one address (an IPv6 /64), so that one address cannot take every slot
// with connections that never bind (each may stay BindWithin).
const (
	maxConns     = 1024
	maxConnsFrom = 64
)

func (srv *Server) serveConn(nc net.Conn) {
	c := &conn{srv: srv}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.addr = ap.Addr().Unmap()
	}
	from := network(c.addr)
	if !srv.admit(from) {
		// Logged once a second at most: an address looping connects must not flood the log.
		if now := time.Now().UnixNano(); now-srv.refusedLog.Load() > int64(time.Second) {
			srv.refusedLog.Store(now)
			srv.Log.Warn("smpp server: connection refused (shutting down, or too many connections, or too many from this address)",
				"address", c.addr)
		}
		_ = nc.Close()
		return
	}
	defer srv.release(from)
	if tc, ok := nc.(*tls.Conn); ok {
		// The handshake first, under a deadline: a session's first read would run it while
		// holding the lock its writes need, with no deadline.
		ctx, cancel := context.WithTimeout(context.Background(), srv.Config.BindWithin)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			srv.Log.Info("smpp server: TLS handshake failed", "address", c.addr, "error", err)
			_ = nc.Close()
			return
		}
	}
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		_ = nc.Close()
		return
	}
	s := session.New(nc, session.Options{Window: srv.Config.Window, Timeout: srv.Config.Timeout, EnquireLink: -1,
		Handle: c.handle, Handlers: srv.Config.Window, Log: srv.Log})
	srv.conns[s] = struct{}{}
	srv.mu.Unlock()
	opened := time.Now()
	tick := time.NewTicker(max(min(srv.Config.Idle, srv.Config.BindWithin)/4, 10*time.Millisecond))
	defer tick.Stop()
wait:
	for {
		select {
		case <-s.Done():
			break wait
		case <-tick.C:
			if b := c.bound.Load(); (b == nil || b.client == "") && time.Since(opened) > srv.Config.BindWithin {
				srv.Log.Info("smpp server: a connection that did not bind closed", "address", c.addr)
				break wait
			}
			if s.Quiet() > srv.Config.Idle {
				srv.Log.Info("smpp server: idle bind unbound", "client", c.client(), "address", c.addr)
				ctx, cancel := context.WithTimeout(context.Background(), srv.Config.Timeout)
				_ = s.Unbind(ctx)
				cancel()
				break wait
			}
		}
	}
	s.Close()
	srv.mu.Lock()
	delete(srv.conns, s)
	srv.mu.Unlock()
	c.unregister()
}

// admit counts a new connection from the address (network) from, unless the server is closed
// or full, or that address holds maxConnsFrom already. release gives the place back.
func (srv *Server) admit(from netip.Addr) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed || srv.open >= maxConns || srv.from[from] >= maxConnsFrom {
		return false
	}
	srv.open++
	srv.from[from]++
	return true
}

func (srv *Server) release(from netip.Addr) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.open--
	if srv.from[from]--; srv.from[from] <= 0 {
		delete(srv.from, from)
	}
}

func (c *conn) client() string {
	if b := c.bound.Load(); b != nil {
		return b.client
	}
	return ""
}

// unregister forgets the connection's bind.
func (c *conn) unregister() {
	b := c.bound.Swap(nil)
	if b == nil || b.client == "" {
		return
	}
	srv := c.srv
	srv.mu.Lock()
	list := srv.binds[b.client]
	for i, x := range list {
		if x == b {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(srv.binds, b.client)
	} else {
		srv.binds[b.client] = list
	}
	srv.mu.Unlock()
	metrics.SMPPServerBinds.WithLabelValues(b.client, kindName(b.kind)).Dec()
}

// handle answers one request of a client.
func (c *conn) handle(ctx context.Context, s *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
	switch p.ID {
	case pdu.BindTransmitter, pdu.BindReceiver, pdu.BindTransceiver:
		b, _ := p.Body.(*pdu.Bind)
		return c.bind(ctx, s, b)
	case pdu.SubmitSM, pdu.SubmitMulti:
		b := c.bound.Load()
		if b == nil || b.client == "" || !b.transmits() { // client "": a bind under way
			return pdu.StatusInvalidBindStatus, nil
		}
		if p.ID == pdu.SubmitMulti {
			m, _ := p.Body.(*pdu.Multi)
			return c.submitMulti(ctx, b, m)
		}
		sm, _ := p.Body.(*pdu.SM)
		return c.submit(ctx, b, sm)
	case pdu.QuerySM, pdu.CancelSM, pdu.ReplaceSM, pdu.DataSM:
		if c.bound.Load() == nil {
			return pdu.StatusInvalidBindStatus, nil
		}
	}
	return pdu.StatusInvalidCmdID, nil
}

// Bound is how many binds a client holds on this server.
func (srv *Server) Bound(clientID string) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.binds[clientID])
}

// Binds is how many binds each client holds on this server (for the dashboard).
func (srv *Server) Binds() map[string]int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make(map[string]int, len(srv.binds))
	for id, l := range srv.binds {
		out[id] = len(l)
	}
	return out
}

// Close stops accepting binds and unbinds every session (each waits up to the timeout for the
// responses it is owed), then waits for the connections to end.
func (srv *Server) Close(ctx context.Context) {
	srv.mu.Lock()
	srv.closed = true
	if srv.ln != nil {
		_ = srv.ln.Close()
	}
	sessions := make([]*session.Session, 0, len(srv.conns))
	for s := range srv.conns {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() { _ = s.Unbind(ctx) })
	}
	wg.Wait()
	srv.wg.Wait()
}
