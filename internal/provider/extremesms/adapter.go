package extremesms

import (
	"context"
	"errors"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

// Adapter is an entry with sending credentials: it sends through ExtremeSMS's API and takes
// its inbound webhook.
type Adapter struct {
	*provider.JSONSource
	sender *httpapi.Client
}

// FromEntry builds the adapter of a providers-file entry. Its fields are SendConfig's; an entry
// with none of them ({"name":"extremesms","type":"extremesms"}) only takes inbound messages.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var c SendConfig
	if err := e.Decode(&c); err != nil {
		return nil, err
	}
	// Without sending credentials, the entry only takes ExtremeSMS's inbound webhook.
	src := &provider.JSONSource{Name: e.Name, Region: env.Region, Guard: e.Guard, Parse: Parse}
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
	return &Adapter{JSONSource: src, sender: sender}, nil
}

// Supports: an adapter with credentials also sends.
func (a *Adapter) Supports() provider.Features { return a.JSONSource.Supports() | provider.FeatureSend }

// Send hands a message to ExtremeSMS's sending API.
func (a *Adapter) Send(ctx context.Context, m provider.Outbound) (provider.SendResult, error) {
	return a.sender.Send(ctx, m)
}

// Capabilities are the sending API's (see SendConfig.FromField).
func (a *Adapter) Capabilities() provider.Capabilities { return a.sender.Capabilities() }
