package inbound_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// A message stored but never handed to the router (as after a crash between the commit and
// the routing) is found by the sweep, routed and delivered once.
func TestAPendingMessageIsSweptRoutedAndDelivered(t *testing.T) {
	srv := ibikitest.NewServer(t, map[string]string{"IBIKI_JOB_LEASE": "5s", "IBIKI_WEBHOOK_TIMEOUT": "2s"})
	rec := ibikitest.NewReceiver(t)
	srv.CreateClient("acme", rec.URL)
	now := time.Now().Add(-time.Minute) // older than any grace
	m := model.Message{ID: model.NewIDAt(model.PrefixMessage, now), Direction: model.Inbound, Channel: model.ChannelSMS,
		From: "+15551230001", To: "+15557654321", Body: "left behind", Status: model.StatusReceived,
		Contact: model.ContactInfo{Business: "acme"}, Provider: "extremesms", ProviderMessageID: "swept-1",
		ReceivedAt: now, CreatedAt: now}
	ibikitest.Must(t, srv.Store.InTx(t.Context(), func(tx *store.Tx) error {
		_, _, err := tx.InsertInbound(t.Context(), m)
		return err
	}))
	got := rec.WaitFor(t, 1)
	var ev struct {
		Data struct {
			ID       string `json:"id"`
			RoutedBy string `json:"routed_by"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &ev); err != nil || ev.Data.ID != m.ID || ev.Data.RoutedBy != "business" {
		t.Fatalf("delivered %s (%v), want the swept message routed by business", got[0].Body, err)
	}
	time.Sleep(500 * time.Millisecond) // several more sweeps: none may route it again
	if n := len(rec.Requests()); n != 1 {
		t.Fatalf("the swept message was delivered %d times", n)
	}
}
