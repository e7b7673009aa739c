package outbound

import (
	"context"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/quiet"
	"github.com/ibiki/ibiki/internal/store"
)

// A campaign's messages are held by the send job while the campaign is paused, or in its
// client's quiet hours, and fail when it was cancelled; a pause waits for the sends already
// past that check (the campaign's gate).

// pausedRecheck is how often a message of a paused campaign looks at the campaign again.
const pausedRecheck = 5 * time.Second

// hold keeps a campaign's message from going out while its campaign is paused (looked at again
// every few seconds: cheap, and resuming needs no bookkeeping) or in its client's quiet hours,
// and fails it when the campaign was cancelled. The caller holds the campaign's gate.
func (s *Service) hold(ctx context.Context, m model.Message) (queue.Result, bool) {
	st, keepQuiet, err := s.Store.CampaignState(ctx, m.CampaignID)
	if err != nil {
		return queue.Fail(err), true
	}
	switch st {
	case model.CampaignPaused:
		return queue.Result{RetryAt: s.Clock().Add(pausedRecheck), Deferred: true}, true
	case model.CampaignCancelled, model.CampaignFailed:
		return s.failNow(m, store.CampaignCancelledCode, "the campaign was cancelled before this message was sent"), true
	}
	if !keepQuiet {
		return queue.Result{}, false
	}
	next, err := s.quietUntil(ctx, m)
	if err != nil {
		return queue.Fail(err), true
	}
	if next.After(s.Clock()) {
		return queue.Result{RetryAt: next, Deferred: true}, true
	}
	return queue.Result{}, false
}

// campaignGate returns the lock that orders a campaign's sends against its pause.
func (s *Service) campaignGate(id string) *sync.RWMutex {
	s.gateMu.Lock()
	defer s.gateMu.Unlock()
	if s.gates == nil {
		s.gates = map[string]*sync.RWMutex{}
	}
	g := s.gates[id]
	if g == nil {
		g = &sync.RWMutex{}
		s.gates[id] = g
	}
	return g
}

// WaitCampaignSends returns once the campaign's sends that passed their status check in this
// process have finished: called after a pause is committed, it makes "paused" mean that
// nothing more goes out.
func (s *Service) WaitCampaignSends(id string) {
	g := s.campaignGate(id)
	g.Lock()
	g.Unlock() // the lock is only a barrier
}

// quietUntil is when a campaign message may go out under its client's quiet hours (now when
// it may go now).
func (s *Service) quietUntil(ctx context.Context, m model.Message) (time.Time, error) {
	c, err := s.Store.CachedClient(ctx, m.ClientID)
	if err != nil {
		return time.Time{}, err
	}
	w, err := quiet.Parse(c.QuietHours)
	if err != nil {
		return s.Clock(), nil // validated when saved; an old bad value holds nothing
	}
	return w.NextAllowed(m.To, s.Clock()), nil
}
