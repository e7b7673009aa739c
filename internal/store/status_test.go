package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// A status change sets what it names and keeps the rest; it applies only from the status it
// names; back to "queued" from "sending" clears sent_at.
func TestChangeStatusSetsWhatItNamesAndKeepsTheRest(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := context.Background()
	addClient(t, s, "acme")
	at := time.Now().UTC().Truncate(time.Millisecond)
	m := model.Message{ID: model.NewID(model.PrefixMessage), ClientID: "acme", Direction: model.Outbound,
		Channel: model.ChannelSMS, From: "+15550001", To: "+4670000001", Body: "hi", Status: model.StatusSending,
		Provider: "sink", RoutedBy: model.RoutedByOutbound, Segments: 1, Encoding: "GSM-7", StatusAt: at,
		ReceivedAt: at, CreatedAt: at, SentAt: at}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		conv, _, err := tx.TouchOutbound(ctx, "acme", m, model.NewID(model.PrefixConversation), false)
		if err != nil {
			return err
		}
		m.ConversationID = conv
		if err := tx.InsertOutboundSent(ctx, m); err != nil {
			return err
		}
		_, err = tx.StartSend(ctx, m.ID, at) // sent_at is the attempt's
		return err
	}))
	change := func(c store.StatusChange) error {
		c.ID = m.ID
		return s.InTx(ctx, func(tx *store.Tx) error { return tx.ChangeStatus(ctx, c) })
	}
	read := func() model.Message {
		got, err := s.MessageByID(ctx, m.ID)
		ibikitest.Must(t, err)
		return got
	}
	// Sent: the provider's id and the sender it reports; sent_at kept.
	ibikitest.Must(t, change(store.StatusChange{From: model.StatusSending, To: model.StatusSent, ProviderMessageID: "p-1",
		Sender: "+15550002", At: at.Add(2 * time.Second)}))
	if got := read(); got.Status != model.StatusSent || got.ProviderMessageID != "p-1" || got.From != "+15550002" ||
		got.ErrorCode != "" || !got.SentAt.Equal(at) {
		t.Fatalf("sent: %+v", got)
	}
	// A change from a status the message is not in changes nothing.
	if err := change(store.StatusChange{From: model.StatusSending, To: model.StatusFailed, ErrorCode: "x", At: at}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("from the wrong status: %v", err)
	}
	// Undelivered with an error: the provider id and sender kept.
	ibikitest.Must(t, change(store.StatusChange{From: model.StatusSent, To: model.StatusUndelivered, ErrorCode: "UNDELIV:001",
		ErrorMessage: "the SMSC reported UNDELIV", At: at.Add(3 * time.Second)}))
	got := read()
	if got.Status != model.StatusUndelivered || got.ProviderMessageID != "p-1" || got.From != "+15550002" ||
		got.ErrorCode != "UNDELIV:001" || got.ErrorMessage != "the SMSC reported UNDELIV" || !got.SentAt.Equal(at) {
		t.Fatalf("undelivered: %+v", got)
	}
	// A later change naming no error keeps the one recorded.
	ibikitest.Must(t, change(store.StatusChange{From: model.StatusUndelivered, To: model.StatusDelivered, At: at.Add(4 * time.Second)}))
	if got := read(); got.Status != model.StatusDelivered || got.ErrorCode != "UNDELIV:001" || got.ProviderMessageID != "p-1" {
		t.Fatalf("delivered: %+v", got)
	}
	if byID, err := s.OutboundByProviderID(ctx, "sink", "p-1"); err != nil || byID.ID != m.ID {
		t.Fatalf("by provider id: %v %v", byID.ID, err)
	}
	// Back to "queued" (the provider refused for now): sent_at cleared, nothing else named.
	m.ID, m.To = model.NewID(model.PrefixMessage), "+4670000002"
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertOutboundSent(ctx, m); err != nil {
			return err
		}
		_, err := tx.StartSend(ctx, m.ID, at)
		return err
	}))
	ibikitest.Must(t, change(store.StatusChange{From: model.StatusSending, To: model.StatusQueued, At: at.Add(time.Second)}))
	if got := read(); got.Status != model.StatusQueued || !got.SentAt.IsZero() || got.From != "+15550001" ||
		!got.StatusAt.Equal(at.Add(time.Second)) {
		t.Fatalf("back to queued: %+v", got)
	}
}
