package inbound

import (
	"context"

	"github.com/ibiki/ibiki/internal/provider"
)

// Inject makes a contact's message arrive through an adapter that can produce one on the
// operator's demand (the simulator, found in the provider registry by that ability): the
// adapter checks it (a *provider.FieldError names a wrong field), then it is stored and routed
// like any provider's message (Accept holds its text to the same rule). The admin API and the dashboard both inject through here. It
// returns the outcome of Accept and the message as the adapter made it.
func (s *Service) Inject(ctx context.Context, via provider.Injector, m provider.Injection) (Accepted, provider.Inbound, error) {
	in, err := via.Inject(m)
	if err != nil {
		return Accepted{}, in, err
	}
	acc, err := s.Accept(ctx, in)
	return acc, in, err
}
