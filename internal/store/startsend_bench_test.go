package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// queuedMessages stores n queued outbound messages and returns their ids.
func queuedMessages(b *testing.B, s *store.Store, n int) []string {
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, n)
	ibikitest.Must(b, s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertClient(ctx, model.Client{ID: "acme", Name: "Acme", Active: true, WebhookSecret: "whsec_x"}); err != nil {
			return err
		}
		for i := range n {
			ids[i] = model.NewID(model.PrefixMessage)
			m := model.Message{ID: ids[i], ClientID: "acme", Direction: model.Outbound, Channel: model.ChannelSMS,
				To: fmt.Sprintf("+1555%07d", i), Body: "bench message body", Status: model.StatusQueued, Provider: "sink",
				RoutedBy: model.RoutedByOutbound, Segments: 1, Encoding: "GSM-7", CostCents: 1, StatusAt: now, ReceivedAt: now, CreatedAt: now}
			if err := tx.QueueOutbound(ctx, m, false, model.PriorityBulk); err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

// BenchmarkStartSends is the claim's step for a batch of 64 (per message: ns/op / 64), "batch",
// against "one by one", the statement a run used before for each message.
func BenchmarkStartSends(b *testing.B) {
	for _, bench := range []struct {
		name  string
		start func(ctx context.Context, tx *store.Tx, ids []string) error
	}{
		{"batch", func(ctx context.Context, tx *store.Tx, ids []string) error {
			_, err := tx.StartSends(ctx, ids, []string{"sink"}, time.Now())
			return err
		}},
		{"one by one", func(ctx context.Context, tx *store.Tx, ids []string) error {
			for _, id := range ids {
				if _, err := tx.StartSend(ctx, id, time.Now()); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(bench.name, func(b *testing.B) {
			s := ibikitest.NewStore(b)
			ctx := context.Background()
			ids := queuedMessages(b, s, 64*(b.N+1))
			b.ResetTimer()
			for i := range b.N {
				ibikitest.Must(b, s.InTx(ctx, func(tx *store.Tx) error { return bench.start(ctx, tx, ids[i*64:(i+1)*64]) }))
			}
		})
	}
}
