package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

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
