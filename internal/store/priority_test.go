package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A transaction that moves queued work forward (WithPriority) is taken ahead of ordinary ones
// that were handed over before it.
func TestUrgentTransactionsGoFirst(t *testing.T) {
	s, _ := openSQLiteForTest(t, 1)
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	run := func(ctx context.Context, name string) {
		defer wg.Done()
		if err := s.InTx(ctx, func(*Tx) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.InTx(ctx, func(*Tx) error { // keeps the one writer busy while the others queue
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	for _, name := range []string{"new 1", "new 2", "new 3"} {
		wg.Add(1)
		go run(ctx, name)
	}
	waitFor(t, func() bool { return len(s.writes) == 3 })
	wg.Add(1)
	go run(WithPriority(ctx), "urgent")
	waitFor(t, func() bool { return len(s.urgent) == 1 })
	close(hold)
	wg.Wait()
	if len(order) != 4 || order[0] != "urgent" {
		t.Fatalf("order = %v, want the urgent one first", order)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
