package queue

import "sync"

// Handoff carries a value from the code that enqueues a job to the job's handler in the same
// process, so that the handler need not read back a row that was just written. It is only a
// shortcut: a handler that finds nothing (another instance, a retry, a restart) reads the
// store, and values are taken once. It holds at most max values, forgetting all beyond that.
type Handoff[T any] struct {
	mu  sync.Mutex
	m   map[string]T
	max int
}

// NewHandoff returns a handoff holding at most max values.
func NewHandoff[T any](max int) *Handoff[T] { return &Handoff[T]{m: map[string]T{}, max: max} }

// Put leaves v for the handler of key.
func (h *Handoff[T]) Put(key string, v T) {
	h.mu.Lock()
	if len(h.m) >= h.max {
		clear(h.m) // nobody is taking them: the handlers are far behind or elsewhere
	}
	h.m[key] = v
	h.mu.Unlock()
}

// Take removes and returns the value left for key.
func (h *Handoff[T]) Take(key string) (T, bool) {
	h.mu.Lock()
	v, ok := h.m[key]
	delete(h.m, key)
	h.mu.Unlock()
	return v, ok
}
