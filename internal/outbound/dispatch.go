package outbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

// Kind returns the queue configuration of the send job.
func (s *Service) Kind(concurrency int) queue.Kind {
	return queue.Kind{Kind: model.JobSend, Handler: s, Concurrency: concurrency, MaxAttempts: 12,
		OnDead: s.onDead, Claimed: s.claimed, Returned: func(j model.Job) { s.takeStarted(j.Ref) }}
}

// Handle runs one send job, in steps: load the message and check it still needs sending, hold
// it for its campaign (paused, cancelled, quiet hours), wait for the provider's throttle, record
// the attempt first where a repeat could not be recognised, reconcile an attempt left in doubt,
// call the provider, and record what its answer means (classify). It never sends a message
// twice: the attempt is committed ("sending") before the call, so a run that finds a message
// already "sending" knows an earlier call may have reached the provider and reconciles instead
// of resending blindly.
func (s *Service) Handle(ctx context.Context, job model.Job) queue.Result {
	if m, ok := s.takeStarted(job.Ref); ok {
		// Its claim recorded the attempt (claimed.go): only the call and its answer are left.
		if p, ok := s.Providers.Get(m.Provider); ok {
			return s.call(ctx, p, m, true, true)
		}
	}
	m, p, res, done := s.load(ctx, job)
	if done {
		return res
	}
	if m.CampaignID != "" && m.Status == model.StatusQueued {
		// The campaign's gate is held across the check and the provider call, so a pause
		// waits for the sends already past their check (see WaitCampaignSends).
		g := s.campaignGate(m.CampaignID)
		g.RLock()
		defer g.RUnlock()
		if res, done := s.hold(ctx, m); done {
			return res
		}
	}
	// The throttle comes after the campaign checks, so held messages take no provider
	// throughput from the others; a pause waits for it (the gate is held).
	if wait, ok := s.throttle(ctx, m.Provider, p); !ok {
		return queue.Result{RetryAt: s.Clock().Add(wait), Deferred: true}
	}
	inDoubt := m.Status == model.StatusSending
	first := recordFirst(p.Capabilities(), inDoubt)
	if first {
		if m, res, done = s.commitSending(ctx, m, !inDoubt); done {
			return res
		}
	}
	if inDoubt {
		if res, done := s.reconcile(ctx, m, p); done {
			return res
		}
	}
	return s.call(ctx, p, m, first, first && !inDoubt)
}

// call hands the message to its provider and reads the answer; first says the attempt was
// recorded before the call, fresh that this run recorded it on a message that was queued (not
// one found "sending", in doubt).
//
// A run whose context ended before the call (the server is stopping) does not call: its job
// goes back to the queue, due now and not counted as an attempt, and a fresh message back to
// "queued", so that the next run sends it. Called with an ended context, the provider's client
// would fail at once, and the message, recorded "sending", would be left in doubt. (A message
// that was in doubt already stays "sending": the next run reconciles it.)
func (s *Service) call(ctx context.Context, p provider.Sender, m model.Message, first, fresh bool) queue.Result {
	if ctx.Err() != nil {
		metrics.OutboundSends.WithLabelValues(m.Provider, sendRequeue.label()).Inc()
		r := queue.Result{RetryAt: s.Clock(), Deferred: true}
		if fresh {
			r.Write = func(ctx context.Context, tx *store.Tx) error {
				return tx.ChangeStatus(ctx, store.StatusChange{ID: m.ID, From: model.StatusSending, To: model.StatusQueued, At: s.Clock().UTC()})
			}
		}
		return r
	}
	out := provider.Outbound{MessageID: m.ID, From: m.From, To: m.To, Body: m.Body, Segments: m.Segments, Channel: m.Channel,
		DLTTemplateID: m.DLTTemplateID, DLTEntityID: m.DLTEntityID}
	for _, a := range m.Media {
		out.MediaURLs = append(out.MediaURLs, a.URL)
	}
	sent, err := p.Send(ctx, out)
	return s.answered(m, sent, err, classify(err, first))
}

// load reads the job's message and its provider, and says the job is done (with its result)
// when the message needs no send: gone, past sending (a repeated run, or a status that overtook
// it), its provider no longer configured, or its recipient opted out while it waited.
func (s *Service) load(ctx context.Context, job model.Job) (m model.Message, p provider.Sender, res queue.Result, done bool) {
	m, err := s.Store.MessageByID(ctx, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return m, nil, queue.Result{}, true
	}
	if err != nil {
		return m, nil, queue.Fail(err), true
	}
	if m.Status != model.StatusQueued && m.Status != model.StatusScheduled && m.Status != model.StatusSending {
		return m, nil, queue.Result{}, true // sent, failed, canceled...
	}
	p, ok := s.Providers.Get(m.Provider)
	if !ok {
		return m, nil, s.failNow(m, "provider_not_configured", fmt.Sprintf("provider %q is not configured", m.Provider)), true
	}
	waiting := m.Status == model.StatusQueued || m.Status == model.StatusScheduled
	if waiting && !m.ValidUntil.IsZero() && !s.Clock().Before(m.ValidUntil) {
		return m, p, s.failNow(m, ErrorValidityExpired, "the validity period elapsed before the message could be sent"), true
	}
	if !isAuto(m) && waiting {
		// A STOP that arrived while the message waited in the queue still stops it.
		if _, err := s.Store.OptOut(ctx, m.ClientID, m.To); err == nil {
			return m, p, s.failNow(m, "recipient_opted_out", "the recipient opted out after the message was queued"), true
		} else if !errors.Is(err, store.ErrNotFound) {
			return m, p, queue.Fail(err), true
		}
	}
	return m, p, queue.Result{}, false
}

// commitSending commits the attempt ("sending") before the call; event says the message was
// queued until now (its client hears of the step). It returns the message as recorded.
func (s *Service) commitSending(ctx context.Context, m model.Message, event bool) (model.Message, queue.Result, bool) {
	var started model.Message
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		started, err = s.startSend(ctx, tx, m.ID, event)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return m, queue.Result{}, true // moved on meanwhile
	}
	if err != nil {
		return m, queue.Fail(err), true
	}
	return started, queue.Result{}, false
}

// reconcile decides, for a message found "sending" (an earlier call may have reached the
// provider), whether this run may call the provider: a provider that can look the send up is
// asked first; one that neither looks up nor recognises a repeat is not called again.
func (s *Service) reconcile(ctx context.Context, m model.Message, p provider.Sender) (queue.Result, bool) {
	var (
		known provider.SendResult
		found bool
	)
	rec, canLookUp := p.(provider.Reconciler)
	if canLookUp {
		var err error
		if known, found, err = rec.Lookup(ctx, m.ID); err != nil {
			return queue.Fail(fmt.Errorf("reconcile %s: %w", m.ID, err)), true
		}
	}
	o := resume(canLookUp, found, p.Capabilities().Idempotent)
	switch o {
	case sendAgain:
		return queue.Result{}, false
	case sendReconciled:
		metrics.OutboundSends.WithLabelValues(m.Provider, o.label()).Inc()
		return s.sent(m, known), true
	}
	// The provider cannot tell us and would not recognise a repeat: a second send could reach
	// the phone twice. Leave it to the operator.
	metrics.OutboundSends.WithLabelValues(m.Provider, o.label()).Inc()
	return queue.Done(func(ctx context.Context, tx *store.Tx) error {
		_, _, err := s.advance(ctx, tx, m, store.StatusChange{To: model.StatusUnknown, ErrorCode: "send_in_doubt",
			ErrorMessage: "an earlier send was interrupted and the provider cannot confirm it; not resent to avoid a duplicate",
			At:           s.Clock().UTC()})
		return err
	}), true
}

// answered turns the verdict on the provider's answer (res, err) into the job's result and the
// writes that record it.
func (s *Service) answered(m model.Message, res provider.SendResult, err error, v verdict) queue.Result {
	metrics.OutboundSends.WithLabelValues(m.Provider, v.outcome.label()).Inc()
	switch v.outcome {
	case sendSent:
		if !v.markSending {
			return s.sent(m, res)
		}
		return queue.Done(func(ctx context.Context, tx *store.Tx) error {
			started, err := s.startSend(ctx, tx, m.ID, true)
			if err != nil {
				return err
			}
			return s.sent(started, res).Write(ctx, tx)
		})
	case sendFailed:
		return s.failNow(m, v.code, v.message)
	case sendRetry, sendRequeue:
		r := queue.Result{Err: err}
		if v.outcome == sendRequeue {
			r.Write = func(ctx context.Context, tx *store.Tx) error {
				return tx.ChangeStatus(ctx, store.StatusChange{ID: m.ID, From: model.StatusSending, To: model.StatusQueued, At: s.Clock().UTC()})
			}
		}
		if v.retryAfter > 0 {
			r.RetryAt = s.Clock().Add(v.retryAfter)
		}
		return r
	}
	// In doubt: the message stays as it is and the next run sends again (a provider that
	// recognises repeats) or reconciles.
	return queue.Fail(err)
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
		now, cur := s.Clock().UTC(), m // cur, not m: this may run twice, and m must stay as given
		if to != model.StatusSent {
			// Record "sent" first so the client sees every step.
			var err error
			if cur, _, err = s.advance(ctx, tx, cur, store.StatusChange{To: model.StatusSent,
				ProviderMessageID: res.ProviderMessageID, Sender: from, At: now}); err != nil {
				return err
			}
		}
		_, _, err := s.advance(ctx, tx, cur, store.StatusChange{To: to, ProviderMessageID: res.ProviderMessageID, Sender: from, At: now})
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
