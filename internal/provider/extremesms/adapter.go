package extremesms

import (
	"context"
	"errors"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

// Source takes ExtremeSMS's inbound webhook (POST /webhooks/{name}) for one providers-file
// entry: an entry without sending credentials is only this.
type Source struct {
	name, region string
	guard        provider.Guard
}

// Adapter is an entry with sending credentials: it sends through ExtremeSMS's API and takes
// its inbound webhook.
type Adapter struct {
	*Source
	sender *httpapi.Client
}

// FromEntry builds the adapter of a providers-file entry. Its fields are SendConfig's; an entry
// with none of them ({"name":"extremesms","type":"extremesms"}) only takes inbound messages.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var c SendConfig
	if err := e.Decode(&c); err != nil {
		return nil, err
	}
	src := &Source{name: e.Name, region: env.Region, guard: e.Guard}
	if c == (SendConfig{}) {
		return src, nil
	}
	if c.BaseURL == "" || c.APIKey == "" {
		return nil, errors.New("base_url and api_key are required to send (an entry without any sending field only takes inbound messages)")
	}
	sender, err := NewSender(c, env.HTTP)
	if err != nil {
		return nil, err
	}
	return &Adapter{Source: src, sender: sender}, nil
}

// Supports: a source takes verified inbound messages.
func (s *Source) Supports() provider.Features {
	return provider.FeatureInbound | provider.FeatureVerify
}

// Verify applies the entry's webhook protection: ExtremeSMS itself signs nothing.
func (s *Source) Verify(r provider.Request) error { return s.guard.Verify(r) }

// ParseInbound reads the one message of an ExtremeSMS webhook (see Parse), recorded under the
// entry's name. ExtremeSMS expects no particular answer.
func (s *Source) ParseInbound(r provider.Request) ([]provider.Inbound, provider.Answer, error) {
	in, err := Parse(r.Body, s.region)
	if err != nil {
		return nil, provider.Answer{}, err
	}
	in.Provider = s.name
	return []provider.Inbound{in}, provider.Answer{}, nil
}

// Supports: an adapter with credentials also sends.
func (a *Adapter) Supports() provider.Features { return a.Source.Supports() | provider.FeatureSend }

// Send hands a message to ExtremeSMS's sending API.
func (a *Adapter) Send(ctx context.Context, m provider.Outbound) (provider.SendResult, error) {
	return a.sender.Send(ctx, m)
}

// Capabilities are the sending API's (see SendConfig.FromField).
func (a *Adapter) Capabilities() provider.Capabilities { return a.sender.Capabilities() }
