package store_test

import (
	"fmt"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// ConversationOwners answers the routing rule "conversation": active clients with a
// conversation with the phone, once each, those the phone wrote to on the number asked first.
func TestConversationOwners(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	for _, id := range []string{"acme", "beta", "zeta", "gone"} {
		addClient(t, s, id)
	}
	const phone = "+15551230001"
	touch := func(client, to string, ch model.Channel) {
		m := inbound("msg_"+client+string(ch), "p", phone)
		m.To, m.Channel = to, ch
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.TouchInbound(ctx, client, m, model.NewID(model.PrefixConversation))
			return err
		}))
	}
	touch("acme", "+15550000001", model.ChannelSMS)
	touch("acme", "+15550000002", model.ChannelWhatsApp) // a second conversation of the same client
	touch("beta", "+15550000002", model.ChannelSMS)
	touch("zeta", "+15550000003", model.ChannelSMS)
	touch("gone", "+15550000003", model.ChannelSMS)
	gone, err := s.Client(ctx, "gone")
	ibikitest.Must(t, err)
	gone.Active = false
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateClient(ctx, gone) }))

	tests := []struct {
		name, phone, to string
		limit           int
		want            string
	}{
		{"every active client once, by id, when none is on the number", phone, "+15550000009", 10,
			"[{acme false} {beta false} {zeta false}]"},
		{"the client on the number comes first", phone, "+15550000003", 10, "[{zeta true} {acme false} {beta false}]"},
		{"a client on the number on any of its channels counts", phone, "+15550000002", 10,
			"[{acme true} {beta true} {zeta false}]"},
		{"no number matches no conversation", phone, "", 10, "[{acme false} {beta false} {zeta false}]"},
		{"the limit keeps the first ones", phone, "+15550000003", 2, "[{zeta true} {acme false}]"},
		{"another phone has none", "+15551230009", "+15550000001", 2, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ConversationOwners(ctx, tt.phone, tt.to, tt.limit)
			if err != nil || fmt.Sprint(got) != tt.want {
				t.Errorf("ConversationOwners(%s, %q) = %v, %v; want %s", tt.phone, tt.to, got, err, tt.want)
			}
		})
	}
}
