package outbound_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/store"
)

// claimable reports how many of the client's sends a claim at `at` takes.
func (r rig) claimable(at time.Time) int {
	r.t.Helper()
	var jobs []model.Job
	ctx := context.Background()
	errLook := errors.New("look, do not take")
	err := r.st.InTx(ctx, func(tx *store.Tx) (err error) {
		if jobs, err = tx.ClaimSends(ctx, store.Lane{ClientID: "acme", Priority: model.PriorityNormal}, at, at.Add(time.Minute), "test", 10); err != nil {
			return err
		}
		return errLook // rolled back
	})
	if !errors.Is(err, errLook) {
		r.t.Fatal(err)
	}
	return len(jobs)
}

func TestScheduledMessages(t *testing.T) {
	t.Run("a scheduled message is charged now, claimed at its time, and sent then", func(t *testing.T) {
		f := &fake{}
		r := newRig(t, f)
		at := time.Now().Add(10 * time.Minute)
		m, err := r.svc.Send(context.Background(), r.client(), outbound.Request{To: "+15552040001", Body: "later", SendAt: at, Priority: model.PriorityNormal})
		ibikitest.Must(t, err)
		if m.Status != model.StatusScheduled || r.balance() != 98 {
			t.Fatalf("scheduled as %s, balance %d", m.Status, r.balance())
		}
		if n := r.claimable(time.Now()); n != 0 {
			t.Errorf("%d claimed before its time", n)
		}
		if n := r.claimable(at.Add(time.Second)); n != 1 {
			t.Errorf("%d claimed at its time, want 1", n)
		}
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 1 || got.SentAt.IsZero() {
			t.Errorf("after its run: %s, %d calls, sent at %v", got.Status, f.Calls(), got.SentAt)
		}
	})
	t.Run("a canceled scheduled message is refunded and never sent", func(t *testing.T) {
		f := &fake{}
		r := newRig(t, f)
		m, err := r.svc.Send(context.Background(), r.client(), outbound.Request{To: "+15552040001", Body: "later", SendAt: time.Now().Add(time.Hour)})
		ibikitest.Must(t, err)
		c, err := r.svc.Cancel(context.Background(), "acme", m.ID)
		if err != nil || c.Status != model.StatusCanceled || r.balance() != 100 {
			t.Fatalf("cancel: %v %s, balance %d", err, c.Status, r.balance())
		}
		if _, err := r.svc.Cancel(context.Background(), "acme", m.ID); !errors.Is(err, outbound.ErrNotScheduled) {
			t.Errorf("a second cancel: %v", err)
		}
		if _, err := r.svc.Cancel(context.Background(), "other", m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another client's cancel: %v", err)
		}
		if n := r.claimable(time.Now().Add(2 * time.Hour)); n != 0 {
			t.Errorf("a canceled message is still claimable")
		}
		r.run(m)
		if f.Calls() != 0 || r.message(m.ID).Status != model.StatusCanceled || r.balance() != 100 {
			t.Errorf("a run of the canceled message: %d calls, %s, balance %d", f.Calls(), r.message(m.ID).Status, r.balance())
		}
	})
	t.Run("a message whose validity period elapsed fails unsent and is refunded", func(t *testing.T) {
		f := &fake{}
		r := newRig(t, f)
		m, err := r.svc.Send(context.Background(), r.client(), outbound.Request{To: "+15552040001", Body: "urgent", ValidFor: time.Second})
		ibikitest.Must(t, err)
		r.svc.Clock = func() time.Time { return time.Now().Add(time.Minute) }
		r.run(m)
		got := r.message(m.ID)
		if got.Status != model.StatusFailed || got.ErrorCode != outbound.ErrorValidityExpired || f.Calls() != 0 || r.balance() != 100 {
			t.Errorf("after the validity: %s %q, %d calls, balance %d", got.Status, got.ErrorCode, f.Calls(), r.balance())
		}
	})
	t.Run("schedules out of bounds are refused", func(t *testing.T) {
		r := newRig(t, &fake{})
		for _, at := range []time.Time{time.Now().Add(-time.Minute), time.Now().Add(10 * time.Second), time.Now().Add(36 * 24 * time.Hour)} {
			var fe *outbound.FieldError
			if _, err := r.svc.Send(context.Background(), r.client(), outbound.Request{To: "+15552040001", Body: "x", SendAt: at}); !errors.As(err, &fe) || fe.Field != "send_at" {
				t.Errorf("send_at %v: %v", at, err)
			}
		}
	})
}
