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

// shortConn takes limit bytes, then fails.
type shortConn struct {
	net.Conn
	mu    sync.Mutex
	limit int
}

func (c *shortConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(b), c.limit)
	c.limit -= n
	if n < len(b) {
		return n, errors.New("broken pipe")
	}
	return n, nil
}

func (c *shortConn) SetWriteDeadline(time.Time) error { return nil }

// A write that fails part way: what went out is reported written, the PDU cut in two is sent
// but failed (in doubt), and what never left is not sent, as are the writes after.
func TestTheOutboxSaysWhatLeftWhenAWriteFails(t *testing.T) {
	c := &shortConn{limit: 10}
	var o outbox
	o.init()
	if sent, err := o.write(c, time.Second, make([]byte, 6)); err != nil || !sent {
		t.Fatalf("first: sent %v, %v", sent, err)
	}
	// Two PDUs in one write: the first fits in what is left (4 bytes), the second does not.
	o.mu.Lock()
	o.pending = append(o.pending, make([]byte, 4)...)
	o.appended += 4
	o.mu.Unlock()
	if sent, err := o.write(c, time.Second, make([]byte, 6)); err == nil || sent {
		t.Fatalf("the PDU that did not leave: sent %v, %v", sent, err)
	}
	if o.written != 10 {
		t.Fatalf("written %d, want 10", o.written)
	}
	if sent, err := o.write(c, time.Second, make([]byte, 1)); err == nil || sent {
		t.Fatalf("after the failure: sent %v, %v", sent, err)
	}
	c2 := &shortConn{limit: 3}
	var o2 outbox
	o2.init()
	if sent, err := o2.write(c2, time.Second, make([]byte, 6)); err == nil || !sent {
		t.Fatalf("a PDU cut in two: sent %v, %v", sent, err)
	}
}
