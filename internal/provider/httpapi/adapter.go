package httpapi

import (
	"context"

	"github.com/ibiki/ibiki/internal/provider"
)

// FromEntry builds the adapter of a providers-file entry, whose fields are Config's. An entry
// with a status mapping (status.id_path, status.status_path) also takes delivery reports at
// /webhooks/{name}/status; one without only sends.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var cfg Config
	if err := e.Decode(&cfg); err != nil {
		return nil, err
	}
	c, err := New(cfg, env.HTTP)
	if err != nil {
		return nil, err
	}
	c.guard = e.Guard
	if !c.cfg.Status.configured() {
		return sendOnly{c}, nil
	}
	return c, nil
}

// Supports: a client sends and takes verified status callbacks.
func (c *Client) Supports() provider.Features {
	return provider.FeatureSend | provider.FeatureStatus | provider.FeatureVerify
}

// sendOnly is an aggregator without status callbacks: it has no status endpoint.
type sendOnly struct{ c *Client }

// Supports: it only sends.
func (s sendOnly) Supports() provider.Features { return provider.FeatureSend }

// Send is the client's.
func (s sendOnly) Send(ctx context.Context, m provider.Outbound) (provider.SendResult, error) {
	return s.c.Send(ctx, m)
}

// Capabilities are the client's.
func (s sendOnly) Capabilities() provider.Capabilities { return s.c.Capabilities() }
