package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// A message waiting to be sent is its own job: its row carries its place in the send queue
// (q_state, q_key, q_seq, q_priority, q_run_at, q_attempts, q_lease_until, q_locked_by, q_error;
// migration 00016), as a delivery's row does, so that a send costs no jobs row to
// insert, claim and delete. These are the send queue's statements; the queue decides which kind
// runs from here. To the queue a send is a model.Job whose Ref is the message id, whose OrderKey
// is SendOrderKey of its conversation (empty for a bulk message, which waits for nobody), and
// whose Attempts counts its claims; its ID is 0 (the message id names it) and its Kind is left
// for the queue to name.

// SendsReady is what the store announces (OnWrite) when messages became ready to send.
const SendsReady = "@sends"

const sendJobColumns = `id, client_id, q_key, q_priority, q_run_at, q_attempts, q_lease_until, q_error, created_at`

func scanSendJob(row scanner) (model.Job, error) {
	var (
		j                     model.Job
		client                sql.NullString
		key                   string
		runAt, lease, created int64
	)
	err := row.Scan(&j.Ref, &client, &key, &j.Priority, &runAt, &j.Attempts, &lease, &j.LastError, &created)
	j.ClientID = client.String
	if key != "" {
		j.OrderKey = SendOrderKey(key)
	}
	j.RunAt, j.LeaseUntil, j.CreatedAt = fromMS(runAt), fromMS(lease), fromMS(created)
	return j, err
}

// QueueOutbound stores a message a client is sending, queued to be sent at m.CreatedAt with the
// given priority. An ordered message (not bulk) waits behind the unfinished sends of its
// conversation, which go one at a time, in the order they were queued (q_seq, taken under the
// lock); on PostgreSQL its conversation's send lock must be held (TouchOutbound takes it) or is
// taken here. One statement decides the state and the place, and inserts.
//
// It returns nothing from the statement: on SQLite a RETURNING clause costs a temporary table of
// its own at every execution, a third of the insert's cost. So the send kind is announced
// whatever state the message got; one that waits is simply not claimed (the claim loop looks
// once for nothing, and the message's turn comes with promoteSends).
//
// Unlike Enqueue it marks no message ahead as followed, so that it writes no row but its own: a
// finished send's recording holds its message's row when it takes the conversation's lock
// (FinishSends), and a mark here, taken under that lock, would wait for that row — a deadlock
// on PostgreSQL. A finished send looks for its successor instead (one statement per recorded
// batch).
func (tx *Tx) QueueOutbound(ctx context.Context, m model.Message, ordered bool, priority int) error {
	return tx.QueueOutboundAt(ctx, m, ordered, priority, m.CreatedAt)
}

// QueueOutboundAt is QueueOutbound for a message to be sent at runAt (a scheduled message, not
// ordered: it must not hold back its conversation's other sends until its time).
func (tx *Tx) QueueOutboundAt(ctx context.Context, m model.Message, ordered bool, priority int, runAt time.Time) error {
	key := ""
	if ordered {
		key = m.ConversationID
		if err := tx.lockKey(ctx, SendOrderKey(key)); err != nil {
			return err
		}
		tx.firstSend(key) // a send of the conversation now: the next one is not its first
	}
	args := append(messageArgs(m), key, key, key, key, priority, ms(runAt))
	if _, err := tx.exec(ctx, queueOutbound, args...); err != nil {
		return notFound(err, "queue outbound message")
	}
	tx.kinds = append(tx.kinds, SendsReady)
	return nil
}

// QueueStartedSend stores a send (one of Ibiki's own answers, found in routing's transaction,
// or a client's) already handed to its send run: when a send Lessee is registered (LeaseNewSends),
// has room for the client (Room, when it can say) and no unfinished send of its conversation is
// ahead of it, the message is inserted as
// "sending" (its attempt recorded, sent_at = at) and running, leased as the Lessee says, and
// handed to its Take once the transaction has committed, so that it needs neither a claim nor
// a commit of its own before its provider is called. Otherwise it is queued (ordered) as
// QueueOutbound does. It returns whether the message was started; the caller has checked
// everything StartSends checks (provider, validity, campaign, opt-out).
func (tx *Tx) QueueStartedSend(ctx context.Context, m model.Message, priority int, at time.Time) (bool, error) {
	l := tx.sendLessee
	if l == nil || m.ConversationID == "" || !hasRoom(*l, m.ClientID) {
		return false, tx.QueueOutbound(ctx, m, true, priority)
	}
	key := m.ConversationID
	if err := tx.lockKey(ctx, SendOrderKey(key)); err != nil {
		return false, err
	}
	var last sql.NullInt64
	if !tx.firstSend(key) {
		err := tx.queryRow(ctx, `SELECT MAX(q_seq) FROM messages WHERE q_key = ? AND q_key <> '' AND q_state <> ''`,
			key).Scan(&last)
		if err != nil {
			return false, fmt.Errorf("store: probe send queue: %w", err)
		}
	}
	if last.Valid {
		return false, tx.QueueOutbound(ctx, m, true, priority)
	}
	owner, until := (*l).Lease()
	m.Status, m.SendAttempts, m.StatusAt = model.StatusSending, m.SendAttempts+1, at
	args := append(messageArgs(m), ms(at), key, priority, ms(m.CreatedAt), ms(until), owner)
	if _, err := tx.exec(ctx, queueStartedSend, args...); err != nil {
		return false, notFound(err, "queue started send")
	}
	j := model.Job{ClientID: m.ClientID, Ref: m.ID, OrderKey: SendOrderKey(key), Priority: priority, RunAt: m.CreatedAt,
		Attempts: 1, LeaseUntil: until, CreatedAt: m.CreatedAt}
	tx.AfterCommit(func() { (*l).Take(j) })
	return true, nil
}

// queueStartedSend inserts a message first in its conversation's send queue, running.
var queueStartedSend = `INSERT INTO messages (` + messageColumns + `, sent_at, q_state, q_key, q_seq, q_priority,
	q_run_at, q_attempts, q_lease_until, q_locked_by)
	VALUES (` + placeholders(strings.Count(messageColumns, ",")+1) + `, ?, 'running', ?, 1, ?, ?, 1, ?, ?)`

// ReturnStartedSend puts back in the queue a send born started (QueueStartedSend) that its
// runner gave back without running it (its client's share of the runs was taken): the provider
// was never called, so the message is queued again, its attempt undone, for a claim to start
// it afresh. It reports whether the send was still running under this lease.
func (tx *Tx) ReturnStartedSend(ctx context.Context, j model.Job, runAt time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET q_state = 'queued', q_run_at = ?, q_attempts = q_attempts - 1,
		q_lease_until = 0, q_locked_by = '',
		status = CASE WHEN status = 'sending' THEN 'queued' ELSE status END,
		send_attempts = CASE WHEN status = 'sending' THEN send_attempts - 1 ELSE send_attempts END,
		sent_at = CASE WHEN status = 'sending' THEN 0 ELSE sent_at END
		WHERE id = ? AND q_attempts = ? AND q_state = 'running'`, ms(runAt), j.Ref, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store: return send %s: %w", j.Ref, err)
	}
	return tx.requeued(res, SendsReady)
}

// Room is a Lessee that can say whether it would take a job of the client now (queue's
// runner): QueueStartedSend starts a send only then, rather than have it given back.
type Room interface {
	Room(clientID string) bool
}

// firstSend reports whether the conversation key was created by this function and has had no
// send queued since (tx.freshSends), and makes the next call report false.
func (tx *Tx) firstSend(key string) bool {
	i := slices.Index(tx.freshSends, key)
	if i >= 0 {
		tx.freshSends = slices.Delete(tx.freshSends, i, i+1)
	}
	return i >= 0
}

func hasRoom(l Lessee, clientID string) bool {
	r, ok := l.(Room)
	return !ok || r.Room(clientID)
}

// LeaseNewSends registers who the sends born started (QueueStartedSend) are leased to; nil
// makes them queued, to be claimed.
func (s *Store) LeaseNewSends(l Lessee) {
	if l == nil {
		s.sendLessee.Store(nil)
		return
	}
	s.sendLessee.Store(&l)
}

// queueOutbound inserts a message with its place in the send queue: behind the last unfinished
// send of its key, if any. The subqueries repeat the partial index's conditions (non-empty
// q_key and q_state) so that the planner may use it.
const queueOutbound = `INSERT INTO messages (` + messageColumns + `, q_state, q_key, q_seq, q_priority, q_run_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
		CASE WHEN CAST(? AS TEXT) <> '' AND (SELECT MAX(q_seq) FROM messages WHERE q_key = ? AND q_key <> ''
			AND q_state <> '') IS NOT NULL THEN 'waiting' ELSE 'queued' END,
		?,
		COALESCE((SELECT MAX(q_seq) FROM messages WHERE q_key = ? AND q_key <> '' AND q_state <> ''), 0) + 1,
		?, ?)`

// SendLanes returns the clients with queued sends, each with the earliest run time at each
// priority, walking the distinct clients through the index like JobLanes.
func (r reader) SendLanes(ctx context.Context) ([]Lane, error) {
	const minAt = `(SELECT MIN(m.q_run_at) FROM messages m WHERE m.q_state = 'queued'
		AND m.client_id = lanes.client_id AND m.q_priority = %d)`
	q := `WITH RECURSIVE lanes(client_id) AS (
			SELECT MIN(client_id) FROM messages WHERE q_state = 'queued'
			UNION ALL
			SELECT (SELECT MIN(m.client_id) FROM messages m WHERE m.q_state = 'queued'
				AND m.client_id > lanes.client_id)
			FROM lanes WHERE lanes.client_id IS NOT NULL
		)
		SELECT client_id, ` + fmt.Sprintf(minAt, model.PriorityInteractive) + `, ` +
		fmt.Sprintf(minAt, model.PriorityNormal) + `, ` + fmt.Sprintf(minAt, model.PriorityBulk) + `
		FROM lanes WHERE client_id IS NOT NULL`
	return r.lanes(ctx, q)
}

// ClaimSends leases up to limit ready sends of one lane to owner until leaseUntil, oldest
// first. On PostgreSQL, rows another instance is claiming are skipped rather than waited for.
func (tx *Tx) ClaimSends(ctx context.Context, lane Lane, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error) {
	skip := ""
	if tx.engine == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := tx.query(ctx, claimSendsQuery(skip), ms(leaseUntil), owner, lane.ClientID, lane.Priority, ms(now), limit)
	jobs, err := collect(rows, err, "claim sends", scanSendJob)
	// RETURNING keeps no order on PostgreSQL: start them in queue order.
	slices.SortFunc(jobs, func(a, b model.Job) int { return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.Ref, b.Ref)) })
	return jobs, err
}

func claimSendsQuery(skip string) string {
	return `UPDATE messages SET q_state = 'running', q_attempts = q_attempts + 1, q_lease_until = ?, q_locked_by = ?
		WHERE id IN (SELECT id FROM messages WHERE q_state = 'queued' AND client_id = ? AND q_priority = ?
			AND q_run_at <= ? ORDER BY q_run_at LIMIT ?` + skip + `)
		RETURNING ` + sendJobColumns
}

// FinishSends is FinishSend for many, in two statements (on PostgreSQL one more, first, that
// takes their order keys' locks): one takes them out of the queue, one lets run the next
// message of each of their conversations. It reports how many of them their runs still held:
// when that is fewer than all, some run lost its lease and the caller must roll the transaction
// back.
func (tx *Tx) FinishSends(ctx context.Context, jobs []model.Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	if err := tx.lockKeys(ctx, jobs); err != nil {
		return 0, err
	}
	args := make([]any, 0, 2*padded(len(jobs)))
	for i := range padded(len(jobs)) {
		j := jobs[min(i, len(jobs)-1)]
		args = append(args, j.Ref, j.Attempts)
	}
	rows, err := tx.query(ctx, finishSendsQuery(len(args)/2), args...)
	keys, err := collect(rows, err, "finish sends", func(row scanner) (string, error) {
		var k string
		return k, row.Scan(&k)
	})
	if err != nil {
		return 0, err
	}
	return len(keys), tx.promoteSends(ctx, keys)
}

// FinishSend takes a message whose send ran to its end out of the queue, and lets the next
// message of its conversation run. It matches the claim (message and claim count), so a run
// whose lease lapsed and whose message was claimed again cannot finish the newer run; it
// reports false then.
func (tx *Tx) FinishSend(ctx context.Context, j model.Job) (bool, error) {
	return tx.leaveSend(ctx, j, "")
}

// BurySend takes a message whose send cannot succeed out of the queue with the reason (the
// send kind's OnDead says what became of the message), and lets the next one run.
func (tx *Tx) BurySend(ctx context.Context, j model.Job, reason string) (bool, error) {
	return tx.leaveSend(ctx, j, reason)
}

// leaveSend takes a run send out of the queue (reason: why it died, "" when it finished).
func (tx *Tx) leaveSend(ctx context.Context, j model.Job, reason string) (bool, error) {
	if err := tx.lockKey(ctx, j.OrderKey); err != nil {
		return false, err
	}
	var key string
	err := tx.queryRow(ctx, `UPDATE messages SET q_state = '', q_lease_until = 0, q_locked_by = '',
			q_error = CASE WHEN ? <> '' THEN ? ELSE q_error END
		WHERE id = ? AND q_attempts = ? AND q_state = 'running' RETURNING q_key`,
		reason, reason, j.Ref, j.Attempts).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: finish send %s: %w", j.Ref, err)
	}
	return true, tx.promoteSends(ctx, []string{key})
}

// promoteSends lets the next message waiting in each of the conversations keys run. The caller
// holds their locks (on PostgreSQL), taken before this statement's snapshot, so that it sees
// every message queued behind the ones that left.
func (tx *Tx) promoteSends(ctx context.Context, keys []string) error {
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "" })
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, padded(len(keys)))
	for i := range args {
		args[i] = keys[min(i, len(keys)-1)]
	}
	res, err := tx.exec(ctx, promoteSendsQuery(len(args)), args...)
	if err != nil {
		return fmt.Errorf("store: the sends after a finished send: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		tx.kinds = append(tx.kinds, SendsReady)
	}
	return nil
}

func finishSendsQuery(n int) string {
	return `UPDATE messages SET q_state = '', q_lease_until = 0, q_locked_by = ''
		WHERE q_state = 'running' AND (id, q_attempts) IN (VALUES ` + pairs(n, "TEXT", "INTEGER") + `)
		RETURNING q_key`
}

func promoteSendsQuery(n int) string {
	return `UPDATE messages SET q_state = 'queued' WHERE q_state <> '' AND q_state = 'waiting' AND (q_key, q_seq) IN (
		SELECT q_key, MIN(q_seq) FROM messages WHERE q_key IN (` + placeholders(n) + `) AND q_key <> ''
			AND q_state <> '' AND q_state = 'waiting' GROUP BY q_key)`
}

// padded is the length a list of n statement arguments is padded to (with its last one again,
// which changes nothing): a power of two, so that few statement texts are prepared.
func padded(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// pairs is the text of n pairs of placeholders cast to the two types: "(CAST(? AS a), CAST(? AS
// b)), ...".
func pairs(n int, a, b string) string {
	var s strings.Builder
	for i := range n {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString("(CAST(? AS " + a + "), CAST(? AS " + b + "))")
	}
	return s.String()
}

// RetrySend puts a claimed send back in the queue to run again at runAt. The message stays the
// head of its conversation, so later ones keep waiting.
func (tx *Tx) RetrySend(ctx context.Context, j model.Job, runAt time.Time, reason string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET q_state = 'queued', q_run_at = ?, q_error = ?, q_lease_until = 0,
		q_locked_by = '' WHERE id = ? AND q_attempts = ? AND q_state = 'running'`, ms(runAt), reason, j.Ref, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store: retry send %s: %w", j.Ref, err)
	}
	return tx.requeued(res, SendsReady)
}

// DeferSend puts a claimed send back for later without counting the run as an attempt (it did
// no work).
func (tx *Tx) DeferSend(ctx context.Context, j model.Job, runAt time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET q_state = 'queued', q_run_at = ?, q_attempts = q_attempts - 1,
		q_lease_until = 0, q_locked_by = '' WHERE id = ? AND q_attempts = ? AND q_state = 'running'`,
		ms(runAt), j.Ref, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store: defer send %s: %w", j.Ref, err)
	}
	return tx.requeued(res, SendsReady)
}

// ReleaseExpiredSends returns to the queue the sends whose lease lapsed before now (their worker
// died or hung). It returns how many.
func (tx *Tx) ReleaseExpiredSends(ctx context.Context, now time.Time) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET q_state = 'queued', q_lease_until = 0, q_locked_by = '',
		q_error = 'lease expired' WHERE q_state = 'running' AND q_lease_until < ?`, ms(now))
	return tx.released(res, err, "sends", SendsReady)
}

// ReleaseRunningSends returns every running send to the queue: like ReleaseRunningJobs, only for
// a database no other process can use.
func (tx *Tx) ReleaseRunningSends(ctx context.Context) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE messages SET q_state = 'queued', q_lease_until = 0, q_locked_by = '',
		q_error = 'released at start' WHERE q_state = 'running'`)
	return tx.released(res, err, "sends", SendsReady)
}

// AdoptSendJobs moves into the send queue the queued send jobs still found in the jobs table,
// and returns how many. It is a safety net for a rolling upgrade across migration 00016: an
// instance of an earlier build still enqueues send jobs there, and nothing of this build claims
// them. A waiting or running one is left to that build (or to the jobs table's sweep, which
// promotes and releases them) until it is queued. They move in one statement on PostgreSQL, so
// that an earlier build can neither add nor claim one between the move and the delete; SQLite
// has one process.
func (tx *Tx) AdoptSendJobs(ctx context.Context) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = 'send' AND state = 'queued'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, notFound(err, "send jobs")
	}
	const set = `q_state = 'queued', q_key = CASE WHEN j.order_key LIKE 'send:%' THEN substr(j.order_key, 6) ELSE '' END,
		q_seq = j.id, q_priority = j.priority, q_run_at = j.run_at, q_attempts = j.attempts, q_error = j.last_error`
	if tx.engine == Postgres {
		err := tx.queryRow(ctx, `WITH j AS (DELETE FROM jobs WHERE kind = 'send' AND state = 'queued'
				RETURNING id, ref, order_key, priority, run_at, attempts, last_error),
			m AS (UPDATE messages SET `+set+` FROM j WHERE messages.id = j.ref AND messages.q_state = '' RETURNING 1)
			SELECT COUNT(*) FROM m`).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("store: adopt send jobs: %w", err)
		}
	} else {
		if _, err := tx.exec(ctx, `UPDATE messages SET `+set+` FROM jobs j WHERE j.kind = 'send' AND j.state = 'queued'
			AND j.ref = messages.id AND messages.q_state = ''`); err != nil {
			return 0, fmt.Errorf("store: adopt send jobs: %w", err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM jobs WHERE kind = 'send' AND state = 'queued'`); err != nil {
			return 0, fmt.Errorf("store: adopt send jobs: %w", err)
		}
	}
	tx.kinds = append(tx.kinds, SendsReady)
	return n, nil
}

// SendQueueStats summarises the sends still in the queue for metrics, by state. Their Kind is
// left empty, for the queue to name.
func (r reader) SendQueueStats(ctx context.Context) ([]QueueStat, error) {
	// A scheduled message waiting for its time is not a backlog (once due, it is).
	return r.stateStats(ctx, "messages", ` AND NOT (status = 'scheduled' AND q_run_at > ?)`, ms(time.Now()))
}
