package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Start reserves a draft campaign's whole cost (402 when the balance does not cover it) and
// starts it: at once, or at its schedule.
func (s *Service) Start(ctx context.Context, c model.Client, id string) (model.Campaign, error) {
	var cp model.Campaign
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if cp, err = tx.LockCampaign(ctx, c.ID, id); err != nil {
			return err
		}
		if cp.Status != model.CampaignDraft {
			return ErrNotAllowed
		}
		// The price is what the stored recipients cost, read here under the lock, not a
		// figure recorded earlier.
		if cp.CostCents, err = tx.RecipientsCost(ctx, id); err != nil {
			return err
		}
		if err := tx.UpdateCampaign(ctx, cp); err != nil {
			return err
		}
		now := s.Clock().UTC()
		to, runAt := model.CampaignSending, now
		if cp.ScheduleAt.After(now) {
			to, runAt = model.CampaignScheduled, cp.ScheduleAt
		}
		if err := tx.SetCampaignStatus(ctx, c.ID, id, to, now, model.CampaignDraft); err != nil {
			return err
		}
		if cp.CostCents > 0 {
			if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: c.ID,
				Kind: model.LedgerCharge, AmountCents: -cp.CostCents, Reference: "campaign " + id, CreatedAt: now}); err != nil {
				return err
			}
		}
		if _, err := tx.Enqueue(ctx, model.Job{Kind: JobKind, ClientID: c.ID, Ref: id, Priority: model.PriorityBulk,
			RunAt: runAt, CreatedAt: now}); err != nil {
			return err
		}
		cp, err = tx.Campaign(ctx, c.ID, id)
		return err
	})
	return cp, err
}

// Pause stops a sending campaign. When it returns, nothing more of it is sent by this instance
// (sends past their check have finished) until Resume.
func (s *Service) Pause(ctx context.Context, c model.Client, id string) (model.Campaign, error) {
	cp, err := s.move(ctx, c, id, model.CampaignPaused, []model.CampaignStatus{model.CampaignSending})
	if err == nil {
		s.Outbound.WaitCampaignSends(id)
	}
	return cp, err
}

// Resume sends a paused campaign again.
func (s *Service) Resume(ctx context.Context, c model.Client, id string) (model.Campaign, error) {
	return s.move(ctx, c, id, model.CampaignSending, []model.CampaignStatus{model.CampaignPaused}, func(tx *store.Tx, _ model.Campaign) error {
		now := s.Clock().UTC()
		_, err := tx.Enqueue(ctx, model.Job{Kind: JobKind, ClientID: c.ID, Ref: id, Priority: model.PriorityBulk,
			RunAt: now, CreatedAt: now})
		return err
	})
}

// Cancel ends a campaign that has not ended and refunds exactly the recipients not sent: the
// ones not yet queued now, and the queued ones as the send job meets them (each refunded then).
func (s *Service) Cancel(ctx context.Context, c model.Client, id string) (model.Campaign, error) {
	cp, err := s.move(ctx, c, id, model.CampaignCancelled, []model.CampaignStatus{model.CampaignDraft,
		model.CampaignScheduled, model.CampaignSending, model.CampaignPaused}, func(tx *store.Tx, prev model.Campaign) error {
		// prev is read under the campaign's lock: a start cannot slip in between.
		reserved := prev.Status != model.CampaignDraft
		sum, err := tx.CancelPending(ctx, id)
		if err != nil || sum == 0 || !reserved {
			return err
		}
		now := s.Clock().UTC()
		err = tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: c.ID,
			Kind: model.LedgerRefund, AmountCents: sum, Reference: "campaign " + id + " cancelled: recipients not sent", CreatedAt: now})
		return err
	})
	if err == nil {
		s.Outbound.WaitCampaignSends(id)
	}
	return cp, err
}

// move changes a campaign's status, with writes of its own in the same transaction.
func (s *Service) move(ctx context.Context, c model.Client, id string, to model.CampaignStatus, froms []model.CampaignStatus, writes ...func(*store.Tx, model.Campaign) error) (model.Campaign, error) {
	var cp model.Campaign
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := tx.LockCampaign(ctx, c.ID, id)
		if err != nil {
			return err
		}
		if !slices.Contains(froms, prev.Status) {
			return ErrNotAllowed
		}
		for _, w := range writes {
			if err := w(tx, prev); err != nil {
				return err
			}
		}
		if err := tx.SetCampaignStatus(ctx, c.ID, id, to, s.Clock().UTC(), froms...); errors.Is(err, store.ErrNotFound) {
			return ErrNotAllowed
		} else if err != nil {
			return err
		}
		cp, err = tx.Campaign(ctx, c.ID, id)
		return err
	})
	return cp, err
}

// Kind returns the queue configuration of the feeder job.
func (s *Service) Kind() queue.Kind {
	return queue.Kind{Kind: JobKind, Handler: s, Concurrency: 4, PerClient: 2, OnDead: s.onDead}
}

// onDead ends a campaign whose feeder kept failing: it is marked failed and the recipients not
// yet queued are refunded (the queued ones are refunded as the send job meets them), so no
// money stays held by a campaign that will not send.
func (s *Service) onDead(ctx context.Context, tx *store.Tx, job model.Job, cause error) error {
	cp, err := tx.LockCampaign(ctx, job.ClientID, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || (cp.Status != model.CampaignSending && cp.Status != model.CampaignScheduled) {
		return err
	}
	sum, err := tx.CancelPending(ctx, cp.ID)
	if err != nil {
		return err
	}
	now := s.Clock().UTC()
	if sum > 0 {
		if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: cp.ClientID,
			Kind: model.LedgerRefund, AmountCents: sum, Reference: "campaign " + cp.ID + " failed: recipients not sent",
			CreatedAt: now}); err != nil {
			return err
		}
	}
	// Logged once it is so: this transaction may be retried or rolled back (see store.InTx).
	id := cp.ID
	tx.AfterCommit(func() {
		s.Log.Error("campaign: failed, its unsent recipients refunded", "campaign", id, "error", cause)
	})
	return tx.SetCampaignStatus(ctx, cp.ClientID, cp.ID, model.CampaignFailed, now, cp.Status)
}

// Handle runs the feeder: it queues the next recipients as messages while the campaign's
// window has room, and ends the campaign when every recipient is queued and sent on.
func (s *Service) Handle(ctx context.Context, job model.Job) queue.Result {
	c, err := s.Store.CachedClient(ctx, job.ClientID)
	if err != nil {
		return queue.Fail(err)
	}
	cp, err := s.Store.Campaign(ctx, job.ClientID, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return queue.Result{}
	}
	if err != nil {
		return queue.Fail(err)
	}
	now := s.Clock().UTC()
	switch cp.Status {
	case model.CampaignScheduled:
		if cp.ScheduleAt.After(now) {
			return queue.Result{RetryAt: cp.ScheduleAt, Deferred: true}
		}
		if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetCampaignStatus(ctx, c.ID, cp.ID, model.CampaignSending, now, model.CampaignScheduled)
		}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return queue.Fail(err)
		}
		return queue.Result{RetryAt: now, Deferred: true}
	case model.CampaignSending:
	default:
		return queue.Result{} // paused (Resume starts a new feeder), ended, or a draft
	}
	window := s.Window
	if window <= 0 {
		window = 2000
	}
	inflight, err := s.Store.InFlight(ctx, cp.ID)
	if err != nil {
		return queue.Fail(err)
	}
	room := int(int64(window) - inflight)
	if room <= 0 {
		return queue.Result{RetryAt: now.Add(200 * time.Millisecond), Deferred: true}
	}
	next, err := s.Store.PendingRecipients(ctx, cp.ID, min(room, 1000))
	if err != nil {
		return queue.Fail(err)
	}
	if len(next) == 0 {
		if inflight > 0 {
			return queue.Result{RetryAt: now.Add(500 * time.Millisecond), Deferred: true}
		}
		err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetCampaignStatus(ctx, c.ID, cp.ID, model.CampaignCompleted, s.Clock().UTC(), model.CampaignSending)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return queue.Fail(err)
		}
		return queue.Result{}
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error { return s.feed(ctx, tx, c, cp, next) })
	if err != nil {
		return queue.Fail(err)
	}
	return queue.Result{RetryAt: s.Clock(), Deferred: true}
}

// feed queues recipients as messages; an opted-out one is refunded and marked.
func (s *Service) feed(ctx context.Context, tx *store.Tx, c model.Client, cp model.Campaign, next []model.Recipient) error {
	if st, err := tx.LockCampaign(ctx, c.ID, cp.ID); err != nil || st.Status != model.CampaignSending {
		return err // paused or cancelled meanwhile: queue nothing
	}
	now := s.Clock().UTC()
	for _, rc := range next {
		m, err := s.Outbound.QueuePrepaid(ctx, tx, c, rc.Phone, rc.Body, rc.CostCents, cp.ID)
		switch {
		case errors.Is(err, outbound.ErrOptedOut), errors.Is(err, outbound.ErrDLTMismatch):
			why := "opted out"
			rc.Status, rc.Error = model.RecipientOptedOut, "the recipient has opted out"
			if errors.Is(err, outbound.ErrDLTMismatch) {
				// The client requires DLT and this recipient's text matches none of its
				// templates: not sent, refunded, as a recipient who was never sent.
				why = "no DLT template matches"
				rc.Status, rc.Error = model.RecipientCancelled, "not sent: the client requires DLT and this text matches none of its templates"
			}
			if rc.CostCents > 0 {
				if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: c.ID,
					Kind: model.LedgerRefund, AmountCents: rc.CostCents, Reference: "campaign " + cp.ID + ": " + why,
					CreatedAt: now}); err != nil {
					return err
				}
			}
		case err != nil:
			return err
		default:
			rc.Status, rc.MessageID = model.RecipientQueued, m.ID
		}
		if err := tx.SetRecipient(ctx, rc); err != nil {
			return err
		}
	}
	return nil
}
