package outbound

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/quiet"
	"github.com/ibiki/ibiki/internal/store"
)

// pausedRecheck is how often a message of a paused campaign looks at the campaign again.
const pausedRecheck = 5 * time.Second

// Kind returns the queue configuration of the send job.
func (s *Service) Kind(concurrency int) queue.Kind {
	return queue.Kind{Kind: model.JobSend, Handler: s, Concurrency: concurrency, MaxAttempts: 12,
		OnDead: s.onDead}
}

// Handle runs one send job: throttle, record the attempt, call the provider, record the
// outcome. It never sends a message twice: the attempt is committed ("sending") before the
// call, so a run that finds a message already "sending" knows an earlier call may have reached
// the provider and reconciles instead of resending blindly.
func (s *Service) Handle(ctx context.Context, job model.Job) queue.Result {
	m, err := s.Store.MessageByID(ctx, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return queue.Result{}
	}
	if err != nil {
		return queue.Fail(err)
	}
	if m.Status != model.StatusQueued && m.Status != model.StatusSending {
		return queue.Result{} // done already (a repeated run, or a status that overtook it)
	}
	p, ok := s.Providers.Get(m.Provider)
	if !ok {
		return s.failNow(m, "provider_not_configured", fmt.Sprintf("provider %q is not configured", m.Provider))
	}
	if !isAuto(m) && m.Status == model.StatusQueued {
		// A STOP that arrived while the message waited in the queue still stops it.
		if _, err := s.Store.OptOut(ctx, m.ClientID, m.To); err == nil {
			return s.failNow(m, "recipient_opted_out", "the recipient opted out after the message was queued")
		} else if !errors.Is(err, store.ErrNotFound) {
			return queue.Fail(err)
		}
	}
	if m.CampaignID != "" && m.Status == model.StatusQueued {
		// The campaign's gate is held across the check and the provider call, so a pause
		// waits for the sends already past their check (see WaitCampaignSends).
		g := s.campaignGate(m.CampaignID)
		g.RLock()
		defer g.RUnlock()
		st, keepQuiet, err := s.Store.CampaignState(ctx, m.CampaignID)
		if err != nil {
			return queue.Fail(err)
		}
		switch st {
		case model.CampaignPaused:
			// Looked at again every few seconds: cheap, and resuming needs no bookkeeping.
			return queue.Result{RetryAt: s.Clock().Add(pausedRecheck), Deferred: true}
		case model.CampaignCancelled, model.CampaignFailed:
			return s.failNow(m, store.CampaignCancelledCode, "the campaign was cancelled before this message was sent")
		}
		if keepQuiet {
			if next, err := s.quietUntil(ctx, m); err != nil {
				return queue.Fail(err)
			} else if now := s.Clock(); next.After(now) {
				return queue.Result{RetryAt: next, Deferred: true}
			}
		}
	}
	// The throttle comes after the campaign checks, so held messages take no provider
	// throughput from the others; a pause waits for it (the gate is held).
	if wait, ok := s.throttle(ctx, m.Provider, p); !ok {
		return queue.Result{RetryAt: s.Clock().Add(wait), Deferred: true}
	}
	inDoubt := m.Status == model.StatusSending
	// A provider that recognises repeats needs no record before the call: a run after a crash
	// simply sends again and gets the same answer. "sending" is then recorded with "sent".
	recordFirst := !p.Capabilities().Idempotent || inDoubt
	if recordFirst {
		err = s.Store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			m, err = s.startSend(ctx, tx, m.ID, !inDoubt)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return queue.Result{}
		}
		if err != nil {
			return queue.Fail(err)
		}
	}
	if inDoubt {
		if rec, ok := p.(provider.Reconciler); ok {
			res, found, err := rec.Lookup(ctx, m.ID)
			if err != nil {
				return queue.Fail(fmt.Errorf("reconcile %s: %w", m.ID, err))
			}
			if found {
				metrics.OutboundSends.WithLabelValues(m.Provider, "reconciled").Inc()
				return s.sent(m, res)
			}
		} else if !p.Capabilities().Idempotent {
			// The provider cannot tell us and would not recognise a repeat: a second send
			// could reach the phone twice. Leave it to the operator.
			metrics.OutboundSends.WithLabelValues(m.Provider, "in_doubt").Inc()
			return queue.Done(func(ctx context.Context, tx *store.Tx) error {
				_, _, err := s.advance(ctx, tx, m, store.StatusChange{To: model.StatusUnknown, ErrorCode: "send_in_doubt",
					ErrorMessage: "an earlier send was interrupted and the provider cannot confirm it; not resent to avoid a duplicate",
					At:           s.Clock().UTC()})
				return err
			})
		}
	}
	res, err := p.Send(ctx, provider.Outbound{MessageID: m.ID, From: m.From, To: m.To, Body: m.Body, Segments: m.Segments})
	var se *provider.SendError
	switch {
	case err == nil && !recordFirst:
		metrics.OutboundSends.WithLabelValues(m.Provider, "sent").Inc()
		return queue.Done(func(ctx context.Context, tx *store.Tx) error {
			started, err := s.startSend(ctx, tx, m.ID, true)
			if err != nil {
				return err
			}
			return s.sent(started, res).Write(ctx, tx)
		})
	case err == nil:
		metrics.OutboundSends.WithLabelValues(m.Provider, "sent").Inc()
		return s.sent(m, res)
	case !recordFirst && !errors.As(err, &se):
		// Unknown whether the provider took it; it recognises a repeat, so the next run sends
		// again.
		metrics.OutboundSends.WithLabelValues(m.Provider, "in_doubt").Inc()
		return queue.Fail(err)
	case errors.As(err, &se) && se.Permanent:
		metrics.OutboundSends.WithLabelValues(m.Provider, "failed").Inc()
		return s.failNow(m, cmp.Or(se.Code, "provider_rejected"), se.Message)
	case errors.As(err, &se):
		// Refused for now: the provider did not take it, so the message is plainly queued again.
		metrics.OutboundSends.WithLabelValues(m.Provider, "retry").Inc()
		r := queue.Result{Err: err}
		if recordFirst {
			r.Write = func(ctx context.Context, tx *store.Tx) error {
				return tx.ChangeStatus(ctx, store.StatusChange{ID: m.ID, From: model.StatusSending, To: model.StatusQueued, At: s.Clock().UTC()})
			}
		}
		if se.RetryAfter > 0 {
			r.RetryAt = s.Clock().Add(se.RetryAfter)
		}
		return r
	default:
		// Unknown whether the provider took it (timeout, dropped connection): the message
		// stays "sending" and the next run reconciles.
		metrics.OutboundSends.WithLabelValues(m.Provider, "in_doubt").Inc()
		return queue.Fail(err)
	}
}

// startSend records a send attempt ("sending"), with its status event when the message was
// queued until now (event).
func (s *Service) startSend(ctx context.Context, tx *store.Tx, id string, event bool) (model.Message, error) {
	now := s.Clock().UTC()
	m, err := tx.StartSend(ctx, id, now)
	if err != nil || !event {
		return m, err
	}
	provider := m.Provider
	tx.AfterCommit(func() { metrics.OutboundStatus.WithLabelValues(provider, string(model.StatusSending)).Inc() })
	return m, s.event(ctx, tx, m, model.EventMessageStatus, now)
}

// sent records a provider's acceptance with the job's completion.
func (s *Service) sent(m model.Message, res provider.SendResult) queue.Result {
	to := res.Status
	if to == "" || to == model.StatusQueued || to == model.StatusSending {
		to = model.StatusSent
	}
	from := ""
	if m.From == "" {
		from = res.From // the provider picked the sender and said which
	}
	return queue.Done(func(ctx context.Context, tx *store.Tx) error {
		now := s.Clock().UTC()
		if to != model.StatusSent {
			// Record "sent" first so the client sees every step.
			var err error
			if m, _, err = s.advance(ctx, tx, m, store.StatusChange{To: model.StatusSent,
				ProviderMessageID: res.ProviderMessageID, Sender: from, At: now}); err != nil {
				return err
			}
		}
		_, _, err := s.advance(ctx, tx, m, store.StatusChange{To: to, ProviderMessageID: res.ProviderMessageID, Sender: from, At: now})
		return err
	})
}

// failNow fails a message for good (and refunds it) with the job's completion.
func (s *Service) failNow(m model.Message, code, msg string) queue.Result {
	return queue.Done(func(ctx context.Context, tx *store.Tx) error {
		_, _, err := s.advance(ctx, tx, m, store.StatusChange{To: model.StatusFailed, ErrorCode: code,
			ErrorMessage: msg, At: s.Clock().UTC()})
		return err
	})
}

// onDead fails the message of a send job that ran out of attempts, and refunds it.
func (s *Service) onDead(ctx context.Context, tx *store.Tx, job model.Job, cause error) error {
	msg := "the provider kept failing"
	if cause != nil {
		msg += ": " + cause.Error()
	}
	m, err := tx.MessageByID(ctx, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, _, err = s.advance(ctx, tx, m, store.StatusChange{To: model.StatusFailed, ErrorCode: "send_failed",
		ErrorMessage: msg, At: s.Clock().UTC()})
	return err
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
