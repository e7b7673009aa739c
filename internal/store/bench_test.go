package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// BenchmarkInboundPipeline runs the writes one inbound message costs from end to end (accept,
// route with its delivery born leased to this process, one successful attempt recorded), from
// many goroutines so that group commit works as it does under load. ns/op is the database's
// share of one message.
func BenchmarkInboundPipeline(b *testing.B) {
	s := ibikitest.NewStore(b)
	ctx := context.Background()
	now := time.Now()
	ibikitest.Must(b, s.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertClient(ctx, model.Client{ID: "acme", Name: "Acme", Active: true, WebhookSecret: "whsec_x", WebhookURL: "http://x"})
	}))
	// As in the server: new deliveries are born leased to the runner (which here does nothing).
	s.LeaseNewDeliveries(idleLessee{})
	var (
		seq     atomic.Int64
		convIDs sync.Map // phone → conversation id, as routing's cache holds them
	)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			if err := onePipeline(ctx, s, &convIDs, n, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// idleLessee takes new deliveries born leased to it, and does nothing with them.
type idleLessee struct{}

func (idleLessee) Lease() (string, time.Time) { return "bench", time.Now().Add(time.Minute) }
func (idleLessee) Take(model.Job)             {}

func onePipeline(ctx context.Context, s *store.Store, convIDs *sync.Map, n int64, now time.Time) error {
	from := fmt.Sprintf("+1555%07d", n%10000)
	m := model.Message{ID: model.NewID(model.PrefixMessage), Direction: model.Inbound, Channel: model.ChannelSMS, From: from,
		To: "+15557654321", Body: "bench", Status: model.StatusReceived, Provider: "bench",
		ProviderMessageID: fmt.Sprint(n), ReceivedAt: now, CreatedAt: now}
	err := s.InTx(ctx, func(tx *store.Tx) (err error) {
		_, _, err = tx.InsertInbound(ctx, m)
		return err
	})
	if err != nil {
		return err
	}
	d := model.Delivery{ID: model.NewID(model.PrefixDelivery), ClientID: "acme", MessageID: m.ID, Type: model.EventMessageReceived,
		Payload: []byte(`{"type":"message.received","data":{}}`), Status: model.DeliveryPending, CreatedAt: now}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		// As routing does: a conversation seen before is touched by its (cached) id.
		touch, id := tx.TouchInbound, model.NewID(model.PrefixConversation)
		if known, ok := convIDs.Load(from); ok {
			touch, id = tx.TouchKnownInbound, known.(string)
		}
		conv, err := touch(ctx, "acme", m, id)
		if err != nil {
			return err
		}
		convIDs.Store(from, conv)
		if err := tx.SetMessageRoute(ctx, m.ID, "acme", conv, model.RoutedByBusiness); err != nil {
			return err
		}
		d.ConversationID = conv
		return tx.EnqueueDelivery(ctx, d)
	})
	if err != nil {
		return err
	}
	// A delivery born waiting (another of its conversation was in flight) is not ours to
	// finish: FinishDelivery reports false then (the runner would roll back; here the attempt
	// stays, which changes nothing of the cost).
	job := model.Job{Kind: model.JobWebhook, ClientID: "acme", Ref: d.ID, OrderKey: d.ConversationID, Attempts: 1}
	return s.InTx(ctx, func(tx *store.Tx) error {
		d.Status, d.Attempts, d.CompletedAt = model.DeliverySucceeded, 1, now
		_, err := tx.FinishDelivery(ctx, job, &model.Attempt{DeliveryID: d.ID, ClientID: "acme", At: now, URL: "http://x", StatusCode: 200}, d)
		return err
	})
}

// BenchmarkSendPipeline runs the writes one sent message costs (accept: conversation, message
// with its place in the send queue, charge at the commit; claim with the "sending" step; the
// outcome and leaving the queue), accepts from 32 goroutines as the API does under load, and
// claims and records in batches of 64 as the dispatcher does. ns/op is the database's share of
// one message.
func BenchmarkSendPipeline(b *testing.B) {
	s := ibikitest.NewStore(b)
	ctx := context.Background()
	ibikitest.Must(b, s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertClient(ctx, model.Client{ID: "acme", Name: "Acme", Active: true, WebhookSecret: "whsec_x"}); err != nil {
			return err
		}
		_, err := tx.MoveCredits(ctx, model.LedgerEntry{ID: model.NewID(model.PrefixLedger), ClientID: "acme",
			Kind: model.LedgerTopUp, AmountCents: 1 << 40, CreatedAt: time.Now()})
		return err
	}))
	var seq atomic.Int64
	b.ResetTimer()
	const batch = 64
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		accepted := make(chan error, n)
		for range n {
			go func() { accepted <- acceptOne(ctx, s, seq.Add(1)) }()
		}
		for range n {
			ibikitest.Must(b, <-accepted)
		}
		var (
			jobs    []model.Job
			started []model.Message
		)
		now := time.Now()
		ibikitest.Must(b, s.InTx(ctx, func(tx *store.Tx) (err error) {
			jobs, err = tx.ClaimSends(ctx, store.Lane{ClientID: "acme", Priority: model.PriorityNormal}, now, now.Add(time.Minute), "bench", n)
			if err != nil {
				return err
			}
			ids := make([]string, len(jobs))
			for i, j := range jobs {
				ids[i] = j.Ref
			}
			started, err = tx.StartSends(ctx, ids, []string{"sink"}, now)
			return err
		}))
		if len(started) != n {
			b.Fatalf("started %d of %d", len(started), n)
		}
		ibikitest.Must(b, s.InTx(ctx, func(tx *store.Tx) error {
			for _, m := range started {
				if err := tx.ChangeStatus(ctx, store.StatusChange{ID: m.ID, From: model.StatusSending, To: model.StatusSent,
					ProviderMessageID: "p" + m.ID, At: now}); err != nil {
					return err
				}
			}
			left, err := tx.FinishSends(ctx, jobs)
			if err == nil && left != len(jobs) {
				err = fmt.Errorf("finished %d of %d", left, len(jobs))
			}
			return err
		}))
		// The receipts: each its own function, as the providers' reports are.
		for _, m := range started {
			go func() {
				accepted <- s.InTx(ctx, func(tx *store.Tx) error {
					return tx.ChangeStatus(ctx, store.StatusChange{ID: m.ID, From: model.StatusSent, To: model.StatusDelivered, At: now})
				})
			}()
		}
		for range started {
			ibikitest.Must(b, <-accepted)
		}
	}
}

// acceptOne is what Send writes for one message to a new recipient.
func acceptOne(ctx context.Context, s *store.Store, n int64) error {
	now := time.Now()
	return s.InTx(ctx, func(tx *store.Tx) error {
		m := model.Message{ID: model.NewIDAt(model.PrefixMessage, now), ClientID: "acme", Direction: model.Outbound,
			Channel: model.ChannelSMS, To: fmt.Sprintf("+4670%07d", n), Body: fmt.Sprintf("kbench mt %d", n),
			Status: model.StatusQueued, Provider: "sink", RoutedBy: model.RoutedByOutbound, Segments: 1, Encoding: "GSM-7",
			CostCents: 1, StatusAt: now, ReceivedAt: now, CreatedAt: now}
		conv, _, err := tx.TouchOutbound(ctx, "acme", m, model.NewIDAt(model.PrefixConversation, now), true)
		if err != nil {
			return err
		}
		m.ConversationID = conv
		if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: "acme",
			Kind: model.LedgerCharge, AmountCents: -1, Reference: "message " + m.ID, MessageID: m.ID, CreatedAt: now}); err != nil {
			return err
		}
		return tx.QueueOutbound(ctx, m, true, model.PriorityNormal)
	})
}
