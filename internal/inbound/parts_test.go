package inbound_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
)

// The parts of a concatenated message are each committed and held; the last one, whatever the
// order they came in, stores the whole message (the texts joined in part order) in its own
// transaction and drops the parts. A part delivered again is held once; parts of another
// message (another reference, sender or number) wait apart; a part that cannot be one is refused.
func TestPartsMakeOneMessage(t *testing.T) {
	st := ibikitest.NewStore(t)
	svc := &inbound.Service{Store: st, Clock: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := t.Context()
	part := func(from, body string) provider.Inbound {
		return provider.Inbound{Provider: "smsc", ProviderMessageID: model.NewID("smo"), From: from, To: "57675", Body: body,
			Channel: model.ChannelSMS, Status: model.StatusReceived}
	}
	accept := func(in provider.Inbound, ref, total, seq int) inbound.Accepted {
		t.Helper()
		res, err := svc.AcceptPart(ctx, in, ref, total, seq)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	pending := func() []model.Message {
		t.Helper()
		ms, err := st.PendingMessages(ctx, time.Now().Add(time.Hour), 10)
		ibikitest.Must(t, err)
		return ms
	}
	if res := accept(part("+15551230001", "world"), 7, 3, 3); !res.Held || res.ID != "" {
		t.Fatalf("last part first: %+v, want held", res)
	}
	accept(part("+15551230001", "Hello, "), 7, 3, 1)
	accept(part("+15551230001", "Hello, "), 7, 3, 1) // delivered again
	accept(part("+15551230002", "other sender "), 7, 3, 2)
	accept(part("+15551230001", "other ref "), 8, 3, 2)
	if ms := pending(); len(ms) != 0 {
		t.Fatalf("%d messages before the last part", len(ms))
	}
	res := accept(part("+15551230001", "dear "), 7, 3, 2)
	if res.Held || res.ID == "" || res.Duplicate {
		t.Fatalf("the completing part: %+v", res)
	}
	ms := pending()
	if len(ms) != 1 || ms[0].Body != "Hello, dear world" || ms[0].From != "+15551230001" || ms[0].To != "57675" {
		t.Fatalf("stored %+v", ms)
	}
	// The parts are gone: the same reference starts a new message.
	if res := accept(part("+15551230001", "again"), 7, 3, 1); !res.Held {
		t.Fatalf("a new message on a used reference: %+v", res)
	}
	for _, p := range [][2]int{{0, 1}, {3, 4}, {2, 0}} {
		if _, err := svc.AcceptPart(ctx, part("+15551230001", "x"), 9, p[0], p[1]); err == nil {
			t.Errorf("part %d of %d accepted", p[1], p[0])
		}
	}
}

// Parts whose message never completes are stored after the wait with what came, a marker
// where a part is missing; fresh parts keep waiting.
func TestIncompletePartsAreStoredAfterTheWait(t *testing.T) {
	st := ibikitest.NewStore(t)
	now := time.Now()
	svc := &inbound.Service{Store: st, Clock: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := t.Context()
	part := func(from, body string, ref, total, seq int) {
		t.Helper()
		in := provider.Inbound{Provider: "smsc", ProviderMessageID: model.NewID("smo"), From: from, To: "57675", Body: body,
			Channel: model.ChannelSMS, Status: model.StatusReceived}
		if _, err := svc.AcceptPart(ctx, in, ref, total, seq); err != nil {
			t.Fatal(err)
		}
	}
	part("+15551230001", "one ", 5, 4, 1)
	part("+15551230001", "three", 5, 4, 3)
	now = now.Add(2 * time.Hour)
	part("+15551230002", "fresh", 6, 2, 1)
	n, err := svc.SweepParts(ctx, inbound.PartsWait)
	if err != nil || n != 1 {
		t.Fatalf("SweepParts = %d, %v", n, err)
	}
	ms, err := st.PendingMessages(ctx, now.Add(time.Hour), 10)
	ibikitest.Must(t, err)
	if len(ms) != 1 || ms[0].Body != "one "+store.MissingPart+"three"+store.MissingPart || ms[0].From != "+15551230001" {
		t.Fatalf("stored %+v", ms)
	}
	if n, err := svc.SweepParts(ctx, inbound.PartsWait); err != nil || n != 0 {
		t.Fatalf("a second sweep = %d, %v", n, err)
	}
	part("+15551230002", " end", 6, 2, 2) // the fresh one still completes
	if ms, _ := st.PendingMessages(ctx, now.Add(time.Hour), 10); len(ms) != 2 {
		t.Fatalf("%d messages", len(ms))
	}
}
