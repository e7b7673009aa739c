package session

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Many writers at once: every record arrives whole, once, each writer's records in its order.
func TestTheOutboxKeepsEveryWriteWhole(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const writers, each = 40, 250
	got := make(chan map[uint32][]uint32, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		seen := map[uint32][]uint32{}
		for range writers * each {
			var rec [12]byte // length 12, writer, index
			if _, err := io.ReadFull(r, rec[:]); err != nil || binary.BigEndian.Uint32(rec[:4]) != 12 {
				break
			}
			w := binary.BigEndian.Uint32(rec[4:])
			seen[w] = append(seen[w], binary.BigEndian.Uint32(rec[8:]))
		}
		got <- seen
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var o outbox
	o.init()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				var rec [12]byte
				binary.BigEndian.PutUint32(rec[:], 12)
				binary.BigEndian.PutUint32(rec[4:], uint32(w))
				binary.BigEndian.PutUint32(rec[8:], uint32(i))
				if _, err := o.write(c, 5*time.Second, rec[:]); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	_ = c.Close() // a record lost would leave the reader waiting: it sees the end instead
	seen := <-got
	if len(seen) != writers {
		t.Fatalf("records of %d writers, want %d", len(seen), writers)
	}
	for w, idx := range seen {
		if len(idx) != each {
			t.Fatalf("writer %d: %d records, want %d", w, len(idx), each)
		}
		for i, v := range idx {
			if v != uint32(i) {
				t.Fatalf("writer %d: record %d is %d", w, i, v)
			}
		}
	}
}

// gatedConn holds its first write until gate closes, then takes limit bytes in all and fails.
type gatedConn struct {
	net.Conn
	gate  chan struct{}
	mu    sync.Mutex
	limit int
}

func (c *gatedConn) Write(b []byte) (int, error) {
	<-c.gate
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(b), c.limit)
	c.limit -= n
	if n < len(b) {
		return n, errors.New("broken pipe")
	}
	return n, nil
}

func (c *gatedConn) SetWriteDeadline(time.Time) error { return nil }

// A write that fails part way, with callers waiting: A's write goes whole; B and C queue behind
// it and go out together, and that write stops inside C. B's PDU left whole (written), C's was
// cut (sent, failed: in doubt), and D, after the failure, sent nothing.
func TestTheOutboxSaysWhatLeftWhenAWriteFails(t *testing.T) {
	c := &gatedConn{gate: make(chan struct{}), limit: 6 + 6 + 2}
	var o outbox
	o.init()
	type result struct {
		sent bool
		err  error
	}
	write := func(n int) chan result {
		ch := make(chan result, 1)
		go func() {
			sent, err := o.write(c, time.Second, make([]byte, n))
			ch <- result{sent, err}
		}()
		return ch
	}
	waitAppended := func(n uint64) {
		for deadline := time.Now().Add(5 * time.Second); ; {
			o.mu.Lock()
			got := o.appended
			o.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("appended %d, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	a := write(6)
	waitAppended(6)
	b := write(6)
	waitAppended(12)
	cc := write(6)
	waitAppended(18)
	close(c.gate)
	if r := <-a; r.err != nil || !r.sent {
		t.Fatalf("A: %+v", r)
	}
	if r := <-b; r.err != nil || !r.sent {
		t.Fatalf("B (whole in the failed write): %+v", r)
	}
	if r := <-cc; r.err == nil || !r.sent {
		t.Fatalf("C (cut by the failure): %+v", r)
	}
	if r := <-write(1); r.err == nil || r.sent {
		t.Fatalf("D (after the failure): %+v", r)
	}
	if o.written != 14 {
		t.Fatalf("written %d, want 14", o.written)
	}
}
