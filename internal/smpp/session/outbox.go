package session

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// outbox writes PDUs to the connection, several in one system call when several are waiting:
// a writer appends its PDU and, when no write is under way, yields once (the answers of one
// commit are written by several goroutines woken together: the yield lets theirs join), then
// writes everything waiting; the others wait for the write that carried their bytes. The yield
// cut the SMPP bench's writes enough to give 1.06× the messages/s (BENCHMARKS.md). Each caller
// still returns only once its own bytes were written (or the write failed), so what a return
// says is unchanged from one write per PDU: nil is written, and a failure says whether any of
// the PDU's bytes left.
type outbox struct {
	mu       sync.Mutex
	cond     sync.Cond
	pending  []byte // appended, not yet handed to a write
	spare    []byte // the other buffer, reused
	appended uint64 // bytes appended since the session began
	written  uint64 // bytes written since the session began
	writing  bool   // a caller is writing (without the lock)
	err      error  // the write that failed; nothing is written after it
}

func (o *outbox) init() { o.cond.L = &o.mu }

// write writes raw to conn with the deadline timeout. sent reports whether any of raw's bytes
// were written when err is not nil.
func (o *outbox) write(conn net.Conn, timeout time.Duration, raw []byte) (sent bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return false, o.err
	}
	start := o.appended
	o.pending = append(o.pending, raw...)
	o.appended += uint64(len(raw))
	end := o.appended
	yielded := false
	for {
		switch {
		case o.written >= end:
			return true, nil
		case o.err != nil:
			return o.written > start, o.err
		case !o.writing:
			if !yielded {
				yielded = true
				o.mu.Unlock()
				runtime.Gosched()
				o.mu.Lock()
				continue
			}
			o.flush(conn, timeout)
			continue
		}
		o.cond.Wait()
	}
}

// flush writes what is pending, without the lock held during the write; o.mu is held on entry
// and on return.
func (o *outbox) flush(conn net.Conn, timeout time.Duration) {
	buf := o.pending
	o.pending, o.spare = o.spare[:0], nil
	o.writing = true
	o.mu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	n, err := conn.Write(buf)
	o.mu.Lock()
	o.writing = false
	o.written += uint64(n)
	if err != nil {
		o.err = err
	}
	if cap(buf) <= 64<<10 { // keep a buffer of a usual size, not one a burst grew
		o.spare = buf[:0]
	}
	o.cond.Broadcast()
}
