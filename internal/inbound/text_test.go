package inbound_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/simulator"
)

// Whatever way a message comes in (an adapter's parser, the simulator's Inject, an adapter to
// come), Accept holds it to the rule of package text before anything is stored: a field that
// is not text is a *provider.FieldError naming it, the same on both engines.
func TestAcceptedMessagesAreText(t *testing.T) {
	st := ibikitest.NewStore(t)
	svc := &inbound.Service{Store: st, Clock: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ok := func() provider.Inbound {
		return provider.Inbound{Provider: "extremesms", ProviderMessageID: "m-1", From: "+15551230001", To: "+15557654321",
			Body: "hi", Channel: model.ChannelSMS, Status: model.StatusReceived, Meta: map[string]string{"k": "v"}}
	}
	sim := simulator.New(simulator.Config{Region: "US"})
	for _, bad := range []string{"\x00", "\xff", "\xc3(", "\xed\xa0\x80"} {
		tests := []struct {
			field string
			spoil func(*provider.Inbound)
		}{
			{"provider", func(in *provider.Inbound) { in.Provider += bad }},
			{"provider_message_id", func(in *provider.Inbound) { in.ProviderMessageID += bad }},
			{"from", func(in *provider.Inbound) { in.From += bad }},
			{"to", func(in *provider.Inbound) { in.To += bad }},
			{"body", func(in *provider.Inbound) { in.Body += bad }},
			{"matched_block_word", func(in *provider.Inbound) { in.MatchedBlockWord = bad }},
			{"business", func(in *provider.Inbound) { in.Business = bad }},
			{"first_name", func(in *provider.Inbound) { in.Contact.FirstName = bad }},
			{"last_name", func(in *provider.Inbound) { in.Contact.LastName = bad }},
			{"business", func(in *provider.Inbound) { in.Contact.Business = bad }},
			{"meta", func(in *provider.Inbound) { in.Meta["k"] = bad }},
			{"meta", func(in *provider.Inbound) { in.Meta[bad] = "v" }},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("a message with %q in its %s is refused, naming it", bad, tt.field), func(t *testing.T) {
				in := ok()
				tt.spoil(&in)
				_, err := svc.Accept(t.Context(), in)
				wantFieldError(t, err, tt.field)
			})
		}
		t.Run(fmt.Sprintf("an injected message with %q in its body is refused, naming it", bad), func(t *testing.T) {
			_, _, err := svc.Inject(t.Context(), sim, provider.Injection{From: "+15551230002", Body: "hi" + bad})
			wantFieldError(t, err, "body")
		})
	}
	if ms, err := st.PendingMessages(t.Context(), time.Now().Add(time.Hour), 10); err != nil || len(ms) != 0 {
		t.Errorf("stored %d messages, %v; want none", len(ms), err)
	}
	if _, err := svc.Accept(t.Context(), ok()); err != nil {
		t.Errorf("a message of text: %v", err)
	}
}

func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var fe *provider.FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("err = %v, want a field error on %s", err, field)
	}
}
