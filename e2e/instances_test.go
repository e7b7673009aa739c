package e2e

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

// Two instances on one PostgreSQL database both take webhooks and deliver; one is killed with
// SIGKILL under load and the other delivers everything the dead one had accepted or claimed,
// within two minutes, without it coming back.
func TestTwoInstancesShareWorkAndOneSurvivesTheOthersKill(t *testing.T) {
	if ibikitest.Engine() != store.Postgres {
		t.Skip("several instances need PostgreSQL: this test runs in the IBIKI_TEST_DATABASE=postgres pass of scripts/test")
	}
	rec := ibikitest.NewReceiver(t)
	db := ibikitest.DatabaseURL(t)
	// A short lease so that the dead instance's claimed jobs are taken over quickly; it must
	// stay above twice the webhook timeout.
	env := []string{"IBIKI_JOB_LEASE=5s", "IBIKI_WEBHOOK_TIMEOUT=2s"}
	a := start(t, db, env...)
	b := start(t, db, env...)
	createClient(t, a, "acme", rec.URL)
	// Hold back the receiver a little so that both instances have work in flight at the kill.
	rec.Answer(http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable)

	var (
		n     atomic.Int64
		alive atomic.Bool
	)
	alive.Store(true)
	pick := func() string {
		if alive.Load() && n.Add(1)%2 == 0 {
			return a.URL
		}
		return b.URL
	}
	s := &stream{acked: map[string]bool{}}
	stop := make(chan struct{})
	s.run(pick, 16, stop)

	time.Sleep(2 * time.Second)
	alive.Store(false)
	a.kill()
	time.Sleep(1 * time.Second)
	close(stop)
	s.wg.Wait()

	acked := s.ackedIDs()
	t.Logf("acknowledged %d webhooks across both instances", len(acked))
	waitDelivered(t, rec, acked, 2*time.Minute)
}
