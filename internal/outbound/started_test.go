package outbound_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// lessee is a send Lessee that keeps the jobs it is handed.
type lessee struct {
	mu    sync.Mutex
	taken []model.Job
}

func (l *lessee) Lease() (string, time.Time) { return "me", time.Now().Add(time.Minute) }
func (l *lessee) Take(j model.Job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken = append(l.taken, j)
}

// A service's answer is stored as its claim would leave it ("sending", attempt recorded) and
// handed to the send run, which calls the provider at once with the message it was given: had
// the run read the message instead, it would find it "sending" and, with a provider that can
// neither look sends up nor recognise a repeat, leave it in doubt unsent. Given back unrun, its
// attempt is undone and the run forgets it: the next run starts it afresh and sends it once.
func TestServiceAnswersAreBornStarted(t *testing.T) {
	f := &fake{}
	r := newRig(t, f)
	ctx := context.Background()
	l := &lessee{}
	r.st.LeaseNewSends(l)
	defer r.st.LeaseNewSends(nil)
	in := model.Message{ID: model.NewID(model.PrefixMessage), ClientID: "acme", Direction: model.Inbound, Channel: model.ChannelSMS,
		From: "+15552040009", To: "57675", Body: "BAL", Provider: "fake"}
	answer := func() model.Message {
		t.Helper()
		var reply model.Message
		ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
			var why string
			var err error
			reply, why, err = r.svc.QueueServiceReply(ctx, tx, r.client(), in, "Your balance is 5", "svc_1")
			if err == nil && why != "" {
				t.Errorf("not answered: %s", why)
			}
			return err
		}))
		return reply
	}
	reply := answer()
	if len(l.taken) != 1 || l.taken[0].Ref != reply.ID {
		t.Fatalf("taken %+v, want the answer %s handed to the send run", l.taken, reply.ID)
	}
	if got := r.message(reply.ID); got.Status != model.StatusSending || got.SendAttempts != 1 {
		t.Fatalf("answer stored %s with %d attempts, want sending, 1", got.Status, got.SendAttempts)
	}
	res := r.svc.Handle(ctx, l.taken[0])
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		if res.Write != nil {
			if err := res.Write(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.FinishSend(ctx, l.taken[0]) // as the queue records a finished run
		return err
	}))
	if got := r.message(reply.ID); got.Status != model.StatusSent || f.Calls() != 1 || got.SendAttempts != 1 {
		t.Fatalf("after its run the answer is %s (%s) with %d calls, want sent with 1", got.Status, got.ErrorCode, f.Calls())
	}

	// A second answer while nothing is ahead: born started again; given back unrun.
	second := answer()
	if len(l.taken) != 2 {
		t.Fatalf("taken %d, want 2", len(l.taken))
	}
	j := l.taken[1]
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		back, err := tx.ReturnStartedSend(ctx, j, time.Now())
		if err == nil && !back {
			t.Error("not given back")
		}
		return err
	}))
	r.svc.Kind(1).Returned(j)
	if got := r.message(second.ID); got.Status != model.StatusQueued || got.SendAttempts != 0 {
		t.Fatalf("given back: %s with %d attempts, want queued, 0", got.Status, got.SendAttempts)
	}
	r.run(second)
	if got := r.message(second.ID); got.Status != model.StatusSent || f.Calls() != 2 || got.SendAttempts != 1 {
		t.Fatalf("run afresh: %s with %d calls and %d attempts, want sent, 2 calls, 1 attempt", got.Status, f.Calls(), got.SendAttempts)
	}
}
