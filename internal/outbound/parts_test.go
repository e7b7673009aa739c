package outbound_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/outbound"
)

// A client's concatenated message is held part by part under one id and sent whole, charged
// once, with its last part; a refused whole drops its parts; parts that never complete are
// dropped after the wait, never sent nor charged.
func TestSendPart(t *testing.T) {
	r := newRig(t, &fake{})
	ctx := context.Background()
	part := func(to, body string, ref, total, seq int) (outbound.PartResult, error) {
		return r.svc.SendPart(ctx, r.client(), outbound.Request{To: to, Body: body}, outbound.Part{Ref: ref, Total: total, Seq: seq})
	}
	first, err := part("+15552040001", "world", 1, 2, 2)
	if err != nil || first.Sent || first.ID == "" {
		t.Fatalf("a first part: %+v, %v", first, err)
	}
	again, err := part("+15552040001", "world", 1, 2, 2)
	if err != nil || again.ID != first.ID || again.Sent {
		t.Fatalf("the part again: %+v, %v", again, err)
	}
	last, err := part("+15552040001", "hello ", 1, 2, 1)
	if err != nil || !last.Sent || last.ID != first.ID || last.Message.ID != first.ID || last.Message.Body != "hello world" {
		t.Fatalf("the completing part: %+v, %v", last, err)
	}
	if m := r.message(first.ID); m.CostCents != 2 || m.Body != "hello world" {
		t.Fatalf("stored %+v", m)
	}

	// A whole that is refused (its recipient is no number) drops its parts: the same
	// reference starts afresh.
	if _, err := part("not-a-number", "one ", 2, 2, 1); err != nil {
		t.Fatal(err)
	}
	var fe *outbound.FieldError
	if _, err := part("not-a-number", "two", 2, 2, 2); !errors.As(err, &fe) || fe.Field != "to" {
		t.Fatalf("refusal: %v", err)
	}
	if res, err := part("not-a-number", "two", 2, 2, 2); err != nil || res.Sent {
		t.Fatalf("after the refusal the parts were kept: %+v, %v", res, err)
	}

	for _, p := range [][3]int{{1, 1, 1}, {1, 3, 0}, {1, 3, 4}, {-1, 2, 1}, {70000, 2, 1}} {
		if _, err := part("+15552040003", "x", p[0], p[1], p[2]); err == nil {
			t.Errorf("part %v taken", p)
		}
	}

	r.svc.Clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
	dropped, err := r.svc.DropStaleParts(ctx, outbound.PartsWait)
	ibikitest.Must(t, err)
	if len(dropped) != 1 || dropped[0].ClientID != "acme" || dropped[0].To != "not-a-number" {
		t.Fatalf("dropped %+v", dropped)
	}
}
