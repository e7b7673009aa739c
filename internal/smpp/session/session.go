// Package session runs one SMPP session over a connection, for either side: it numbers and
// sends requests with a window of them in flight and hands each its response, answers the
// peer's requests through a handler (in the order they came), enquire_link and unbind itself,
// keeps the link alive, and answers a malformed PDU with generic_nack (or the operation's own
// response) without closing a healthy session. The upstream connector (provider/smpp) and the
// SMPP server for clients build on it; it knows nothing of Ibiki's messages.
package session

import (
	"bufio"
	"context"
	"encoding/binary"
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
	// Handlers is how many requests of the peer are handled at once (1: one at a time, in
	// order). More answer out of order, as SMPP allows (responses carry their request's seq).
	Handlers int
	// Ordered picks the requests that are handled one at a time in the order they came,
	// whatever Handlers says (mobile-originated messages beside receipts); nil: none.
	Ordered func(pdu.PDU) bool
	Log     *slog.Logger
}

// ErrClosed is what a request gets once the session ended.
var ErrClosed = errors.New("smpp: session closed")

// ErrNotSent is a request the session ended before writing: the peer never saw it. (It is
// also ErrClosed.)
var ErrNotSent = fmt.Errorf("%w before the request was written", ErrClosed)

// ErrUnencodable is a request that could not be encoded (a field too long...): it was not sent,
// and would not be another time.
var ErrUnencodable = errors.New("smpp: the request cannot be encoded")

// ErrTimeout is a request whose response did not come in time: the peer may have acted on it.
var ErrTimeout = errors.New("smpp: no response in time")

// Session is one SMPP session.
type Session struct {
	conn    net.Conn
	opt     Options
	window  chan struct{}
	reqs    chan pdu.PDU
	ordered chan pdu.PDU // requests Options.Ordered picks
	busy    atomic.Int64 // the peer's requests queued or being handled
	seq     atomic.Uint32
	seen    atomic.Int64 // unix nanos of the peer's last PDU
	// closing: our Unbind is under way: no new requests, and the connection's end is the
	// session's clean end (the peer may close as soon as it answered).
	closing atomic.Bool

	out outbox // PDUs written, several to a system call when several wait

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
	opt.Handlers = max(opt.Handlers, 1)
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	s := &Session{conn: conn, opt: opt, window: make(chan struct{}, opt.Window), reqs: make(chan pdu.PDU, opt.Queue),
		ordered: make(chan pdu.PDU, opt.Queue), pending: map[uint32]chan pdu.PDU{}, done: make(chan struct{})}
	s.out.init()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.seen.Store(time.Now().UnixNano())
	s.wg.Add(2 + opt.Handlers)
	go s.readLoop()
	for range opt.Handlers {
		go s.serveLoop(s.reqs)
	}
	go s.serveLoop(s.ordered)
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
// its status). Errors say whether the peer may have seen the request: ErrNotSent (also
// ErrClosed) when it was never written (the session ended or is unbinding, ctx ended while it
// waited for the window, or it could not be encoded: ErrUnencodable); once written, only its
// response, ErrTimeout or the session's end (ErrClosed) settle it, whatever ctx does.
func (s *Session) Request(ctx context.Context, b pdu.Body) (pdu.PDU, error) {
	if s.closing.Load() {
		return pdu.PDU{}, ErrNotSent
	}
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return pdu.PDU{}, fmt.Errorf("%w: %w", ErrNotSent, ctx.Err())
	case <-s.done:
		return pdu.PDU{}, ErrNotSent
	}
	defer func() { <-s.window }()
	return s.request(b)
}

// request writes a request and waits for its response (see Request); the caller holds a place
// in the window, or needs none (keep-alives and unbind).
func (s *Session) request(b pdu.Body) (pdu.PDU, error) {
	raw, err := pdu.Marshal(pdu.StatusOK, 0, b)
	if err != nil {
		return pdu.PDU{}, fmt.Errorf("%w: %w: %v", ErrNotSent, ErrUnencodable, err)
	}
	seq := s.next()
	binary.BigEndian.PutUint32(raw[12:], seq)
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
	written := time.Now()
	if err := s.writeRaw(raw); err != nil {
		return pdu.PDU{}, err
	}
	t := time.NewTimer(s.opt.Timeout)
	defer t.Stop()
	select {
	case p := <-ch:
		return p, nil
	case <-t.C:
	case <-s.done:
	}
	select { // a response that came at the same moment wins
	case p := <-ch:
		return p, nil
	default:
	}
	if s.Err() != nil {
		return pdu.PDU{}, s.closedErr()
	}
	if time.Unix(0, s.seen.Load()).Before(written) {
		// Nothing at all from the peer since this request left: the link is presumed dead
		// (half open), and every request behind this one would wait as long for nothing.
		s.opt.Log.Warn("smpp: no response and no traffic from the peer; closing", "command", b.Command())
		s.end(ErrTimeout)
	}
	return pdu.PDU{}, ErrTimeout
}

// Unbind ends the session cleanly: new requests are refused (ours ErrNotSent, the peer's
// ESME_RX_T_APPN), ours in flight get their responses and the peer's in hand are answered (up
// to the timeout), then unbind, its response, and the connection closes.
func (s *Session) Unbind(ctx context.Context) error {
	s.closing.Store(true)
	drained := 0
	t := time.NewTimer(s.opt.Timeout)
	defer t.Stop()
drain:
	for drained < cap(s.window) {
		select {
		case s.window <- struct{}{}:
			drained++
		case <-t.C:
			break drain
		case <-ctx.Done():
			break drain
		case <-s.done:
			break drain
		}
	}
	defer func() {
		for range drained {
			<-s.window
		}
	}()
	// The peer's requests in hand are answered before the unbind: a peer that saw the unbind
	// and left would never hear of a message its submit had committed.
	for deadline := time.Now().Add(s.opt.Timeout); s.busy.Load() > 0 && s.Err() == nil && ctx.Err() == nil; {
		if time.Now().After(deadline) {
			s.opt.Log.Warn("smpp: unbinding with the peer's requests still unanswered", "requests", s.busy.Load())
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := s.request(&pdu.Empty{ID: pdu.Unbind})
	s.Close()
	return err
}

// Close closes the connection at once; requests waiting get ErrClosed. It waits for the
// session's goroutines, so a Handler must not call it (nor Unbind): it may return an error
// status and let the peer unbind.
func (s *Session) Close() {
	s.end(ErrClosed)
	s.wg.Wait()
}

// Quiet is how long the peer has sent nothing at all (no request, response or keep-alive).
func (s *Session) Quiet() time.Duration { return time.Since(time.Unix(0, s.seen.Load())) }

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
		return fmt.Errorf("%w: %w: %v", ErrNotSent, ErrUnencodable, err)
	}
	return s.writeRaw(raw)
}

// writeRaw writes one PDU; a failure ends the session. Nothing of it written is ErrNotSent.
func (s *Session) writeRaw(raw []byte) error {
	if sent, err := s.out.write(s.conn, s.opt.Timeout, raw); err != nil {
		s.end(err)
		if !sent {
			return fmt.Errorf("%w: %v", ErrNotSent, err)
		}
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return nil
}

// respond answers the request of header h.
func (s *Session) respond(h pdu.Header, status pdu.Status, b pdu.Body) {
	id := h.ID.Resp()
	switch {
	case status != pdu.StatusOK:
		// A response refusing its request has no body (SMPP 3.4, 4.4.2 and others).
		b = &pdu.Empty{ID: id}
	case b == nil || b.Command() != id:
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
	defer close(s.ordered)
	defer close(s.reqs)
	// Buffered: a PDU is three reads (length, header, body), and several often arrive together.
	r := bufio.NewReaderSize(s.conn, 16<<10)
	for {
		raw, err := pdu.Read(r, s.opt.MaxLen)
		if err != nil {
			var pe *pdu.Error
			if errors.As(err, &pe) && !pe.Fatal {
				s.seen.Store(time.Now().UnixNano())
				s.refuse(pe)
				continue
			}
			if s.closing.Load() {
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
		case pdu.AlertNotification, pdu.Outbind:
			continue // no response exists for them
		}
		// Counted before the look at closing (Unbind sets closing, then waits for busy to fall
		// to zero): either Unbind waits for this request, or this request is refused.
		s.busy.Add(1)
		if s.closing.Load() { // unbinding: nothing new is taken
			s.busy.Add(-1)
			s.respond(p.Header, pdu.StatusTempAppError, nil)
			continue
		}
		queue := s.reqs
		if s.opt.Ordered != nil && s.opt.Ordered(p) {
			queue = s.ordered
		}
		select {
		case queue <- p:
		default:
			// The handler is behind: answer "try again later" rather than stop reading (the
			// responses to our own requests would wait behind it).
			s.busy.Add(-1)
			s.respond(p.Header, pdu.StatusTempAppError, nil)
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
	if err := s.write(e.Status, h.Seq, &pdu.Empty{ID: id}); err != nil { // a refusal has no body
		s.opt.Log.Debug("smpp: refusal not written", "error", err)
	}
}

func (s *Session) serveLoop(reqs <-chan pdu.PDU) {
	defer s.wg.Done()
	for p := range reqs {
		if s.opt.Handle == nil {
			s.respond(p.Header, pdu.StatusInvalidCmdID, nil)
		} else {
			status, body := s.handle(p)
			s.respond(p.Header, status, body)
		}
		s.busy.Add(-1)
	}
}

// handle runs the handler; a panic in it answers ESME_RSYSERR instead of ending the process.
func (s *Session) handle(p pdu.PDU) (status pdu.Status, body pdu.Body) {
	defer func() {
		if r := recover(); r != nil {
			s.opt.Log.Error("smpp: handler panicked", "command", p.ID, "panic", r)
			status, body = pdu.StatusSystemError, nil
		}
	}()
	return s.opt.Handle(s.ctx, s, p)
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
		p, err := s.request(&pdu.Empty{ID: pdu.EnquireLink}) // outside the window: it tests the link
		if err != nil || p.ID != pdu.EnquireLinkResp {
			s.opt.Log.Warn("smpp: the peer did not answer enquire_link; closing", "error", err)
			s.end(fmt.Errorf("smpp: enquire_link unanswered: %v", err))
			return
		}
	}
}
