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
)

// A provider that gives messages no id (SMPP) names each by its content and a repeat window: the
// same key within the window of the message stored is that message delivered again (its
// acknowledgement lost), stored and routed once, even across the windows' boundaries; after the
// window it is a new message (a contact may well write "YES" twice in a day).
func TestRepeatsWithinTheWindowAreStoredOnce(t *testing.T) {
	st := ibikitest.NewStore(t)
	const window = 10 * time.Minute
	// Two seconds before the boundary of two windows, so a repeat crosses it.
	now := time.UnixMilli((time.Now().UnixMilli()/window.Milliseconds()+1)*window.Milliseconds() - 2000)
	svc := &inbound.Service{Store: st, Clock: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := t.Context()
	accept := func(key, body string) inbound.Accepted {
		t.Helper()
		res, err := svc.Accept(ctx, provider.Inbound{Provider: "smsc", ProviderMessageID: key, From: "+15551230001", To: "57675",
			Body: body, Channel: model.ChannelSMS, Status: model.StatusReceived, RepeatWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	count := func() int {
		t.Helper()
		ms, err := st.PendingMessages(ctx, now.Add(time.Hour), 10)
		ibikitest.Must(t, err)
		return len(ms)
	}
	first := accept("smo:k1", "YES")
	if first.Duplicate || first.ID == "" {
		t.Fatalf("first: %+v", first)
	}
	for _, after := range []time.Duration{time.Second, 5 * time.Second, 9 * time.Minute} {
		now = now.Add(after)
		if res := accept("smo:k1", "YES"); !res.Duplicate || res.ID != first.ID {
			t.Fatalf("delivered again %v later: %+v, want a repeat of %s", after, res, first.ID)
		}
	}
	if other := accept("smo:k2", "YES"); other.Duplicate {
		t.Fatalf("another key: %+v", other)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d messages stored, want 2", n)
	}
	now = now.Add(2 * time.Minute) // 11 minutes after the first
	again := accept("smo:k1", "YES")
	if again.Duplicate || again.ID == first.ID {
		t.Fatalf("after the window: %+v, want a new message", again)
	}
	now = now.Add(time.Minute)
	if res := accept("smo:k1", "YES"); !res.Duplicate || res.ID != again.ID {
		t.Fatalf("a repeat of the second: %+v, want %s", res, again.ID)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d messages stored, want 3", n)
	}
	// Two deliveries across a boundary committed in the other order (the later one first, as
	// two writers, or a slow first delivery, may): still one message.
	boundary := time.UnixMilli((now.UnixMilli()/window.Milliseconds() + 2) * window.Milliseconds())
	now = boundary.Add(time.Second)
	later := accept("smo:k3", "NO")
	now = boundary.Add(-time.Second)
	if res := accept("smo:k3", "NO"); !res.Duplicate || res.ID != later.ID {
		t.Fatalf("the earlier delivery committed second: %+v, want a repeat of %s", res, later.ID)
	}
}

// The parts of a concatenated message from such a provider are kept for the window once the
// message is stored: a part delivered again with the same text is a repeat (nothing held, no
// second message); a part with other text on the same reference starts a new message; after the
// window the sweep drops the kept parts and the same text is a new message's part.
func TestRepeatedPartsOfAStoredMessage(t *testing.T) {
	st := ibikitest.NewStore(t)
	const window = 10 * time.Minute
	now := time.Now()
	svc := &inbound.Service{Store: st, Clock: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := t.Context()
	part := func(body string, ref, seq int) inbound.Accepted {
		t.Helper()
		in := provider.Inbound{Provider: "smsc", ProviderMessageID: "smo:" + body, From: "+15551230001", To: "57675", Body: body,
			Channel: model.ChannelSMS, Status: model.StatusReceived, RepeatWindow: window}
		res, err := svc.AcceptPart(ctx, in, ref, 2, seq)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	bodies := func() []string {
		t.Helper()
		ms, err := st.PendingMessages(ctx, now.Add(time.Hour), 10)
		ibikitest.Must(t, err)
		var out []string
		for _, m := range ms {
			out = append(out, m.Body)
		}
		return out
	}
	part("Hello ", 7, 1)
	if res := part("world", 7, 2); res.Held || res.Duplicate || res.ID == "" {
		t.Fatalf("the last part: %+v", res)
	}
	now = now.Add(time.Minute)
	for _, p := range []struct {
		body string
		seq  int
	}{{"world", 2}, {"Hello ", 1}} {
		if res := part(p.body, 7, p.seq); !res.Duplicate || res.Held {
			t.Fatalf("part %d delivered again: %+v, want a repeat", p.seq, res)
		}
	}
	if got := bodies(); len(got) != 1 || got[0] != "Hello world" {
		t.Fatalf("stored %q", got)
	}
	// The sender's reference came round: a new message, though its last part says what the
	// first message's did.
	if res := part("Bye ", 7, 1); !res.Held {
		t.Fatalf("another text on the reference: %+v, want held", res)
	}
	if res := part("world", 7, 2); res.Held || res.Duplicate || res.ID == "" {
		t.Fatalf("the new message's last part: %+v, want it stored", res)
	}
	if got := bodies(); len(got) != 2 || got[1] != "Bye world" {
		t.Fatalf("stored %q", got)
	}
	// After the window the kept parts go, and the same text is a new message's.
	now = now.Add(window + time.Minute)
	if _, err := svc.SweepParts(ctx, inbound.PartsWait); err != nil {
		t.Fatal(err)
	}
	if res := part("Bye ", 7, 1); !res.Held {
		t.Fatalf("after the window: %+v, want held", res)
	}
	now = now.Add(time.Second)
	if n, err := svc.SweepParts(ctx, 0); err != nil || n != 1 {
		t.Fatalf("the held part swept: %d, %v", n, err)
	}
}
