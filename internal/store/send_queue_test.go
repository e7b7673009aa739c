package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// outboundTo is a charged message to phone in the conversation conv, created at t0 plus n ms so
// that ids and times order as n does.
func outboundTo(n int, conv, phone string) model.Message {
	at := t0.Add(time.Duration(n) * time.Millisecond)
	return model.Message{ID: fmt.Sprintf("msg_%03d", n), ClientID: "acme", ConversationID: conv, Direction: model.Outbound,
		Channel: model.ChannelSMS, From: "+15550000001", To: phone, Body: "hi", Status: model.StatusQueued,
		Provider: "simulator", RoutedBy: model.RoutedByOutbound, Segments: 1, StatusAt: at, ReceivedAt: at, CreatedAt: at}
}

// queueSends stores the messages as sends, each in the conversation it names (touched first, as
// a send does); a message in no conversation is a bulk one.
func queueSends(t *testing.T, s *store.Store, ms ...model.Message) {
	t.Helper()
	ctx := t.Context()
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		for _, m := range ms {
			ordered := m.ConversationID != ""
			id := m.ConversationID
			if !ordered {
				id = "conv_bulk_" + m.ID
			}
			conv, _, err := tx.TouchOutbound(ctx, m.ClientID, m, id, ordered)
			if err != nil {
				return err
			}
			m.ConversationID = conv
			priority := model.PriorityNormal
			if !ordered {
				priority = model.PriorityBulk
			}
			if err := tx.QueueOutbound(ctx, m, ordered, priority); err != nil {
				return err
			}
		}
		return nil
	}))
}

// claimSends claims up to n ready sends of acme's lanes, interactive lanes first.
func claimSends(t *testing.T, s *store.Store, n int) []model.Job {
	t.Helper()
	ctx := t.Context()
	var jobs []model.Job
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		jobs = nil
		lanes, err := tx.SendLanes(ctx)
		if err != nil {
			return err
		}
		for _, l := range lanes {
			got, err := tx.ClaimSends(ctx, l, t0.Add(time.Hour), t0.Add(2*time.Hour), "me", n-len(jobs))
			if err != nil {
				return err
			}
			jobs = append(jobs, got...)
		}
		return nil
	}))
	return jobs
}

func sendStat(t *testing.T, s *store.Store, state model.JobState) int64 {
	t.Helper()
	return countIn(t, s.SendQueueStats, state)
}

// The messages of one conversation are sent one at a time, in order; other conversations and
// bulk messages wait for nobody; a batch of finished sends lets the next of each conversation
// run; a stale run finishes nothing.
func TestSendsOfAConversationGoOneAtATime(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	queueSends(t, s, outboundTo(1, "conv_a", "+15551230001"), outboundTo(2, "conv_a", "+15551230001"),
		outboundTo(3, "conv_b", "+15551230002"), outboundTo(4, "conv_a", "+15551230001"), outboundTo(5, "", "+15551230003"),
		outboundTo(6, "conv_b", "+15551230002"))
	if w := sendStat(t, s, model.JobWaiting); w != 3 {
		t.Fatalf("%d sends waiting, want 3 (msg_002, msg_004 and msg_006)", w)
	}
	jobs := claimSends(t, s, 10)
	if got := refs(jobs); got != "msg_001,msg_003,msg_005" {
		t.Fatalf("claimed %s, want msg_001,msg_003 (normal lane) then msg_005 (bulk lane)", got)
	}
	if j := jobs[0]; j.OrderKey != store.SendOrderKey("conv_a") || j.Attempts != 1 || j.ClientID != "acme" ||
		j.Priority != model.PriorityNormal || !j.RunAt.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("job = %+v", j)
	}
	if j := jobs[2]; j.OrderKey != "" || j.Priority != model.PriorityBulk {
		t.Fatalf("bulk job = %+v", j)
	}
	finishAll := func(jobs ...model.Job) (n int) {
		t.Helper()
		err := s.InTx(ctx, func(tx *store.Tx) (err error) {
			if n, err = tx.FinishSends(ctx, jobs); err == nil && n != len(jobs) {
				err = errStale
			}
			return err
		})
		if err != nil && !errors.Is(err, errStale) {
			t.Fatal(err)
		}
		return n
	}
	stale := jobs[0]
	stale.Attempts = 5
	if n := finishAll(stale, jobs[1]); n != 1 {
		t.Fatalf("a batch with a stale run finished %d, want 1 (and rolled back)", n)
	}
	if n := finishAll(jobs...); n != 3 {
		t.Fatalf("finished %d of 3", n)
	}
	if got := refs(claimSends(t, s, 10)); got != "msg_002,msg_006" {
		t.Fatalf("after the first batch claimed %q, want msg_002,msg_006", got)
	}
	if w := sendStat(t, s, model.JobWaiting); w != 1 {
		t.Fatalf("%d sends waiting, want 1 (msg_004)", w)
	}
}

// A run's outcome moves its send as the queue asks: a retry keeps its place at the head of its
// conversation and counts the attempt, a deferral does not count it, a dead send leaves the queue
// with its reason and lets the next one run; a released lease puts it back.
func TestSendOutcomesMoveTheQueue(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	queueSends(t, s, outboundTo(1, "conv_a", "+15551230001"), outboundTo(2, "conv_a", "+15551230001"))
	in := func(f func(tx *store.Tx) (bool, error)) bool {
		t.Helper()
		var ok bool
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) { ok, err = f(tx); return err }))
		return ok
	}
	j := claimSends(t, s, 10)[0]
	if !in(func(tx *store.Tx) (bool, error) { return tx.RetrySend(ctx, j, t0, "503") }) {
		t.Fatal("retry did not apply")
	}
	j = claimSends(t, s, 10)[0]
	if j.Ref != "msg_001" || j.Attempts != 2 || j.LastError != "503" {
		t.Fatalf("after a retry claimed %+v, want msg_001 again, attempt 2, last error 503", j)
	}
	if !in(func(tx *store.Tx) (bool, error) { return tx.DeferSend(ctx, j, t0) }) {
		t.Fatal("defer did not apply")
	}
	j = claimSends(t, s, 10)[0]
	if j.Ref != "msg_001" || j.Attempts != 2 {
		t.Fatalf("after a deferral claimed %+v, want msg_001, attempt 2 again", j)
	}
	var released int64
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		released, err = tx.ReleaseExpiredSends(ctx, t0.Add(3*time.Hour))
		return err
	}))
	if released != 1 {
		t.Fatalf("released %d sends past their lease, want 1", released)
	}
	if in(func(tx *store.Tx) (bool, error) { return tx.BurySend(ctx, j, "gone") }) {
		t.Fatal("a run whose lease was released buried its send")
	}
	j = claimSends(t, s, 10)[0]
	if !in(func(tx *store.Tx) (bool, error) { return tx.BurySend(ctx, j, "the provider kept failing") }) {
		t.Fatal("bury did not apply")
	}
	if got := refs(claimSends(t, s, 10)); got != "msg_002" {
		t.Fatalf("after msg_001 died claimed %q, want msg_002", got)
	}
	if n := sendStat(t, s, model.JobRunning); n != 1 {
		t.Fatalf("running sends = %d, want 1", n)
	}
}

// The send jobs of a database from before messages were their own send jobs carry over (a
// running one keeps its lease until it lapses, a waiting one keeps waiting behind it, a dead one
// stays a dead job), and the queued ones that a build from before still enqueues are moved by
// AdoptSendJobs (not the waiting ones: their head is that build's).
func TestSendJobsMoveIntoTheirMessages(t *testing.T) {
	ctx := context.Background()
	url := ibikitest.DatabaseURL(t)
	migratedTo(t, url, 15)
	db, ph := rawDB(t, url)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, ph(q), args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO clients (id, name, webhook_secret, created_at, updated_at) VALUES ('acme', 'Acme', 'whsec_x', 0, 0)`)
	exec(`INSERT INTO conversations (id, client_id, phone, channel, last_message_at, created_at)
		VALUES ('conv_a', 'acme', '+15551230001', 'sms', 0, 0)`)
	for _, id := range []string{"msg_run", "msg_wait", "msg_dead", "msg_bulk", "msg_late", "msg_late_wait"} {
		exec(`INSERT INTO messages (id, client_id, conversation_id, direction, channel, from_number, to_number, body, status,
			provider, received_at, created_at) VALUES (?, 'acme', 'conv_a', 'outbound', 'sms', '', '+15551230001', 'hi',
			'queued', 'simulator', 0, 0)`, id)
	}
	job := func(state, ref, key string, priority int) {
		t.Helper()
		exec(`INSERT INTO jobs (kind, state, client_id, ref, order_key, priority, run_at, attempts, lease_until, locked_by,
			created_at) VALUES ('send', ?, 'acme', ?, ?, ?, ?, 1, ?, 'old', 0)`, state, ref, key, priority, t0.UnixMilli(),
			t0.Add(time.Minute).UnixMilli())
	}
	job("running", "msg_run", "send:conv_a", model.PriorityNormal)
	job("waiting", "msg_wait", "send:conv_a", model.PriorityNormal)
	job("dead", "msg_dead", "send:conv_a", model.PriorityNormal)
	job("queued", "msg_bulk", "", model.PriorityBulk)

	s := ibikitest.OpenStore(t, url)
	if got := refs(claimSends(t, s, 10)); got != "msg_bulk" {
		t.Fatalf("claimed %q after the migration, want msg_bulk (msg_run is still leased, msg_wait waits behind it)", got)
	}
	if w, r := sendStat(t, s, model.JobWaiting), sendStat(t, s, model.JobRunning); w != 1 || r != 2 {
		t.Fatalf("waiting %d and running %d sends, want 1 (msg_wait) and 2 (msg_run, msg_bulk)", w, r)
	}
	var released int64
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		released, err = tx.ReleaseExpiredSends(ctx, t0.Add(2*time.Minute))
		return err
	}))
	if got := refs(claimSends(t, s, 10)); released != 1 || got != "msg_run" {
		t.Fatalf("released %d, then claimed %q; want msg_run once its lease lapsed", released, got)
	}
	stats, err := s.JobQueueStats(ctx)
	ibikitest.Must(t, err)
	if len(stats) != 1 || stats[0].Kind != model.JobSend || stats[0].State != model.JobDead || stats[0].Count != 1 {
		t.Fatalf("the jobs table holds %+v, want only the dead send job", stats)
	}

	// A build from before the migration, still running beside this one, enqueues two more.
	job("queued", "msg_late", "", model.PriorityBulk)
	job("waiting", "msg_late_wait", "send:conv_b", model.PriorityNormal)
	var adopted int64
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		adopted, err = tx.AdoptSendJobs(ctx)
		return err
	}))
	if adopted != 1 {
		t.Fatalf("adopted %d send jobs, want 1", adopted)
	}
	if got := refs(claimSends(t, s, 10)); got != "msg_late" {
		t.Fatalf("claimed %q after the adoption, want msg_late", got)
	}
	stats, err = s.JobQueueStats(ctx)
	ibikitest.Must(t, err)
	waiting := 0
	for _, st := range stats {
		if st.State == model.JobWaiting {
			waiting += int(st.Count)
		}
	}
	if waiting != 1 {
		t.Fatalf("the jobs table holds %+v, want the waiting job left to the build that enqueued it", stats)
	}
}

// A message queued behind its conversation's head while the head's send is recorded as finished
// goes next (see finishDuringEnqueue).
func TestASendQueuedWhileItsHeadFinishesGoesNext(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	queueSends(t, s, outboundTo(1, "conv_a", "+15551230001"))
	head := claimSends(t, s, 10)
	if refs(head) != "msg_001" {
		t.Fatalf("claimed %s, want msg_001", refs(head))
	}
	finishDuringEnqueue(t, s, func(ctx context.Context, tx *store.Tx) error {
		m := outboundTo(2, "", "+15551230001")
		conv, _, err := tx.TouchOutbound(ctx, "acme", m, "conv_other", true)
		if err != nil {
			return err
		}
		m.ConversationID = conv
		return tx.QueueOutbound(ctx, m, true, model.PriorityNormal)
	}, func(ctx context.Context, tx *store.Tx) error {
		n, err := tx.FinishSends(ctx, head)
		if err == nil && n != 1 {
			err = errors.New("the head could not leave the queue")
		}
		return err
	})
	if got := refs(claimSends(t, s, 10)); got != "msg_002" {
		t.Fatalf("claimed %q after the head finished, want msg_002 (waiting %d, queued %d)", got,
			sendStat(t, s, model.JobWaiting), sendStat(t, s, model.JobQueued))
	}
}

// Migration 00016 goes back down: the sends still in the queue become send jobs again, in their
// order (a waiting one still behind its head), and up again they are the messages' own state.
func TestTheSendQueueMigratesDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	url := ibikitest.DatabaseURL(t)
	s, err := store.Open(ctx, url, store.Options{})
	ibikitest.Must(t, err)
	defer s.Close()
	_, err = s.Migrate(ctx)
	ibikitest.Must(t, err)
	addClient(t, s, "acme")
	queueSends(t, s, outboundTo(1, "conv_a", "+15551230001"), outboundTo(2, "conv_a", "+15551230001"),
		outboundTo(3, "", "+15551230002"))
	if _, err := s.MigrateDownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	db, _ := rawDB(t, url)
	type row struct{ ref, state, key string }
	var jobs []row
	rows, err := db.QueryContext(ctx, `SELECT ref, state, order_key FROM jobs WHERE kind = 'send' ORDER BY id`)
	ibikitest.Must(t, err)
	for rows.Next() {
		var r row
		ibikitest.Must(t, rows.Scan(&r.ref, &r.state, &r.key))
		jobs = append(jobs, r)
	}
	ibikitest.Must(t, rows.Err())
	rows.Close()
	if len(jobs) != 3 {
		t.Fatalf("send jobs after the down migration %v, want the 3 sends", jobs)
	}
	// In the order of their jobs' ids, the conversation's head comes before the one behind it
	// (which one the bulk message comes next to does not matter).
	jobs = slices.DeleteFunc(jobs, func(r row) bool {
		if r.ref == "msg_003" && (r.state != "queued" || r.key != "") {
			t.Errorf("the bulk send came back as %+v", r)
		}
		return r.ref == "msg_003"
	})
	want := []row{{"msg_001", "queued", "send:conv_a"}, {"msg_002", "waiting", "send:conv_a"}}
	if fmt.Sprint(jobs) != fmt.Sprint(want) {
		t.Fatalf("send jobs of conv_a after the down migration %v, want %v", jobs, want)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := refs(claimSends(t, s, 10)); got != "msg_001,msg_003" {
		t.Fatalf("claimed %q after migrating up again, want msg_001,msg_003 (msg_002 waits)", got)
	}
}

// takeLog is a send Lessee that keeps what it was handed.
type takeLog struct {
	mu    sync.Mutex
	taken []model.Job
}

// fullLog is a takeLog that has no room for anyone (store.Room).
type fullLog struct{ takeLog }

func (*fullLog) Room(string) bool { return false }

func (l *takeLog) Lease() (string, time.Time) { return "me", t0.Add(time.Hour) }
func (l *takeLog) Take(j model.Job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken = append(l.taken, j)
}

// An answer Ibiki queues itself is born started when a send Lessee is registered and nothing of
// its conversation is ahead: "sending" with its attempt recorded, running under the Lessee's
// lease, and handed to it only once committed (not for a rolled-back transaction). One behind
// an unfinished send of its conversation waits as any send; without a Lessee it is queued. A
// started send given back unrun is queued again with its attempt undone, and its conversation
// still goes one at a time.
func TestSendsBornStarted(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	queueStarted := func(m model.Message) (started bool, err error) {
		t.Helper()
		err = s.InTx(ctx, func(tx *store.Tx) (err error) {
			conv, _, err := tx.TouchOutbound(ctx, m.ClientID, m, m.ConversationID, true)
			if err != nil {
				return err
			}
			m.ConversationID = conv
			started, err = tx.QueueStartedSend(ctx, m, model.PriorityInteractive, t0.Add(time.Minute))
			return err
		})
		return started, err
	}
	if started, err := queueStarted(outboundTo(1, "conv_a", "+15551230001")); err != nil || started {
		t.Fatalf("without a Lessee: started %v, %v; want queued", started, err)
	}
	if got := refs(claimSends(t, s, 10)); got != "msg_001" {
		t.Fatalf("claimed %q, want msg_001 (queued without a Lessee)", got)
	}

	l := &takeLog{}
	s.LeaseNewSends(l)
	t.Cleanup(func() { s.LeaseNewSends(nil) })
	// Rolled back: nothing handed over.
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *store.Tx) error {
		m := outboundTo(2, "conv_b", "+15551230002")
		conv, _, err := tx.TouchOutbound(ctx, m.ClientID, m, m.ConversationID, true)
		if err != nil {
			return err
		}
		m.ConversationID = conv
		if _, err := tx.QueueStartedSend(ctx, m, model.PriorityInteractive, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || len(l.taken) != 0 {
		t.Fatalf("rolled back: err %v, taken %v; want boom and nothing taken", err, l.taken)
	}
	if started, err := queueStarted(outboundTo(3, "conv_b", "+15551230002")); err != nil || !started {
		t.Fatalf("first of its conversation: started %v, %v; want started", started, err)
	}
	if len(l.taken) != 1 {
		t.Fatalf("taken %d jobs, want 1", len(l.taken))
	}
	j := l.taken[0]
	if j.Ref != "msg_003" || j.ClientID != "acme" || j.OrderKey != store.SendOrderKey("conv_b") || j.Attempts != 1 ||
		!j.LeaseUntil.Equal(t0.Add(time.Hour)) || j.Priority != model.PriorityInteractive {
		t.Fatalf("taken job = %+v", j)
	}
	m, err := s.MessageByID(ctx, "msg_003")
	ibikitest.Must(t, err)
	if m.Status != model.StatusSending || m.SendAttempts != 1 || !m.SentAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("started message: status %s, attempts %d, sent_at %v", m.Status, m.SendAttempts, m.SentAt)
	}
	if n := sendStat(t, s, model.JobRunning); n != 2 {
		t.Fatalf("running sends = %d, want 2 (msg_001 claimed, msg_003 born started)", n)
	}
	// Behind it: waits, as any send of the conversation.
	if started, err := queueStarted(outboundTo(4, "conv_b", "+15551230002")); err != nil || started {
		t.Fatalf("behind msg_003: started %v, %v; want waiting", started, err)
	}
	if w := sendStat(t, s, model.JobWaiting); w != 1 {
		t.Fatalf("%d sends waiting, want 1 (msg_004)", w)
	}
	// Given back unrun: queued again, attempt undone; claimed afresh, and msg_004 still waits.
	var back bool
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		back, err = tx.ReturnStartedSend(ctx, j, t0)
		return err
	}))
	if !back {
		t.Fatal("the started send was not given back")
	}
	m, err = s.MessageByID(ctx, "msg_003")
	ibikitest.Must(t, err)
	if m.Status != model.StatusQueued || m.SendAttempts != 0 || !m.SentAt.IsZero() {
		t.Fatalf("given back: status %s, attempts %d, sent_at %v; want queued, 0, zero", m.Status, m.SendAttempts, m.SentAt)
	}
	got := claimSends(t, s, 10)
	if refs(got) != "msg_003" || got[0].Attempts != 1 {
		t.Fatalf("after the give-back claimed %q (%+v), want msg_003 at its first attempt", refs(got), got)
	}
	if w := sendStat(t, s, model.JobWaiting); w != 1 {
		t.Fatalf("%d sends waiting, want 1 (msg_004)", w)
	}
	// Two in the function that creates their conversation: the first starts, the second waits.
	var pair [2]bool
	taken := len(l.taken)
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		for i, n := range []int{5, 6} {
			m := outboundTo(n, "conv_c", "+15551230003")
			conv, _, err := tx.TouchOutbound(ctx, m.ClientID, m, m.ConversationID, true)
			if err != nil {
				return err
			}
			m.ConversationID = conv
			if pair[i], err = tx.QueueStartedSend(ctx, m, model.PriorityInteractive, t0); err != nil {
				return err
			}
		}
		return nil
	}))
	if !pair[0] || pair[1] || len(l.taken) != taken+1 {
		t.Fatalf("a new conversation's two sends: started %v, taken %d; want the first only", pair, len(l.taken))
	}
	// A send queued in the function that created the conversation: the next one probes, and waits.
	var second bool
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		m := outboundTo(7, "conv_d", "+15551230004")
		conv, _, err := tx.TouchOutbound(ctx, m.ClientID, m, m.ConversationID, true)
		if err != nil {
			return err
		}
		m.ConversationID = conv
		if err := tx.QueueOutbound(ctx, m, true, model.PriorityInteractive); err != nil {
			return err
		}
		n := outboundTo(8, "conv_d", "+15551230004")
		n.ConversationID = conv
		second, err = tx.QueueStartedSend(ctx, n, model.PriorityInteractive, t0)
		return err
	}))
	if second {
		t.Fatal("a send behind one queued in the same function was started")
	}
	// A Lessee without room for the client: queued, for the claim.
	full := &fullLog{}
	s.LeaseNewSends(full)
	if started, err := queueStarted(outboundTo(9, "conv_e", "+15551230005")); err != nil || started || len(full.taken) != 0 {
		t.Fatalf("no room: started %v, %v, taken %d; want queued", started, err, len(full.taken))
	}
}
