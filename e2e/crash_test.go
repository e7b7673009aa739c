package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// stream posts ExtremeSMS webhooks with unique ids from several goroutines until stop is
// closed, and records the ids that got a 2xx: those are the ones Ibiki promised to keep.
type stream struct {
	mu    sync.Mutex
	acked map[string]bool
	seq   atomic.Int64
	wg    sync.WaitGroup
}

func (s *stream) run(urls func() string, workers int, stop <-chan struct{}) {
	for w := range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := s.seq.Add(1)
				id := fmt.Sprintf("crash-%d", n)
				from := fmt.Sprintf("+1555%07d", (n*7+int64(w))%500)
				status, _ := post(urls()+"/webhooks/extremesms", "", extremePayload("acme", id, from))
				if status >= 200 && status < 300 {
					s.mu.Lock()
					s.acked[id] = true
					s.mu.Unlock()
				} else {
					time.Sleep(10 * time.Millisecond) // the server is down: do not spin
				}
			}
		}()
	}
}

func (s *stream) ackedIDs() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.acked))
	for k := range s.acked {
		out[k] = true
	}
	return out
}

// waitDelivered waits until every acknowledged id reached the receiver.
func waitDelivered(t *testing.T, rec *ibikitest.Receiver, acked map[string]bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := providerIDs(t, rec)
		var missing []string
		for id := range acked {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			t.Logf("%d acknowledged webhooks, all delivered (%d deliveries in all, at least once)", len(acked), len(rec.Requests()))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged webhooks never reached the client, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The durability promise: while webhooks stream in, the server is killed with SIGKILL and
// started again on the same database; every webhook that got a 2xx reaches the client.
func TestKillDuringInboundStreamLosesNothing(t *testing.T) {
	rec := ibikitest.NewReceiver(t)
	db := ibikitest.DatabaseURL(t)
	// On PostgreSQL a restarted instance waits for the dead one's leases: keep them short.
	env := []string{"IBIKI_JOB_LEASE=5s", "IBIKI_WEBHOOK_TIMEOUT=2s"}
	srv := start(t, db, env...)
	createClient(t, srv, "acme", rec.URL)

	var (
		mu  sync.Mutex
		url = srv.URL
	)
	current := func() string { mu.Lock(); defer mu.Unlock(); return url }
	s := &stream{acked: map[string]bool{}}
	stop := make(chan struct{})
	s.run(current, 16, stop)

	time.Sleep(1500 * time.Millisecond)
	srv.kill()
	before := len(s.ackedIDs())
	if before == 0 {
		t.Fatal("no webhook was acknowledged before the kill")
	}
	again := start(t, db, env...)
	mu.Lock()
	url = again.URL
	mu.Unlock()
	time.Sleep(1 * time.Second)
	close(stop)
	s.wg.Wait()

	acked := s.ackedIDs()
	t.Logf("acknowledged %d before the kill, %d in all", before, len(acked))
	waitDelivered(t, rec, acked, 2*time.Minute)
}
