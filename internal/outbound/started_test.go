package outbound_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
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
	r, f, l := leasedRig(t)
	ctx := context.Background()
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
	r.runTaken(l.taken[0])
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

// On SQLite a client's send to a provider that needs the attempt recorded first is born started
// too: the 202's message says "queued", the row "sending" with its attempt, and the send run is
// handed it (no claim). On PostgreSQL it is born queued, for the claim. A send of bulk priority
// is never born started.
func TestClientSendsAreBornStartedOnSQLite(t *testing.T) {
	r, f, l := leasedRig(t)
	ctx := context.Background()
	m := r.send()
	got := r.message(m.ID)
	if r.st.Engine() != store.SQLite {
		if len(l.taken) != 0 || got.Status != model.StatusQueued {
			t.Fatalf("PostgreSQL: taken %+v, stored %s; want born queued", l.taken, got.Status)
		}
		return
	}
	if m.Status != model.StatusQueued || m.SendAttempts != 0 || !m.SentAt.IsZero() || len(l.taken) != 1 ||
		l.taken[0].Ref != m.ID || got.Status != model.StatusSending || got.SendAttempts != 1 {
		t.Fatalf("answered %s, taken %+v, stored %s with %d attempts; want queued, handed over, sending with 1",
			m.Status, l.taken, got.Status, got.SendAttempts)
	}
	r.runTaken(l.taken[0])
	if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 1 || got.SendAttempts != 1 {
		t.Fatalf("after its run: %s with %d calls, %d attempts; want sent, 1, 1", got.Status, f.Calls(), got.SendAttempts)
	}
	bulk, err := r.svc.Send(ctx, r.client(), outbound.Request{To: "+15552040002", Body: "hi", Priority: model.PriorityBulk})
	ibikitest.Must(t, err)
	if got := r.message(bulk.ID); len(l.taken) != 1 || got.Status != model.StatusQueued {
		t.Fatalf("bulk: taken %d, stored %s; want queued for the claim", len(l.taken), got.Status)
	}
}

// A client's send reads the recipient's opt-out in its transaction (on PostgreSQL it rides in
// the conversation's write), not before it: a STOP committed after the send's other reads fails
// the send, nothing stored or charged, rather than it being born started and handed to the
// provider with no claim to read it.
func TestAStopBeforeTheCommitFailsTheSend(t *testing.T) {
	r, _, l := leasedRig(t)
	ctx := context.Background()
	m, err := r.svc.SendAfterReads(ctx, r.client(), outbound.Request{To: "+15552040001", Body: "hello", Priority: model.PriorityNormal},
		func() {
			ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
				return tx.UpsertOptOut(ctx, model.OptOut{ClientID: "acme", Phone: "+15552040001", Source: "sms", Keyword: "STOP",
					CreatedAt: time.Now()})
			}))
		})
	if !errors.Is(err, outbound.ErrOptedOut) {
		t.Fatalf("send = %+v, %v; want ErrOptedOut", m, err)
	}
	if len(l.taken) != 0 || r.balance() != 100 {
		t.Fatalf("taken %d, balance %d; want nothing handed over or charged", len(l.taken), r.balance())
	}
	r.noMessagesTo("+15552040001")
}

// noMessagesTo fails the test when a message to phone is stored.
func (r rig) noMessagesTo(phone string) {
	r.t.Helper()
	got, err := r.st.ClientMessages(context.Background(), "acme", store.MessageFilter{To: phone}, "", 10)
	ibikitest.Must(r.t, err)
	if len(got) != 0 {
		r.t.Errorf("stored %+v; want no message to %s", got, phone)
	}
}

// Sends to an opted-out phone, made at once with others (so that they share commits), fail
// alone: each send hears its own outcome, and only the others are stored and charged.
func TestOptedOutSendsFailAloneInTheirBatch(t *testing.T) {
	r, _, _ := leasedRig(t)
	ctx := context.Background()
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.UpsertOptOut(ctx, model.OptOut{ClientID: "acme", Phone: "+15552040100", Source: "sms", Keyword: "STOP",
			CreatedAt: time.Now()})
	}))
	const n = 40
	var wg sync.WaitGroup
	sent := make([]model.Message, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			to := "+15552040101"
			if i%4 == 0 {
				to = "+15552040100"
			}
			sent[i], errs[i] = r.svc.Send(ctx, r.client(), outbound.Request{To: to, Body: "hello", Priority: model.PriorityNormal})
		})
	}
	wg.Wait()
	var cost int64
	for i, err := range errs {
		switch {
		case i%4 == 0 && !errors.Is(err, outbound.ErrOptedOut):
			t.Errorf("send %d to the opted-out phone: %+v, %v; want ErrOptedOut", i, sent[i], err)
		case i%4 != 0 && err != nil:
			t.Errorf("send %d: %v", i, err)
		case i%4 != 0:
			got := r.message(sent[i].ID)
			if got.To != "+15552040101" || got.CostCents <= 0 {
				t.Errorf("send %d stored as %+v", i, got)
			}
			cost += got.CostCents
		}
	}
	if want := 100 - cost; r.balance() != want {
		t.Errorf("balance %d, want %d: one charge for each send that went", r.balance(), want)
	}
	r.noMessagesTo("+15552040100")
}

// runTaken runs a send handed to the send runner, and records it as the queue records a
// finished run.
func (r rig) runTaken(j model.Job) {
	r.t.Helper()
	ctx := context.Background()
	res := r.svc.Handle(ctx, j)
	ibikitest.Must(r.t, r.st.InTx(ctx, func(tx *store.Tx) error {
		if res.Write != nil {
			if err := res.Write(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.FinishSend(ctx, j)
		return err
	}))
}

// leasedRig is a rig whose store hands sends born started to a lessee, for the test's length.
func leasedRig(t *testing.T) (rig, *fake, *lessee) {
	f := &fake{}
	r := newRig(t, f)
	l := &lessee{}
	r.st.LeaseNewSends(l)
	t.Cleanup(func() { r.st.LeaseNewSends(nil) })
	return r, f, l
}
