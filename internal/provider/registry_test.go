package provider_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ibiki/ibiki/internal/provider"
)

// sender sends; source only takes inbound messages; closer remembers being closed.
type (
	sender struct{}
	source struct{}
	closer struct {
		sender
		closed bool
		err    error
	}
	injector struct{ source }
)

func (sender) Send(context.Context, provider.Outbound) (provider.SendResult, error) {
	return provider.SendResult{}, nil
}
func (sender) Capabilities() provider.Capabilities { return provider.Capabilities{} }
func (source) ParseInbound(provider.Request) ([]provider.Inbound, provider.Answer, error) {
	return nil, provider.Answer{}, nil
}
func (c *closer) Close() error                                       { c.closed = true; return c.err }
func (injector) Inject(provider.Injection) (provider.Inbound, error) { return provider.Inbound{}, nil }

func TestRegistryHoldsSendersAndSourcesAlike(t *testing.T) {
	r := provider.NewRegistry()
	for _, a := range []struct {
		name, typ string
		adapter   provider.Adapter
	}{{"inbound", "generic", source{}}, {"sim", "simulator", &closer{}}, {"tw", "twilio", sender{}}, {"play", "fake", injector{}}} {
		if err := r.Add(a.name, a.typ, a.adapter); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a name is added once", func(t *testing.T) {
		if err := r.Add("tw", "twilio", sender{}); err == nil {
			t.Error("a second tw was added")
		}
	})
	t.Run("the first adapter that sends is the default", func(t *testing.T) {
		if r.Default() != "sim" {
			t.Errorf("Default() = %q", r.Default())
		}
	})
	t.Run("only adapters that send are listed and found as senders", func(t *testing.T) {
		if got := r.Names(); !slices.Equal(got, []string{"sim", "tw"}) {
			t.Errorf("Names() = %v", got)
		}
		if _, ok := r.Get("inbound"); ok {
			t.Error("Get found a source that does not send")
		}
		if s, ok := r.Get(""); !ok || s == nil {
			t.Error("Get(\"\") did not find the default")
		}
	})
	t.Run("every adapter is found by name, in the order added", func(t *testing.T) {
		var names []string
		for name := range r.All() {
			names = append(names, name)
		}
		if !slices.Equal(names, []string{"inbound", "sim", "tw", "play"}) || r.Type("inbound") != "generic" || r.Type("nobody") != "" {
			t.Errorf("All() = %v", names)
		}
		if a, ok := r.Adapter("inbound"); !ok || a != (source{}) {
			t.Errorf("Adapter(inbound) = %v, %v", a, ok)
		}
	})
	t.Run("the default must send", func(t *testing.T) {
		if err := r.SetDefault("inbound"); err == nil {
			t.Error("an inbound-only default was accepted")
		}
		if err := r.SetDefault("nobody"); err == nil {
			t.Error("an unknown default was accepted")
		}
		if err := r.SetDefault("tw"); err != nil || r.Default() != "tw" {
			t.Errorf("SetDefault(tw) = %v, default %q", err, r.Default())
		}
	})
	t.Run("the injector is found by what it can do", func(t *testing.T) {
		if inj, ok := r.Injector(); !ok || inj != (injector{}) {
			t.Errorf("Injector() = %v, %v", inj, ok)
		}
		if _, ok := provider.NewRegistry().Injector(); ok {
			t.Error("an empty registry has an injector")
		}
	})
}

func TestRegistryCloseClosesWhatHoldsSomethingOpen(t *testing.T) {
	r := provider.NewRegistry()
	ok, failing := &closer{}, &closer{err: errors.New("stuck")}
	r.Add("a", "fake", ok)
	r.Add("b", "fake", source{})
	r.Add("c", "fake", failing)
	err := r.Close()
	if !ok.closed || !failing.closed {
		t.Errorf("closed a %v, c %v; want both", ok.closed, failing.closed)
	}
	if err == nil || err.Error() != "provider c: stuck" {
		t.Errorf("Close() = %v, want c's error named", err)
	}
}

func TestFeaturesAreReadFromInterfaces(t *testing.T) {
	tests := []struct {
		name    string
		adapter provider.Adapter
		want    provider.Features
		words   string
	}{
		{"a sender sends", sender{}, provider.FeatureSend, "send"},
		{"a source takes inbound messages", source{}, provider.FeatureInbound, "inbound"},
		{"a closing sender sends and closes", &closer{}, provider.FeatureSend | provider.FeatureClose, "send,close"},
		{"a value of no interface does nothing", 42, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := provider.Implemented(tt.adapter); got != tt.want || got.String() != tt.words {
				t.Errorf("Implemented = %s (%d), want %s", got, got, tt.words)
			}
		})
	}
}
