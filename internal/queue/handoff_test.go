package queue_test

import (
	"testing"

	"github.com/ibiki/ibiki/internal/queue"
)

func TestHandoffGivesEachValueOnceAndStaysBounded(t *testing.T) {
	h := queue.NewHandoff[int](3)
	h.Put("a", 1)
	if v, ok := h.Take("a"); !ok || v != 1 {
		t.Fatalf("Take(a) = %d, %v", v, ok)
	}
	if _, ok := h.Take("a"); ok {
		t.Fatal("a value was taken twice")
	}
	for i, k := range []string{"b", "c", "d", "e"} {
		h.Put(k, i)
	}
	// The fourth Put found the handoff full and forgot the others.
	if _, ok := h.Take("b"); ok {
		t.Fatal("the handoff grew past its bound")
	}
	if v, ok := h.Take("e"); !ok || v != 3 {
		t.Fatalf("Take(e) = %d, %v", v, ok)
	}
}
