package session_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
	"github.com/ibiki/ibiki/internal/smpp/smpptest"
)

func dialSim(t *testing.T, sim *smpptest.Sim, opt session.Options) *session.Session {
	t.Helper()
	c, err := net.DialTimeout("tcp", sim.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := session.New(c, opt)
	t.Cleanup(s.Close)
	if _, err := s.Bind(t.Context(), &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "ibiki", Password: "pw", InterfaceVersion: 0x34}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Against node-smpp's SMSC: 300 submits from 30 goroutines through a window of 10 each get their
// own message id, every receipt reaches the handler and is matched to one of them, and an
// unbind ends the session cleanly. The queue is the connector's (1,024): node-smpp's simulator
// never resends a receipt answered ESME_RX_T_APPN, and on a loaded machine (CI runs packages
// side by side under -race) the default 64 overflowed and lost receipts.
func TestAWindowOfSubmitsAgainstNodeSMPP(t *testing.T) {
	sim := smpptest.StartSim(t, "DLR_DELAY_MS=20")
	var (
		mu       sync.Mutex
		receipts = map[string]int{}
	)
	s := dialSim(t, sim, session.Options{Window: 10, Queue: 1024, Handle: func(_ context.Context, _ *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
		sm, ok := p.Body.(*pdu.SM)
		if !ok || !sm.IsReceipt() {
			return pdu.StatusSystemError, nil
		}
		r, err := pdu.ParseReceipt(sm)
		if err != nil {
			return pdu.StatusSystemError, nil
		}
		mu.Lock()
		receipts[r.ID]++
		mu.Unlock()
		return pdu.StatusOK, nil
	}})
	const n = 300
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for w := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 30 {
				p, err := s.Request(t.Context(), &pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{Addr: "4670"},
					Dest: pdu.Address{TON: 1, NPI: 1, Addr: fmt.Sprintf("467%04d%04d", w, i)}, RegisteredDelivery: 1,
					ShortMessage: []byte("load")})
				if err != nil || p.Status != pdu.StatusOK {
					t.Errorf("submit: %v %v", p.Status, err)
					return
				}
				ids <- p.Body.(*pdu.SMResp).MessageID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("message id %s given twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("%d ids, want %d", len(seen), n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(receipts)
		mu.Unlock()
		if got == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	for id, k := range receipts {
		if !seen[id] || k != 1 {
			t.Errorf("receipt for %s seen %d times (submitted: %v)", id, k, seen[id])
		}
	}
	if len(receipts) != n {
		t.Errorf("%d receipts, want %d", len(receipts), n)
	}
	mu.Unlock()
	if err := s.Unbind(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(s.Err(), session.ErrClosed) {
		t.Fatalf("after unbind: %v", s.Err())
	}
	if _, err := s.Request(t.Context(), &pdu.Empty{ID: pdu.EnquireLink}); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("request after unbind: %v", err)
	}
}

// A killed SMSC ends the session: waiting requests hear ErrClosed, Done closes with the cause.
func TestTheSessionEndsWhenTheSMSCDies(t *testing.T) {
	sim := smpptest.StartSim(t)
	s := dialSim(t, sim, session.Options{})
	sim.Stop()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not notice its SMSC died")
	}
	if errors.Is(s.Err(), session.ErrClosed) || s.Err() == nil {
		t.Fatalf("cause = %v, want the connection's error", s.Err())
	}
	if _, err := s.Request(context.Background(), &pdu.Empty{ID: pdu.EnquireLink}); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("request on a dead session: %v", err)
	}
}

// rawPeer is the other end of a pipe, writing octets as given.
type rawPeer struct {
	t *testing.T
	c net.Conn
}

func (r rawPeer) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r rawPeer) read() pdu.PDU {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := pdu.Read(r.c, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	p, err := pdu.Decode(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// Malformed PDUs are answered and the session lives on: an unknown command gets generic_nack,
// a submit_sm with a broken body its own response with the status, one over the length limit
// generic_nack; enquire_link is still answered after them, and requests go to the handler.
func TestMalformedPDUsDoNotCloseTheSession(t *testing.T) {
	a, b := net.Pipe()
	handled := make(chan pdu.PDU, 1)
	s := session.New(a, session.Options{MaxLen: 1000, Handle: func(_ context.Context, _ *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
		handled <- p
		return pdu.StatusOK, &pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: "m1"}
	}})
	defer s.Close()
	peer := rawPeer{t, b}
	peer.write([]byte{0, 0, 0, 16, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 5})
	if r := peer.read(); r.ID != pdu.GenericNack || r.Status != pdu.StatusInvalidCmdID || r.Seq != 5 {
		t.Fatalf("unknown command: %+v", r.Header)
	}
	// submit_sm whose source_addr runs without its NUL to the end.
	bad := append([]byte{0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1, 1}, []byte("12345678901234567890123456")...)
	bad[3] = byte(len(bad))
	peer.write(bad)
	if r := peer.read(); r.ID != pdu.SubmitSMResp || r.Status != pdu.StatusInvalidSourceAddr || r.Seq != 6 || r.Length != pdu.HeaderLen {
		t.Fatalf("broken submit_sm: %+v", r.Header)
	}
	huge := make([]byte, 2000)
	copy(huge, []byte{0, 0, 0x07, 0xD0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 7})
	peer.write(huge)
	if r := peer.read(); r.ID != pdu.GenericNack || r.Status != pdu.StatusInvalidCmdLen || r.Seq != 7 {
		t.Fatalf("over the limit: %+v", r.Header)
	}
	link, _ := pdu.Marshal(0, 8, &pdu.Empty{ID: pdu.EnquireLink})
	peer.write(link)
	if r := peer.read(); r.ID != pdu.EnquireLinkResp || r.Seq != 8 {
		t.Fatalf("enquire_link: %+v", r.Header)
	}
	submit, _ := pdu.Marshal(0, 9, &pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{Addr: "1"}, ShortMessage: []byte("x")})
	peer.write(submit)
	if r := peer.read(); r.ID != pdu.SubmitSMResp || r.Status != pdu.StatusOK || r.Seq != 9 || r.Body.(*pdu.SMResp).MessageID != "m1" {
		t.Fatalf("submit_sm: %+v %+v", r.Header, r.Body)
	}
	if p := <-handled; p.Seq != 9 {
		t.Fatalf("handled %+v", p.Header)
	}
	select {
	case <-s.Done():
		t.Fatalf("the session ended: %v", s.Err())
	default:
	}
	// A length under the header's loses the framing: the session ends.
	peer.write([]byte{0, 0, 0, 4})
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a lost framing did not end the session")
	}
}

// A peer that stops answering is found by enquire_link and the session ends.
func TestASilentPeerIsFoundByEnquireLink(t *testing.T) {
	a, b := net.Pipe()
	go func() { // read and never answer
		buf := make([]byte, 1024)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
		}
	}()
	s := session.New(a, session.Options{EnquireLink: 100 * time.Millisecond, Timeout: 200 * time.Millisecond})
	defer s.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a silent peer was not noticed")
	}
	b.Close()
}

// BenchmarkSubmitsToNodeSMPP: submit_sm through 4 binds with a window of 10 each, against
// node-smpp's SMSC (no receipts asked), as the throughput figure is taken; ns/op is one
// submit, and submits/s is reported.
func BenchmarkSubmitsToNodeSMPP(b *testing.B) {
	sim := smpptest.StartSim(b, "QUIET=1")
	var sessions []*session.Session
	for range 4 {
		c, err := net.Dial("tcp", sim.Addr)
		if err != nil {
			b.Fatal(err)
		}
		s := session.New(c, session.Options{Window: 10})
		defer s.Close()
		if _, err := s.Bind(context.Background(), &pdu.Bind{ID: pdu.BindTransmitter, SystemID: "ibiki", InterfaceVersion: 0x34}); err != nil {
			b.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	sm := &pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{TON: 1, NPI: 1, Addr: "46700000001"},
		Dest: pdu.Address{TON: 1, NPI: 1, Addr: "46700000002"}, ShortMessage: []byte("a benchmark message of some length")}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	for _, s := range sessions {
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					if p, err := s.Request(context.Background(), sm); err != nil || p.Status != pdu.StatusOK {
						b.Errorf("submit: %v %v", p.Status, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "submits/s")
}

// A peer that reads and never answers: the request times out and, the peer having sent
// nothing since it was written, the session ends (a half-open link); a request waiting for the
// window when its context ends was never written (ErrNotSent).
func TestAHalfOpenLinkEndsTheSession(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		buf := make([]byte, 1024)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
		}
	}()
	defer b.Close()
	s := session.New(a, session.Options{Window: 1, Timeout: 300 * time.Millisecond, EnquireLink: -1})
	defer s.Close()
	first := make(chan error, 1)
	go func() {
		_, err := s.Request(context.Background(), &pdu.Empty{ID: pdu.EnquireLink})
		first <- err
	}()
	time.Sleep(50 * time.Millisecond) // the first holds the window's one place
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Request(ctx, &pdu.Empty{ID: pdu.EnquireLink}); !errors.Is(err, session.ErrNotSent) {
		t.Fatalf("waiting for the window: %v, want ErrNotSent", err)
	}
	if err := <-first; !errors.Is(err, session.ErrTimeout) {
		t.Fatalf("first: %v, want ErrTimeout", err)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the session outlived a half-open link")
	}
	if _, err := s.Request(context.Background(), &pdu.Empty{ID: pdu.EnquireLink}); !errors.Is(err, session.ErrNotSent) {
		t.Fatalf("after the end: %v, want ErrNotSent", err)
	}
}

// A handler that panics answers ESME_RSYSERR; a handler too far behind gets requests answered
// ESME_RX_T_APPN at once; the session reads on and lives.
func TestAHandlerInTroubleDoesNotStopTheSession(t *testing.T) {
	a, b := net.Pipe()
	release := make(chan struct{})
	s := session.New(a, session.Options{Queue: 1, EnquireLink: -1, Handle: func(_ context.Context, _ *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
		sm := p.Body.(*pdu.SM)
		switch string(sm.ShortMessage) {
		case "panic":
			panic("boom")
		case "block":
			<-release
		}
		return pdu.StatusOK, nil
	}})
	defer s.Close()
	peer := rawPeer{t, b}
	submit := func(seq uint32, text string) {
		raw, _ := pdu.Marshal(0, seq, &pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{Addr: "1"}, ShortMessage: []byte(text)})
		peer.write(raw)
	}
	submit(1, "panic")
	if r := peer.read(); r.Seq != 1 || r.Status != pdu.StatusSystemError {
		t.Fatalf("after a panic: %+v", r.Header)
	}
	submit(2, "block") // taken by the handler, which blocks
	time.Sleep(50 * time.Millisecond)
	submit(3, "queued") // waits in the queue of 1
	submit(4, "over")   // the queue is full: answered at once
	if r := peer.read(); r.Seq != 4 || r.Status != pdu.StatusTempAppError {
		t.Fatalf("over the queue: %+v", r.Header)
	}
	close(release)
	for _, want := range []uint32{2, 3} {
		if r := peer.read(); r.Seq != want || r.Status != pdu.StatusOK {
			t.Fatalf("want %d answered OK, got %+v", want, r.Header)
		}
	}
}
