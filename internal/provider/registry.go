package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Registry holds the configured adapters by name: the ones that send and the ones that only
// take inbound messages alike. Each adapter's interfaces are looked up once, when it is added.
type Registry struct {
	entries map[string]*entry
	order   []string // every name, in the order added
	senders []string // the names of the adapters that send, in the order added
	def     string
}

type entry struct {
	typ     string
	adapter Adapter
	sender  Sender // nil when the adapter does not send
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{entries: map[string]*entry{}}
}

// Add registers an adapter under a name and its type ("twilio"). The first adapter that sends
// is the default until SetDefault. A name is added once.
func (r *Registry) Add(name, typ string, a Adapter) error {
	if _, dup := r.entries[name]; dup {
		return fmt.Errorf("provider %q is listed twice", name)
	}
	e := &entry{typ: typ, adapter: a}
	e.sender, _ = a.(Sender)
	r.entries[name] = e
	r.order = append(r.order, name)
	if e.sender != nil {
		r.senders = append(r.senders, name)
		if r.def == "" {
			r.def = name
		}
	}
	return nil
}

// SetDefault names the default provider; it must have been added, and send.
func (r *Registry) SetDefault(name string) error {
	e, ok := r.entries[name]
	switch {
	case !ok:
		return fmt.Errorf("provider %q is not configured", name)
	case e.sender == nil:
		return fmt.Errorf("provider %q does not send", name)
	}
	r.def = name
	return nil
}

// Default returns the default provider's name ("" when none sends).
func (r *Registry) Default() string { return r.def }

// Get returns a provider that sends, by name ("" is the default).
func (r *Registry) Get(name string) (Sender, bool) {
	if name == "" {
		name = r.def
	}
	if e, ok := r.entries[name]; ok && e.sender != nil {
		return e.sender, true
	}
	return nil, false
}

// Names lists the providers that send, in the order they were added: the ones numbers and
// messages may name, and the ones the operator's provider pages show.
func (r *Registry) Names() []string { return append([]string(nil), r.senders...) }

// Type returns the adapter type of a provider ("simulator", "twilio"...), "" when unknown.
func (r *Registry) Type(name string) string {
	if e, ok := r.entries[name]; ok {
		return e.typ
	}
	return ""
}

// Adapter returns any configured adapter by name.
func (r *Registry) Adapter(name string) (Adapter, bool) {
	e, ok := r.entries[name]
	if !ok {
		return nil, false
	}
	return e.adapter, true
}

// All yields every adapter with its name, in the order added.
func (r *Registry) All() iter.Seq2[string, Adapter] {
	return func(yield func(string, Adapter) bool) {
		for _, name := range r.order {
			if !yield(name, r.entries[name].adapter) {
				return
			}
		}
	}
}

// Injector returns the first adapter that can inject a contact's message on demand (the
// simulator), and whether there is one.
func (r *Registry) Injector() (Injector, bool) {
	for _, a := range r.All() {
		if inj, ok := a.(Injector); ok {
			return inj, true
		}
	}
	return nil, false
}

// Starter is implemented by adapters that keep connections of their own (the SMPP connector's
// binds): Start opens them when the server's background work starts, and they run until the
// adapter's Close.
type Starter interface {
	Start(ctx context.Context)
}

// Start starts every adapter that keeps connections of its own (Starter).
func (r *Registry) Start(ctx context.Context) {
	for _, a := range r.All() {
		if s, ok := a.(Starter); ok {
			s.Start(ctx)
		}
	}
}

// Close closes every adapter that holds something open (io.Closer), such as the simulator's
// pending delivery reports, when the server stops.
func (r *Registry) Close() error {
	var errs []error
	for name, a := range r.All() {
		if c, ok := a.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("provider %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}
