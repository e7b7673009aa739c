package outbound

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// route is the sender and provider chosen for a message. from "" lets the provider choose.
type route struct {
	from     string
	provider string
}

// senderNumbers is a client's dedicated numbers and the pool, cached briefly: every send reads
// them and they change rarely.
type senderNumbers struct {
	dedicated, pool []model.Number
	until           time.Time
}

const numberCacheTTL = time.Second

func (s *Service) sendingNumbers(ctx context.Context, clientID string) (senderNumbers, error) {
	now := time.Now()
	s.numMu.Lock()
	n, ok := s.numCache[clientID]
	s.numMu.Unlock()
	if ok && now.Before(n.until) {
		return n, nil
	}
	ded, pool, err := s.Store.SendingNumbers(ctx, clientID)
	if err != nil {
		return n, err
	}
	n = senderNumbers{dedicated: ded, pool: pool, until: now.Add(numberCacheTTL)}
	s.numMu.Lock()
	if s.numCache == nil || len(s.numCache) > 10_000 {
		s.numCache = map[string]senderNumbers{}
	}
	s.numCache[clientID] = n
	s.numMu.Unlock()
	return n, nil
}

// canChoose reports whether a number's provider sends from a chosen number on channel ch, and
// which provider that is.
func (s *Service) canChoose(n model.Number, ch model.Channel) (string, bool) {
	name := n.Provider
	if name == "" {
		name = s.Providers.Default()
	}
	p, ok := s.Providers.Get(name)
	if !ok {
		return name, false
	}
	caps := p.Capabilities()
	return name, caps.ChooseSender && caps.Carries(ch)
}

// chooseSender picks the number a message goes out from:
//  1. the number the client asked for, which must be its own or the pool's;
//  2. sticky: the number this contact last wrote to this client on, unless another client owns it;
//  3. a number dedicated to the client;
//  4. the shared pool, round robin;
//  5. the provider's choice.
//
// Steps 2–4 skip numbers whose provider cannot send from a chosen number, or does not carry the
// message's channel ch (a WhatsApp message goes from a number of a provider that carries
// WhatsApp); a number asked for whose provider does not carry ch is ErrChannelNotSupported.
func (s *Service) chooseSender(ctx context.Context, clientID, to, from string, ch model.Channel, sticky func(ctx context.Context, clientID, to string) (string, error)) (route, error) {
	nums, err := s.sendingNumbers(ctx, clientID)
	if err != nil {
		return route{}, err
	}
	if from != "" {
		for _, n := range slices.Concat(nums.dedicated, nums.pool) {
			if n.Number == from {
				name, ok := s.canChoose(n, model.ChannelSMS)
				if !ok {
					return route{}, ErrSenderNotSupported
				}
				if _, ok := s.canChoose(n, ch); !ok {
					return route{}, fmt.Errorf("%w: the provider of %s does not carry %s", ErrChannelNotSupported, from, ch)
				}
				return route{from: from, provider: name}, nil
			}
		}
		return route{}, ErrSenderNotAllowed
	}
	last, err := sticky(ctx, clientID, to)
	if err != nil {
		return route{}, err
	}
	if last != "" {
		n, err := s.Store.CachedNumber(ctx, last)
		switch {
		case errors.Is(err, store.ErrNotFound):
			n = model.Number{Number: last}
		case err != nil:
			return route{}, err
		}
		if n.ClientID == "" || n.ClientID == clientID {
			if name, ok := s.canChoose(n, ch); ok {
				return route{from: n.Number, provider: name}, nil
			}
		}
	}
	for _, n := range nums.dedicated {
		if name, ok := s.canChoose(n, ch); ok {
			return route{from: n.Number, provider: name}, nil
		}
	}
	if len(nums.pool) > 0 {
		start := int(s.poolNext.Add(1) % uint64(len(nums.pool)))
		for i := range nums.pool {
			n := nums.pool[(start+i)%len(nums.pool)]
			if name, ok := s.canChoose(n, ch); ok {
				return route{from: n.Number, provider: name}, nil
			}
		}
	}
	return route{provider: s.Providers.Default()}, nil
}
