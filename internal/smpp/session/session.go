// Package session runs one SMPP session over a connection, for either side: it numbers and
// sends requests with a window of them in flight and hands each its response, answers the
// peer's requests through a handler (in the order they came), enquire_link and unbind itself,
// keeps the link alive, and answers a malformed PDU with generic_nack (or the operation's own
// response) without closing a healthy session. The upstream connector (provider/smpp) and the
// SMPP server for clients build on it; it knows nothing of Ibiki's messages.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
)

// Handler answers one request of the peer (deliver_sm, submit_sm, a bind on the server side...)
// with the status and body of its response (a nil body: the response's empty body). Requests
// are handed over one at a time, in the order they came, so a handler that commits before it
// answers keeps the peer's order; it should not take longer than the peer waits.
type Handler func(ctx context.Context, s *Session, p pdu.PDU) (pdu.Status, pdu.Body)

// Options configure a session; zero values take the defaults.
type Options struct {
	Window      int           // requests of ours in flight at once (10)
	Timeout     time.Duration // how long a request waits for its response (10 s)
	EnquireLink time.Duration // a keep-alive after this long without traffic from the peer (30 s; <0: none)
	MaxLen      int           // the longest PDU taken from the peer (pdu.MaxLen)
	Queue       int           // the peer's requests waiting for the handler (64)
	Handle      Handler       // nil: every request but enquire_link and unbind is answered ESME_RINVCMDID
	Log         *slog.Logger
}

// ErrClosed is what a request gets once the session ended.
var ErrClosed = errors.New("smpp: session closed")

// ErrNotSent is a request the session ended before writing: the peer never saw it. (It is
// also ErrClosed.)
var ErrNotSent = fmt.Errorf("%w before the request was written", ErrClosed)

// ErrTimeout is a request whose response did not come in time: the peer may have acted on it.
var ErrTimeout = errors.New("smpp: no response in time")

// Session is one SMPP session.
type Session struct {
	conn   net.Conn
	opt    Options
	window chan struct{}
	reqs   chan pdu.PDU
	seq    atomic.Uint32
	seen   atomic.Int64 // unix nanos of the peer's last PDU
	// unbinding: our unbind is under way, so the connection's end is the session's clean end.
	unbinding atomic.Bool

	wmu sync.Mutex // one PDU written at a time

	mu      sync.Mutex
	pending map[uint32]chan pdu.PDU
	err     error
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New starts a session on conn (bound or not: binding is a request like any other, see Bind).
func New(conn net.Conn, opt Options) *Session {
	if opt.Window <= 0 {
		opt.Window = 10
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.EnquireLink == 0 {
		opt.EnquireLink = 30 * time.Second
	}
	if opt.Queue <= 0 {
		opt.Queue = 64
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	s := &Session{conn: conn, opt: opt, window: make(chan struct{}, opt.Window), reqs: make(chan pdu.PDU, opt.Queue),
		pending: map[uint32]chan pdu.PDU{}, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.seen.Store(time.Now().UnixNano())
	s.wg.Add(2)
	go s.readLoop()
	go s.serveLoop()
	if opt.EnquireLink > 0 {
		s.wg.Add(1)
		go s.keepAlive()
	}
	return s
}

// Bind sends a bind and waits for its response: an error unless the peer took it.
func (s *Session) Bind(ctx context.Context, b *pdu.Bind) (*pdu.BindResp, error) {
	p, err := s.Request(ctx, b)
	if err != nil {
		return nil, err
	}
	r, _ := p.Body.(*pdu.BindResp)
	if p.Status != pdu.StatusOK {
		return r, &StatusError{Command: b.ID, Status: p.Status}
	}
	return r, nil
}

// StatusError is a response refusing a request.
type StatusError struct {
	Command pdu.CommandID
	Status  pdu.Status
}

func (e *StatusError) Error() string { return fmt.Sprintf("smpp: %s refused: %s", e.Command, e.Status) }

// Request sends a request once a place in the window is free and returns its response (whatever
// its status). ErrTimeout: no response within Options.Timeout; ErrClosed: the session ended
// (before the request was written, or while it waited).
func (s *Session) Request(ctx context.Context, b pdu.Body) (pdu.PDU, error) {
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return pdu.PDU{}, ctx.Err()
	case <-s.done:
		return pdu.PDU{}, ErrNotSent
	}
	defer func() { <-s.window }()
	seq := s.next()
	ch := make(chan pdu.PDU, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return pdu.PDU{}, ErrNotSent
	}
	s.pending[seq] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, seq)
		s.mu.Unlock()
	}()
	if err := s.write(pdu.StatusOK, seq, b); err != nil {
		return pdu.PDU{}, err
	}
	t := time.NewTimer(s.opt.Timeout)
	defer t.Stop()
	select {
	case p := <-ch:
		return p, nil
	case <-t.C:
		return pdu.PDU{}, ErrTimeout
	case <-ctx.Done():
		return pdu.PDU{}, ctx.Err()
	case <-s.done:
		return pdu.PDU{}, s.closedErr()
	}
}

// Unbind ends the session cleanly: unbind, its response (or the timeout), then the connection
// closes.
func (s *Session) Unbind(ctx context.Context) error {
	s.unbinding.Store(true) // the peer may close as soon as it answered: that is the clean end
	_, err := s.Request(ctx, &pdu.Empty{ID: pdu.Unbind})
	s.Close()
	return err
}

// Close closes the connection at once; requests waiting get ErrClosed. It waits for the
// session's goroutines, so a Handler must not call it (nor Unbind): it may return an error
// status and let the peer unbind, or call Abort.
func (s *Session) Close() {
	s.end(ErrClosed)
	s.wg.Wait()
}

// Abort closes the connection without waiting (from a Handler).
func (s *Session) Abort() { s.end(ErrClosed) }

// Done is closed when the session ended; Err says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session ended (nil while it runs): ErrClosed after Close or an unbind, else
// the connection's error.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Session) closedErr() error {
	if err := s.Err(); err != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return ErrClosed
}

func (s *Session) next() uint32 {
	for {
		n := s.seq.Add(1) & 0x7FFFFFFF // sequence numbers run 1 to 0x7FFFFFFF
		if n != 0 {
			return n
		}
	}
}

func (s *Session) end(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = err
	s.mu.Unlock()
	s.cancel()
	_ = s.conn.Close()
	close(s.done)
}

func (s *Session) write(status pdu.Status, seq uint32, b pdu.Body) error {
	raw, err := pdu.Marshal(status, seq, b)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.opt.Timeout))
	if _, err := s.conn.Write(raw); err != nil {
		s.end(err)
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return nil
}

// respond answers the request of header h.
func (s *Session) respond(h pdu.Header, status pdu.Status, b pdu.Body) {
	id := h.ID.Resp()
	if b == nil || b.Command() != id {
		b = emptyResp(id)
	}
	if err := s.write(status, h.Seq, b); err != nil {
		s.opt.Log.Debug("smpp: response not written", "command", id, "error", err)
	}
}

// emptyResp is the response id's body with nothing in it.
func emptyResp(id pdu.CommandID) pdu.Body {
	switch id {
	case pdu.BindReceiverResp, pdu.BindTransmitterResp, pdu.BindTransceiverResp:
		return &pdu.BindResp{ID: id}
	case pdu.SubmitSMResp, pdu.DeliverSMResp, pdu.DataSMResp:
		return &pdu.SMResp{ID: id}
	case pdu.SubmitMultiResp:
		return &pdu.MultiResp{}
	case pdu.QuerySMResp:
		return &pdu.QueryResp{}
	}
	return &pdu.Empty{ID: id}
}

func (s *Session) readLoop() {
	defer s.wg.Done()
	defer close(s.reqs)
	for {
		raw, err := pdu.Read(s.conn, s.opt.MaxLen)
		if err != nil {
			var pe *pdu.Error
			if errors.As(err, &pe) && !pe.Fatal {
				s.seen.Store(time.Now().UnixNano())
				s.refuse(pe)
				continue
			}
			if s.unbinding.Load() {
				err = ErrClosed
			}
			s.end(err)
			return
		}
		s.seen.Store(time.Now().UnixNano())
		p, err := pdu.Decode(raw)
		if err != nil {
			var pe *pdu.Error
			if errors.As(err, &pe) {
				s.refuse(pe)
				continue
			}
			s.end(err)
			return
		}
		if p.ID.IsResponse() {
			s.mu.Lock()
			ch := s.pending[p.Seq]
			s.mu.Unlock()
			if ch == nil {
				s.opt.Log.Debug("smpp: response to no request of ours", "command", p.ID, "seq", p.Seq)
				continue
			}
			select {
			case ch <- p:
			default: // a second response to one request
			}
			continue
		}
		switch p.ID {
		case pdu.EnquireLink:
			s.respond(p.Header, pdu.StatusOK, nil)
			continue
		case pdu.Unbind:
			s.respond(p.Header, pdu.StatusOK, nil)
			s.end(ErrClosed)
			return
		}
		select {
		case s.reqs <- p:
		case <-s.done:
			return
		}
	}
}

// refuse answers a PDU that could not be taken: with its operation's response when it was a
// request whose command is known, else generic_nack (section 3.3); a response that could not
// be read is dropped (a response is never answered).
func (s *Session) refuse(e *pdu.Error) {
	s.opt.Log.Warn("smpp: malformed PDU refused", "error", e)
	h := e.Header
	if h.ID.IsResponse() {
		if h.ID == pdu.GenericNack {
			return
		}
		// A broken response still settles its request: hand over its header and status.
		s.mu.Lock()
		ch := s.pending[h.Seq]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- pdu.PDU{Header: h, Body: emptyResp(h.ID)}:
			default:
			}
		}
		return
	}
	id := h.ID.Resp()
	if e.Status == pdu.StatusInvalidCmdID || e.Status == pdu.StatusInvalidCmdLen {
		id = pdu.GenericNack
	}
	if err := s.write(e.Status, h.Seq, emptyResp(id)); err != nil {
		s.opt.Log.Debug("smpp: refusal not written", "error", err)
	}
}

func (s *Session) serveLoop() {
	defer s.wg.Done()
	for p := range s.reqs {
		if s.opt.Handle == nil {
			s.respond(p.Header, pdu.StatusInvalidCmdID, nil)
			continue
		}
		status, body := s.opt.Handle(s.ctx, s, p)
		s.respond(p.Header, status, body)
	}
}

func (s *Session) keepAlive() {
	defer s.wg.Done()
	t := time.NewTicker(s.opt.EnquireLink / 2)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.seen.Load())) < s.opt.EnquireLink {
			continue
		}
		p, err := s.Request(s.ctx, &pdu.Empty{ID: pdu.EnquireLink})
		if err != nil || p.ID != pdu.EnquireLinkResp {
			s.opt.Log.Warn("smpp: the peer did not answer enquire_link; closing", "error", err)
			s.end(fmt.Errorf("smpp: enquire_link unanswered: %v", err))
			return
		}
	}
}
