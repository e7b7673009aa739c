package inbound

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// PartsWait is how long the parts of a concatenated message wait for the rest (SMSCs deliver
// them within seconds of each other) before the message is stored with what came.
const PartsWait = time.Hour

// SweepParts drops the parts kept to recognise repeats (store.InboundPart.KeepFor) once their
// time is up, and stores the concatenated messages whose first part came longer than wait ago and
// whose other parts never did: the parts held, in order, store.MissingPart where one is
// missing, stored and routed like any message (a contact's words are never held for ever). It
// returns how many it stored.
func (s *Service) SweepParts(ctx context.Context, wait time.Duration) (int, error) {
	if err := s.Store.DropKeptInboundParts(ctx, s.Clock()); err != nil {
		return 0, err
	}
	stale, err := s.Store.StaleInboundParts(ctx, s.Clock().Add(-wait), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range stale {
		in := provider.Inbound{Provider: p.Provider, ProviderMessageID: model.NewID("parts"), From: p.From, To: p.To,
			Channel: model.ChannelSMS, Status: model.StatusReceived}
		p.Seq = 0 // close the message as it is
		res, route, err := s.accept(ctx, in, &p)
		route()
		if err != nil {
			return n, err
		}
		if !res.Held {
			n++
		}
	}
	return n, nil
}

// Maintain sweeps incomplete concatenated messages (SweepParts) every minute until ctx ends.
func (s *Service) Maintain(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := s.SweepParts(ctx, PartsWait); err != nil && ctx.Err() == nil {
			s.Log.Warn("inbound: storing incomplete concatenated messages", "error", err)
		} else if n > 0 {
			s.Log.Warn("inbound: concatenated messages stored without their missing parts", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
