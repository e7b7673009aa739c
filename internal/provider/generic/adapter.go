package generic

import "github.com/ibiki/ibiki/internal/provider"

// Source takes the generic inbound shape (POST /webhooks/{name}) for one providers-file entry.
type Source struct {
	name, region string
	guard        provider.Guard
}

// FromEntry builds the source of a providers-file entry. It has no fields of its own, only the
// webhook protection every entry may carry.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	if err := e.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	return &Source{name: e.Name, region: env.Region, guard: e.Guard}, nil
}

// Supports: a source takes verified inbound messages.
func (s *Source) Supports() provider.Features {
	return provider.FeatureInbound | provider.FeatureVerify
}

// Verify applies the entry's webhook protection.
func (s *Source) Verify(r provider.Request) error { return s.guard.Verify(r) }

// ParseInbound reads the one message of a request (see Parse), recorded under the entry's name.
func (s *Source) ParseInbound(r provider.Request) ([]provider.Inbound, provider.Answer, error) {
	in, err := Parse(r.Body, s.region)
	if err != nil {
		return nil, provider.Answer{}, err
	}
	in.Provider = s.name
	return []provider.Inbound{in}, provider.Answer{}, nil
}
