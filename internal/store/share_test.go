package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

// Two instances on one PostgreSQL database: what one commits, the other's pages hear.
func TestAnnouncementsReachOtherInstances(t *testing.T) {
	if ibikitest.Engine() != store.Postgres {
		t.Skip("SQLite runs one instance: there is nothing to share (this test runs in the PostgreSQL pass)")
	}
	url := ibikitest.DatabaseURL(t)
	a, b := ibikitest.OpenStore(t, url), ibikitest.OpenStore(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu       sync.Mutex
		heardA   []store.Announcement
		heardB   []store.Announcement
		finished sync.WaitGroup
	)
	for _, x := range []struct {
		s     *store.Store
		heard *[]store.Announcement
	}{{a, &heardA}, {b, &heardB}} {
		finished.Add(1)
		go func() {
			defer finished.Done()
			x.s.ShareAnnouncements(ctx, func(an store.Announcement) {
				mu.Lock()
				defer mu.Unlock()
				*x.heard = append(*x.heard, an)
			})
		}()
	}
	t.Cleanup(func() { cancel(); finished.Wait() })
	time.Sleep(300 * time.Millisecond) // both LISTENing
	ibikitest.Must(t, a.InTx(ctx, func(tx *store.Tx) error {
		tx.Announce(store.Announcement{ClientID: "acme", Kind: "message", ConversationID: "conv_1", MessageID: "msg_1"})
		return nil
	}))
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(heardB)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heardB) != 1 || heardB[0] != (store.Announcement{ClientID: "acme", Kind: "message", ConversationID: "conv_1", MessageID: "msg_1"}) {
		t.Errorf("the other instance heard %+v", heardB)
	}
	if len(heardA) != 0 {
		t.Errorf("the instance heard its own announcement back through PostgreSQL: %+v", heardA)
	}
}
