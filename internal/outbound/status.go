package outbound

import (
	"context"
	"errors"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
	"github.com/ibiki/ibiki/internal/webhook"
)

// Bounds of a message's error, in bytes: a provider's code and words for a failure.
const (
	MaxErrorCode    = 100
	MaxErrorMessage = 1000
)

// fromProvider makes what a provider said about a message (in a send's answer or a status
// report) fit to store: it is the provider's metadata, not the client's text, so what is not
// text (package text) is cleaned rather than refused (a refusal would only make the provider
// retry, or the send be tried again), and the error is bounded.
func fromProvider(ch store.StatusChange) store.StatusChange {
	ch.ProviderMessageID, ch.Sender = text.Clean(ch.ProviderMessageID), text.Clean(ch.Sender)
	ch.ErrorCode = text.Cut(text.Clean(ch.ErrorCode), MaxErrorCode)
	ch.ErrorMessage = text.Cut(text.Clean(ch.ErrorMessage), MaxErrorMessage)
	return ch
}

// advance moves a message forward to ch.To inside tx, and reports whether it moved: a late or
// repeated report never moves a message backwards. m is the message as the caller last saw it;
// the change is conditional on that status, and when someone moved it meanwhile the message is
// read again and judged afresh. A message that fails is refunded (once: only the change into
// "failed" refunds). The client's webhook gets a message.status event.
func (s *Service) advance(ctx context.Context, tx *store.Tx, m model.Message, ch store.StatusChange) (model.Message, bool, error) {
	ch = fromProvider(ch)
	for try := 0; ; try++ {
		if !m.Status.Advances(ch.To) {
			return m, false, nil
		}
		ch.ID, ch.From = m.ID, m.Status
		err := tx.ChangeStatus(ctx, ch)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) || try > 0 {
			return m, false, err
		}
		if m, err = tx.MessageByID(ctx, m.ID); err != nil {
			return m, false, err
		}
	}
	m.Status, m.StatusAt = ch.To, ch.At
	if ch.ProviderMessageID != "" {
		m.ProviderMessageID = ch.ProviderMessageID
	}
	if ch.Sender != "" {
		m.From = ch.Sender
	}
	if ch.ErrorCode != "" {
		m.ErrorCode = ch.ErrorCode
	}
	if ch.ErrorMessage != "" {
		m.ErrorMessage = ch.ErrorMessage
	}
	if ch.To == model.StatusFailed && m.CostCents > 0 {
		// At the commit, as the charge was (store.MoveCreditsAtCommit: its lock order).
		if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, ch.At), ClientID: m.ClientID,
			Kind: model.LedgerRefund, AmountCents: m.CostCents, Reference: "message " + m.ID + " failed",
			MessageID: m.ID, CreatedAt: ch.At}); err != nil {
			return m, false, err
		}
	}
	if err := s.event(ctx, tx, m, model.EventMessageStatus, ch.At); err != nil {
		return m, false, err
	}
	provider, status := m.Provider, string(ch.To)
	tx.AfterCommit(func() { metrics.OutboundStatus.WithLabelValues(provider, status).Inc() })
	return m, true, nil
}

// event queues a message event for the client's webhook, and announces it to the client's open
// pages (webhook.Enqueue does both; a client without a webhook URL gets the announcement only).
func (s *Service) event(ctx context.Context, tx *store.Tx, m model.Message, typ model.EventType, at time.Time) error {
	c, err := s.Store.CachedClient(ctx, m.ClientID)
	if err != nil {
		return err
	}
	var payload []byte
	if c.WebhookURL != "" {
		if payload, err = webhook.Payload(typ, at, webhook.NewMessageData(m, m.Contact)); err != nil {
			return err
		}
	}
	_, err = webhook.Enqueue(ctx, tx, c, typ, m, payload, at)
	return err
}

// ApplyStatus records provider status reports. A report for a message not (yet) known by its
// provider id is retried a few times in the background: a fast provider can report before the
// send's own record has committed. An id that is not text (package text) can match no message:
// its report is dropped at once. The report's error is kept cleaned (see fromProvider).
func (s *Service) ApplyStatus(ctx context.Context, providerName string, updates []provider.StatusUpdate) error {
	for _, u := range updates {
		if !text.Valid(u.ProviderMessageID) {
			s.Log.Warn("outbound: status report for an id that is not text dropped", "provider", providerName,
				"provider_message_id", u.ProviderMessageID, "status", u.Status)
			continue
		}
		found, err := s.applyOne(ctx, providerName, u)
		if err != nil {
			return err
		}
		if !found {
			select {
			case laterSlots <- struct{}{}:
				go func() { defer func() { <-laterSlots }(); s.applyLater(providerName, u) }()
			default:
				s.Log.Warn("outbound: too many early status reports waiting; this one is dropped", "provider", providerName,
					"provider_message_id", u.ProviderMessageID, "status", u.Status)
			}
		}
	}
	return nil
}

// laterSlots bounds the early reports waiting to be applied again (unknown ids cost a
// goroutine each for about 36 s).
var laterSlots = make(chan struct{}, 10_000)

// statusRetries are the waits before a report for an unknown provider id is tried again.
var statusRetries = []time.Duration{200 * time.Millisecond, time.Second, 5 * time.Second, 30 * time.Second}

func (s *Service) applyLater(providerName string, u provider.StatusUpdate) {
	for _, d := range statusRetries {
		time.Sleep(d)
		if s.Store.Closed() {
			return // Ibiki is stopping: the provider's report is not retried
		}
		found, err := s.applyOne(context.Background(), providerName, u)
		if err != nil && s.Store.Closed() {
			return // the pools closed under the retry (PostgreSQL's is not store.ErrClosed)
		}
		if err != nil && !errors.Is(err, store.ErrClosed) {
			s.Log.Warn("outbound: status report not applied", "provider", providerName, "provider_message_id", u.ProviderMessageID, "error", err)
		}
		if found || err != nil {
			return
		}
	}
	s.Log.Warn("outbound: status report for an unknown message dropped", "provider", providerName,
		"provider_message_id", u.ProviderMessageID, "status", u.Status)
}

// applyOne applies a report to the message its provider id names, read in the transaction that
// changes it: the writer's connection has the message's pages in its cache, where a read
// connection would have had to read them again after every write (BENCHMARKS.md, issue 16's
// fifth increment). found is false when no message has the id (yet).
func (s *Service) applyOne(ctx context.Context, providerName string, u provider.StatusUpdate) (found bool, err error) {
	now := s.Clock().UTC()
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.OutboundByProviderID(ctx, providerName, u.ProviderMessageID)
		if errors.Is(err, store.ErrNotFound) && u.MessageID != "" && u.ProviderMessageID != "" {
			// A reply given in the answer to the provider's webhook learns its provider id here.
			var bound bool
			if bound, err = tx.BindProviderID(ctx, providerName, u.MessageID, u.ProviderMessageID); err == nil {
				if bound {
					m, err = tx.OutboundByProviderID(ctx, providerName, u.ProviderMessageID)
				} else {
					err = store.ErrNotFound
				}
			}
		}
		found = !errors.Is(err, store.ErrNotFound)
		if !found {
			return nil
		}
		if err != nil {
			return err
		}
		_, _, err = s.advance(ctx, tx, m, store.StatusChange{To: u.Status, ErrorCode: u.ErrorCode,
			ErrorMessage: u.ErrorMessage, At: now})
		return err
	})
	return found, err
}

// MarkUnknown gives messages sent longer than timeout ago without a final status the status
// "unknown" (a late final report still replaces it). It returns how many it marked.
func (s *Service) MarkUnknown(ctx context.Context, timeout time.Duration) (int, error) {
	const page = 500
	total := 0
	for {
		now := s.Clock().UTC()
		late, err := s.Store.AwaitingStatus(ctx, now.Add(-timeout), page)
		if err != nil || len(late) == 0 {
			return total, err
		}
		n := 0
		err = s.Store.InTx(ctx, func(tx *store.Tx) error {
			n = 0
			for _, m := range late {
				_, moved, err := s.advance(ctx, tx, m, store.StatusChange{To: model.StatusUnknown, At: now})
				if err != nil {
					return err
				}
				if moved {
					n++
				}
			}
			return nil
		})
		total += n
		if err != nil || len(late) < page || n == 0 {
			return total, err
		}
	}
}

// unconfirmedAfter is how long an auto-reply given in the answer to a provider's webhook may go
// without its provider's report (Twilio posts it to the <Message> action within seconds) before
// it is taken as never sent: failed and refunded.
const unconfirmedAfter = 10 * time.Minute

// ErrorReplyUnconfirmed is the error code of such a reply.
const ErrorReplyUnconfirmed = "reply_unconfirmed"

// ExpireUnconfirmedReplies fails (and refunds) the auto-replies given in the answer to a
// provider's webhook that their provider never confirmed (AnswerAutoReply): the provider timed
// out, the connection broke, or it refused the answer. Up to timeout back from now, as
// MarkUnknown.
func (s *Service) ExpireUnconfirmedReplies(ctx context.Context, now time.Time, timeout time.Duration) (int, error) {
	now = now.UTC()
	late, err := s.Store.UnconfirmedAnswers(ctx, answeredMetaPrefix, now.Add(-timeout), now.Add(-unconfirmedAfter), 500)
	if err != nil || len(late) == 0 {
		return 0, err
	}
	n := 0
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		for _, m := range late {
			_, moved, err := s.advance(ctx, tx, m, store.StatusChange{To: model.StatusFailed, At: now, ErrorCode: ErrorReplyUnconfirmed,
				ErrorMessage: "the provider never confirmed the reply given in the answer to its webhook; it is taken as not sent and refunded"})
			if err != nil {
				return err
			}
			if moved {
				n++
			}
		}
		return nil
	})
	return n, err
}

// idempotencyKeep is how long Idempotency-Keys are kept (the promise is at least 24 hours).
const idempotencyKeep = 25 * time.Hour

// Maintain runs the periodic outbound chores until ctx ends: sent messages without a final
// status become "unknown" after timeout, and expired idempotency keys are deleted.
func (s *Service) Maintain(ctx context.Context, timeout time.Duration) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := s.MarkUnknown(ctx, timeout); err != nil && ctx.Err() == nil {
			s.Log.Warn("outbound: marking late messages unknown", "error", err)
		} else if n > 0 {
			s.Log.Info("outbound: messages without a final status marked unknown", "count", n)
		}
		if n, err := s.ExpireUnconfirmedReplies(ctx, s.Clock(), timeout); err != nil && ctx.Err() == nil {
			s.Log.Warn("outbound: failing unconfirmed replies", "error", err)
		} else if n > 0 {
			s.Log.Warn("outbound: auto-replies their provider never confirmed failed and refunded", "count", n)
		}
		s.dropStaleParts(ctx)
		for ctx.Err() == nil {
			var n int64
			err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
				n, err = tx.ExpireIdempotencyKeys(ctx, s.Clock().Add(-idempotencyKeep), 10_000)
				return err
			})
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("outbound: expiring idempotency keys", "error", err)
			}
			if err != nil || n < 10_000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
