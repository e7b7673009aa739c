package queue_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

// Stats reports the jobs table by kind and state, and the deliveries still in the queue (their
// own table) as webhook jobs.
func TestStatsNameTheKindOfEachTable(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertClient(ctx, model.Client{ID: "acme", Name: "acme", Active: true, WebhookSecret: "whsec_x"})
	}))
	enqueue(t, s, model.Job{Ref: "x", ClientID: "acme"})
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range []string{"evt_1", "evt_2"} {
			if err := tx.EnqueueDelivery(ctx, model.Delivery{ID: id, ClientID: "acme", ConversationID: "conv_a",
				Type: model.EventMessageReceived, Payload: []byte(`{}`), Status: model.DeliveryPending, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}))
	stats, err := queue.Stats(ctx, s)
	ibikitest.Must(t, err)
	var got []string
	for _, st := range stats {
		got = append(got, fmt.Sprintf("%s/%s=%d", st.Kind, st.State, st.Count))
	}
	slices.Sort(got)
	if want := []string{"test/queued=1", "webhook/queued=1", "webhook/waiting=1"}; !slices.Equal(got, want) {
		t.Fatalf("stats = %v, want %v", got, want)
	}
}
