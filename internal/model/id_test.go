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
