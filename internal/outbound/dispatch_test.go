package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

// fake is a provider whose next answers the test decides. It counts the calls.
type fake struct {
	mu      sync.Mutex
	calls   []provider.Outbound
	answers []error
	caps    provider.Capabilities
}

func (f *fake) Send(_ context.Context, m provider.Outbound) (provider.SendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, m)
	if len(f.answers) > 0 {
		err := f.answers[0]
		f.answers = f.answers[1:]
		if err != nil {
			return provider.SendResult{}, err
		}
	}
	return provider.SendResult{ProviderMessageID: "p-" + m.MessageID}, nil
}

func (f *fake) Capabilities() provider.Capabilities { return f.caps }

func (f *fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// reconciling is a fake that can look sends up.
type reconciling struct {
	*fake
	known map[string]string
}

func (r reconciling) Lookup(_ context.Context, id string) (provider.SendResult, bool, error) {
	pid, ok := r.known[id]
	return provider.SendResult{ProviderMessageID: pid}, ok, nil
}

type rig struct {
	t   *testing.T
	st  *store.Store
	svc *outbound.Service
}

func newRig(t *testing.T, p provider.Sender) rig {
	st := ibikitest.NewStore(t)
	ctx := context.Background()
	now := time.Now()
	ibikitest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertClient(ctx, model.Client{ID: "acme", Name: "Acme", Active: true, WebhookSecret: "whsec_eA==",
			RateCents: 2, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		_, err := tx.MoveCredits(ctx, model.LedgerEntry{ID: model.NewID(model.PrefixLedger), ClientID: "acme",
			Kind: model.LedgerTopUp, AmountCents: 100, CreatedAt: now})
		return err
	}))
	reg := provider.NewRegistry()
	reg.Add("fake", "fake", p)
	svc := &outbound.Service{Store: st, Providers: reg, Region: "US", Clock: time.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return rig{t: t, st: st, svc: svc}
}

func (r rig) client() model.Client {
	c, err := r.st.Client(context.Background(), "acme")
	ibikitest.Must(r.t, err)
	return c
}

func (r rig) send() model.Message {
	m, err := r.svc.Send(context.Background(), r.client(), outbound.Request{To: "+15552040001", Body: "hello", Priority: model.PriorityNormal})
	ibikitest.Must(r.t, err)
	return m
}

// run runs the send job once and records its outcome as the queue runner would.
func (r rig) run(m model.Message) queue.Result {
	r.t.Helper()
	ctx := context.Background()
	res := r.svc.Handle(ctx, model.Job{Kind: model.JobSend, ClientID: m.ClientID, Ref: m.ID})
	if res.Write != nil {
		ibikitest.Must(r.t, r.st.InTx(ctx, func(tx *store.Tx) error { return res.Write(ctx, tx) }))
	}
	return res
}

func (r rig) message(id string) model.Message {
	m, err := r.st.MessageByID(context.Background(), id)
	ibikitest.Must(r.t, err)
	return m
}

func (r rig) balance() int64 {
	b, err := r.st.Balance(context.Background(), "acme")
	ibikitest.Must(r.t, err)
	sum, err := r.st.LedgerSum(context.Background(), "acme")
	ibikitest.Must(r.t, err)
	if sum != b {
		r.t.Errorf("balance %d differs from the ledger's sum %d", b, sum)
	}
	return b
}

func TestSendJobOutcomes(t *testing.T) {
	t.Run("an accepted send is recorded as sent with the provider's id", func(t *testing.T) {
		f := &fake{}
		r := newRig(t, f)
		m := r.send()
		r.run(m)
		got := r.message(m.ID)
		if got.Status != model.StatusSent || got.ProviderMessageID != "p-"+m.ID || got.SendAttempts != 1 || f.Calls() != 1 {
			t.Errorf("message %s provider id %q attempts %d calls %d", got.Status, got.ProviderMessageID, got.SendAttempts, f.Calls())
		}
		if r.balance() != 98 {
			t.Errorf("balance = %d, want 98", r.balance())
		}
		r.run(m) // a repeated run (lapsed lease) sends nothing more
		if f.Calls() != 1 {
			t.Errorf("a second run called the provider again")
		}
	})
	t.Run("a permanent refusal fails the message and refunds it", func(t *testing.T) {
		f := &fake{answers: []error{&provider.SendError{Permanent: true, Code: "21211", Message: "invalid To"}}}
		r := newRig(t, f)
		m := r.send()
		r.run(m)
		got := r.message(m.ID)
		if got.Status != model.StatusFailed || got.ErrorCode != "21211" || got.ErrorMessage != "invalid To" {
			t.Errorf("message %s %q %q", got.Status, got.ErrorCode, got.ErrorMessage)
		}
		if r.balance() != 100 {
			t.Errorf("balance = %d, want the refund back to 100", r.balance())
		}
	})
	t.Run("a temporary refusal queues the message again and retries", func(t *testing.T) {
		f := &fake{answers: []error{&provider.SendError{Code: "429", Message: "slow down", RetryAfter: 3 * time.Second}}}
		r := newRig(t, f)
		m := r.send()
		res := r.run(m)
		if res.Err == nil || time.Until(res.RetryAt) < 2*time.Second {
			t.Errorf("result = %+v, want a retry after about 3s", res)
		}
		if got := r.message(m.ID); got.Status != model.StatusQueued {
			t.Errorf("status = %s, want queued", got.Status)
		}
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 2 {
			t.Errorf("after the retry: %s with %d calls", got.Status, f.Calls())
		}
	})
	t.Run("after an interrupted call a provider that can look sends up is asked, not sent to again", func(t *testing.T) {
		f := &fake{answers: []error{errors.New("read: connection reset")}}
		rec := reconciling{fake: f, known: map[string]string{}}
		r := newRig(t, rec)
		m := r.send()
		if res := r.run(m); res.Err == nil {
			t.Fatalf("an interrupted call must retry")
		}
		if got := r.message(m.ID); got.Status != model.StatusSending {
			t.Fatalf("status = %s, want sending (in doubt)", got.Status)
		}
		rec.known[m.ID] = "p-found"
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusSent || got.ProviderMessageID != "p-found" || f.Calls() != 1 {
			t.Errorf("reconciled: %s %q with %d calls, want sent p-found with 1", got.Status, got.ProviderMessageID, f.Calls())
		}
	})
	t.Run("after an interrupted call an idempotent provider gets the same message again", func(t *testing.T) {
		f := &fake{answers: []error{context.DeadlineExceeded}, caps: provider.Capabilities{Idempotent: true}}
		r := newRig(t, f)
		m := r.send()
		r.run(m)
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 2 || f.calls[1].MessageID != m.ID {
			t.Errorf("%s with %d calls", got.Status, f.Calls())
		}
	})
	t.Run("after an interrupted call a provider that can neither look up nor de-duplicate is not resent", func(t *testing.T) {
		f := &fake{answers: []error{context.DeadlineExceeded}}
		r := newRig(t, f)
		m := r.send()
		r.run(m)
		r.run(m)
		got := r.message(m.ID)
		if got.Status != model.StatusUnknown || got.ErrorCode != "send_in_doubt" || f.Calls() != 1 {
			t.Errorf("%s %q with %d calls, want unknown send_in_doubt with 1", got.Status, got.ErrorCode, f.Calls())
		}
		if r.balance() != 98 {
			t.Errorf("an in-doubt message is not refunded: balance %d", r.balance())
		}
	})
	t.Run("an unknown provider fails the message and refunds it", func(t *testing.T) {
		r := newRig(t, &fake{})
		m := r.send()
		r.svc.Providers = provider.NewRegistry()
		r.svc.Providers.Add("other", "fake", &fake{})
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusFailed || got.ErrorCode != "provider_not_configured" {
			t.Errorf("%s %q", got.Status, got.ErrorCode)
		}
		if r.balance() != 100 {
			t.Errorf("balance = %d, want 100", r.balance())
		}
	})
}

func TestStatusNeverMovesBackwards(t *testing.T) {
	f := &fake{}
	r := newRig(t, f)
	m := r.send()
	r.run(m)
	ctx := context.Background()
	apply := func(s model.MessageStatus, code string) {
		t.Helper()
		ibikitest.Must(t, r.svc.ApplyStatus(ctx, "fake", []provider.StatusUpdate{{ProviderMessageID: "p-" + m.ID, Status: s, ErrorCode: code}}))
	}
	apply(model.StatusDelivered, "")
	apply(model.StatusSent, "")
	apply(model.StatusFailed, "30003")
	apply(model.StatusDelivered, "")
	got := r.message(m.ID)
	if got.Status != model.StatusDelivered || got.ErrorCode != "" {
		t.Errorf("status %s %q, want delivered", got.Status, got.ErrorCode)
	}
	if r.balance() != 98 {
		t.Errorf("a late failure refunded a delivered message: balance %d", r.balance())
	}

	t.Run("a message without a final report becomes unknown, and a late report still lands", func(t *testing.T) {
		m := r.send()
		r.run(m)
		n, err := r.svc.MarkUnknown(ctx, -time.Second)
		if err != nil || n != 1 {
			t.Fatalf("marked %d, %v", n, err)
		}
		if got := r.message(m.ID); got.Status != model.StatusUnknown {
			t.Fatalf("status = %s", got.Status)
		}
		ibikitest.Must(t, r.svc.ApplyStatus(ctx, "fake", []provider.StatusUpdate{{ProviderMessageID: "p-" + m.ID, Status: model.StatusUndelivered, ErrorCode: "30005"}}))
		if got := r.message(m.ID); got.Status != model.StatusUndelivered || got.ErrorCode != "30005" {
			t.Errorf("status = %s %q", got.Status, got.ErrorCode)
		}
	})
}

func TestDeadSendJobFailsAndRefunds(t *testing.T) {
	r := newRig(t, &fake{})
	m := r.send()
	kind := r.svc.Kind(1)
	if kind.MaxAttempts != 12 {
		t.Errorf("a send job dies after %d tries, docs/providers.md says 12", kind.MaxAttempts)
	}
	ctx := context.Background()
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		return kind.OnDead(ctx, tx, model.Job{Kind: model.JobSend, Ref: m.ID}, errors.New("503 again"))
	}))
	if got := r.message(m.ID); got.Status != model.StatusFailed || got.ErrorCode != "send_failed" {
		t.Errorf("%s %q", got.Status, got.ErrorCode)
	}
	if r.balance() != 100 {
		t.Errorf("balance = %d, want 100", r.balance())
	}
}

func TestOptOutAfterQueueingStopsTheSend(t *testing.T) {
	f := &fake{}
	r := newRig(t, f)
	m := r.send()
	ctx := context.Background()
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.UpsertOptOut(ctx, model.OptOut{ClientID: "acme", Phone: m.To, Source: "keyword", Keyword: "STOP", CreatedAt: time.Now()})
	}))
	r.run(m)
	if got := r.message(m.ID); got.Status != model.StatusFailed || got.ErrorCode != "recipient_opted_out" || f.Calls() != 0 {
		t.Errorf("%s %q with %d calls", got.Status, got.ErrorCode, f.Calls())
	}
	if r.balance() != 100 {
		t.Errorf("balance = %d, want the refund", r.balance())
	}
}

func TestUnreachableProviderRetriesInsteadOfDoubt(t *testing.T) {
	f := &fake{answers: []error{&provider.SendError{Code: "unreachable", Message: "connection refused"}}}
	r := newRig(t, f)
	m := r.send()
	if res := r.run(m); res.Err == nil {
		t.Fatal("want a retry")
	}
	if got := r.message(m.ID); got.Status != model.StatusQueued {
		t.Fatalf("status = %s, want queued again (nothing was sent)", got.Status)
	}
	r.run(m)
	if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 2 {
		t.Errorf("%s with %d calls", got.Status, f.Calls())
	}
}

func TestQuietHoursHoldCampaignMessages(t *testing.T) {
	f := &fake{}
	r := newRig(t, f)
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	night := time.Date(2026, 11, 22, 23, 0, 0, 0, ny)
	r.svc.Clock = func() time.Time { return night }
	c := r.client()
	c.QuietHours, c.UpdatedAt = "21:00-08:00", time.Now()
	var m model.Message
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateClient(ctx, c); err != nil {
			return err
		}
		if err := tx.InsertCampaign(ctx, model.Campaign{ID: "cmp_q", ClientID: "acme", Name: "q", Message: "x",
			Status: model.CampaignSending, QuietHours: true, CreatedAt: time.Now()}); err != nil {
			return err
		}
		var err error
		m, err = r.svc.QueuePrepaid(ctx, tx, c, "+12125551234", "night owl", 2, "cmp_q")
		return err
	}))
	res := r.run(m)
	if want := time.Date(2026, 11, 23, 8, 0, 0, 0, ny); !res.Deferred || !res.RetryAt.Equal(want) || f.Calls() != 0 {
		t.Fatalf("at 23:00 in New York: %+v with %d calls, want held until %s", res, f.Calls(), want)
	}
	r.svc.Clock = func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, ny) }
	r.run(m)
	if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 1 {
		t.Errorf("at 08:00: %s with %d calls", got.Status, f.Calls())
	}
}

// A campaign's reply window opens when its message is sent, not when it was queued: a message
// held overnight by quiet hours keeps its whole window, and what came in before the send is no
// reply to it.
func TestCampaignReplyWindowRunsFromTheSend(t *testing.T) {
	f := &fake{}
	r := newRig(t, f)
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	at := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, ny) }
	r.svc.Clock = func() time.Time { return at(22, 23, 0) } // queued at 23:00, quiet until 08:00
	c := r.client()
	c.QuietHours, c.UpdatedAt = "21:00-08:00", time.Now()
	phones := []string{"+12125551231", "+12125551232", "+12125551233"}
	var msgs []model.Message
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		msgs = nil
		if err := tx.UpdateClient(ctx, c); err != nil {
			return err
		}
		if err := tx.InsertCampaign(ctx, model.Campaign{ID: "cmp_w", ClientID: "acme", Name: "w", Message: "x",
			Status: model.CampaignSending, QuietHours: true, Total: 3, CreatedAt: at(22, 23, 0)}); err != nil {
			return err
		}
		for i, p := range phones {
			rc := model.Recipient{CampaignID: "cmp_w", Seq: int64(i + 1), Line: i + 2, Phone: p, Body: "x", Segments: 1,
				Encoding: "GSM-7", CostCents: 2, Status: model.RecipientPending}
			if _, err := tx.AddRecipients(ctx, []model.Recipient{rc}); err != nil {
				return err
			}
			m, err := r.svc.QueuePrepaid(ctx, tx, c, p, "x", 2, "cmp_w")
			if err != nil {
				return err
			}
			rc.Status, rc.MessageID = model.RecipientQueued, m.ID
			if err := tx.SetRecipient(ctx, rc); err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		return nil
	}))
	for _, m := range msgs {
		if res := r.run(m); !res.Deferred || f.Calls() != 0 {
			t.Fatalf("at 23:00 the message was not held: %+v", res)
		}
	}
	r.svc.Clock = func() time.Time { return at(23, 8, 0) }
	for _, m := range msgs {
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusSent {
			t.Fatalf("at 08:00: %s", got.Status)
		}
	}

	const window = time.Hour
	replies := []struct {
		name    string
		at      time.Time
		replied bool
	}{
		{"a reply 30 minutes after the send (10 h after the queue) counts", at(23, 8, 30), true},
		{"a reply 90 minutes after the send does not", at(23, 9, 30), false},
		{"a message 30 minutes after the queue, before the send, is no reply", at(22, 23, 30), false},
	}
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		for i, rp := range replies {
			in := model.Message{ID: model.NewIDAt(model.PrefixMessage, rp.at), ClientID: "acme",
				ConversationID: msgs[i].ConversationID, Direction: model.Inbound, Channel: model.ChannelSMS,
				From: phones[i], To: "+15550000001", Body: "yes", Status: model.StatusReceived, Provider: "fake",
				ProviderMessageID: fmt.Sprintf("in-%d", i), RoutedBy: model.RoutedByContact, ReceivedAt: rp.at, CreatedAt: rp.at}
			if _, _, err := tx.InsertInbound(ctx, in); err != nil {
				return err
			}
		}
		return nil
	}))
	// Later statuses move status_at on; the window stays where the send put it.
	r.svc.Clock = func() time.Time { return at(24, 12, 0) }
	ibikitest.Must(t, r.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.ChangeStatus(ctx, store.StatusChange{ID: msgs[0].ID, From: model.StatusSent, To: model.StatusDelivered,
			At: at(24, 12, 0)})
	}))

	rs, err := r.st.Recipients(ctx, "cmp_w", "", 0, 10, window)
	ibikitest.Must(t, err)
	for i, rp := range replies {
		t.Run(rp.name, func(t *testing.T) {
			if rs[i].Replied != rp.replied {
				t.Errorf("replied = %v, want %v", rs[i].Replied, rp.replied)
			}
		})
	}
	if n, err := r.st.CampaignReplied(ctx, "cmp_w", window); err != nil || n != 1 {
		t.Errorf("CampaignReplied = %d, %v; want 1", n, err)
	}
}

// A run that finds its context ended before the provider call (the server stopping) does not
// call: a message its claim recorded "sending" goes back to "queued" rather than stay in doubt,
// and the next run sends it once. A message found in doubt stays in doubt.
func TestARunStoppedBeforeTheCallLeavesNothingInDoubt(t *testing.T) {
	t.Run("recorded sending by its claim", func(t *testing.T) {
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		f := &fake{}
		r := newRig(t, f)
		m := r.send()
		job := model.Job{Kind: model.JobSend, ClientID: m.ClientID, Ref: m.ID}
		ibikitest.Must(t, r.st.InTx(context.Background(), func(tx *store.Tx) error {
			return r.svc.Kind(1).Claimed(context.Background(), tx, []model.Job{job})
		}))
		if got := r.message(m.ID); got.Status != model.StatusSending {
			t.Fatalf("after the claim: %s, want sending", got.Status)
		}
		res := r.svc.Handle(stopped, job)
		r.write(res)
		if f.Calls() != 0 || !res.Deferred || res.RetryAt.IsZero() || res.Err != nil {
			t.Fatalf("stopped run: %d calls, result %+v; want no call and the job deferred", f.Calls(), res)
		}
		if got := r.message(m.ID); got.Status != model.StatusQueued {
			t.Fatalf("status = %s, want queued again (nothing was sent)", got.Status)
		}
		r.run(m)
		if got := r.message(m.ID); got.Status != model.StatusSent || f.Calls() != 1 {
			t.Fatalf("after the next run: %s with %d calls, want sent with 1", got.Status, f.Calls())
		}
	})
	t.Run("found sending, in doubt", func(t *testing.T) {
		f := &fake{answers: []error{errors.New("connection reset")}}
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		// The server stops while the run asks the provider about the earlier send.
		r := newRig(t, stopping{reconciling{fake: f}, stop})
		m := r.send()
		r.run(m) // no answer: in doubt
		if got := r.message(m.ID); got.Status != model.StatusSending || f.Calls() != 1 {
			t.Fatalf("after a call without answer: %s with %d calls", got.Status, f.Calls())
		}
		res := r.svc.Handle(ctx, model.Job{Kind: model.JobSend, ClientID: m.ClientID, Ref: m.ID})
		r.write(res)
		if f.Calls() != 1 || !res.Deferred {
			t.Fatalf("stopped run: %d calls, result %+v; want no second call and the job deferred", f.Calls(), res)
		}
		if got := r.message(m.ID); got.Status != model.StatusSending {
			t.Fatalf("status = %s: a message in doubt must stay sending, or the next run would send it blindly", got.Status)
		}
	})
}

// stopping is a reconciling provider that ends the run's context while it looks a send up,
// and finds nothing.
type stopping struct {
	reconciling
	stop context.CancelFunc
}

func (s stopping) Lookup(context.Context, string) (provider.SendResult, bool, error) {
	s.stop()
	return provider.SendResult{}, false, nil
}

// write commits a run's writes, as the queue runner records them.
func (r rig) write(res queue.Result) {
	r.t.Helper()
	if res.Write != nil {
		ibikitest.Must(r.t, r.st.InTx(context.Background(), func(tx *store.Tx) error { return res.Write(context.Background(), tx) }))
	}
}
