package model_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

func TestIDsSortInTheOrderTheyWereMade(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	prev := model.NewIDAt("msg", at)
	for i := range 10000 {
		// A burst within one millisecond, then time moving on, then the clock stepping back.
		ts := at
		if i > 5000 {
			ts = at.Add(time.Millisecond)
		}
		if i > 9000 {
			ts = at
		}
		id := model.NewIDAt("msg", ts)
		if id <= prev || !strings.HasPrefix(id, "msg_") || len(id) != len("msg_")+26 {
			t.Fatalf("id %d: %q after %q", i, id, prev)
		}
		prev = id
	}
}

func TestIDFloorBoundsTheIDsOfItsTime(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	floor := model.IDFloor("msg", at)
	for range 100 {
		if id := model.NewIDAt("msg", at); id < floor {
			t.Fatalf("id %s made at the floor's time sorts below it (%s)", id, floor)
		}
	}
	if before := model.IDFloor("msg", at.Add(-time.Millisecond)); before >= floor {
		t.Errorf("the floor of an earlier millisecond %s is not below %s", before, floor)
	}
}

func TestHexOfIDRoundTrips(t *testing.T) {
	for range 100 {
		id := model.NewID(model.PrefixMessage)
		h, ok := model.HexOfID(model.PrefixMessage, id)
		if !ok || len(h) != 32 {
			t.Fatalf("HexOfID(%s) = %q, %v", id, h, ok)
		}
		back, ok := model.IDOfHex(model.PrefixMessage, strings.ToUpper(h))
		if !ok || back != id {
			t.Fatalf("IDOfHex(%s) = %q, %v; want %s", h, back, ok, id)
		}
	}
	for _, bad := range []string{"", "msg_", "msg_0123", "ct_00000000000000000000000000", "msg_0000000000000000000000000u", "msg_000000000000000000000000001"} {
		if h, ok := model.HexOfID(model.PrefixMessage, bad); ok {
			t.Errorf("HexOfID(%q) = %q, want refusal", bad, h)
		}
	}
	for _, bad := range []string{"", "00", "zz000000000000000000000000000000", "000000000000000000000000000000000"} {
		if id, ok := model.IDOfHex(model.PrefixMessage, bad); ok {
			t.Errorf("IDOfHex(%q) = %q, want refusal", bad, id)
		}
	}
}
