package live_test

import (
	"fmt"
	"testing"

	"github.com/ibiki/ibiki/internal/live"
	"github.com/ibiki/ibiki/internal/store"
)

func TestHubDeliversToTheClientAndToOperators(t *testing.T) {
	h := live.New()
	acme, globex, all := h.Subscribe("acme"), h.Subscribe("globex"), h.Subscribe("")
	defer globex.Close()
	defer all.Close()
	h.Publish(store.Announcement{ClientID: "acme", Kind: "message", MessageID: "msg_1"})
	if got := <-acme.C; got.MessageID != "msg_1" {
		t.Errorf("acme got %+v", got)
	}
	if got := <-all.C; got.ClientID != "acme" {
		t.Errorf("the all-clients subscription got %+v", got)
	}
	select {
	case got := <-globex.C:
		t.Errorf("globex heard acme's announcement %+v", got)
	default:
	}
	acme.Close()
	acme.Close() // twice is fine
	h.Publish(store.Announcement{ClientID: "acme", MessageID: "msg_2"})
	if got, ok := <-acme.C; ok {
		t.Errorf("a closed subscription got %+v", got)
	}
}

func TestHubNeverBlocksOnASlowReader(t *testing.T) {
	h := live.New()
	s := h.Subscribe("acme")
	defer s.Close()
	for range 1000 {
		h.Publish(store.Announcement{ClientID: "acme"})
	}
	if n := len(s.C); n == 0 || n > 1000 {
		t.Errorf("buffered %d announcements", n)
	}
}

func TestHubCloseEndsEveryStream(t *testing.T) {
	h := live.New()
	a, all := h.Subscribe("acme"), h.Subscribe("")
	h.Close()
	for _, s := range []*live.Subscription{a, all, h.Subscribe("late")} {
		if _, ok := <-s.C; ok {
			t.Error("a subscription is still open after Close")
		}
		s.Close() // no panic on a closed one
	}
	h.Publish(store.Announcement{ClientID: "acme"}) // no panic either
}

// BenchmarkPublish is the cost the hot path pays per client event: with nobody watching, and
// with 100 open pages of the client.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("%d_pages", n), func(b *testing.B) {
			h := live.New()
			for range n {
				s := h.Subscribe("acme")
				defer s.Close()
				go func() {
					for range s.C {
					}
				}()
			}
			a := store.Announcement{ClientID: "acme", Kind: "message", MessageID: "msg_1"}
			for b.Loop() {
				h.Publish(a)
			}
		})
	}
}
