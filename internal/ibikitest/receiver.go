package ibikitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one request a Receiver got.
type Received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// Receiver is a fake client webhook: it records every request and answers with the statuses
// queued by Answer (then 200).
type Receiver struct {
	URL     string
	mu      sync.Mutex
	got     []Received
	answers []int
	arrived chan struct{}
}

// NewReceiver starts a receiver that stops when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, Received{Header: req.Header.Clone(), Body: body, At: time.Now()})
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		select {
		case r.arrived <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

// Answer queues statuses for the next requests.
func (r *Receiver) Answer(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, statuses...)
}

// Requests returns what was received so far.
func (r *Receiver) Requests() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.got...)
}

// WaitFor waits until at least n requests arrived and returns them; it fails the test after
// 15 seconds.
func (r *Receiver) WaitFor(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if got := r.Requests(); len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d", len(r.Requests()), n)
		}
	}
}
