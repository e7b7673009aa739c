package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// A delivery is its own job: the deliveries row carries its place in the queue (q_state,
// next_attempt_at, claims, lease_until, locked_by, seq), so a message's delivery costs no job
// row to insert, claim and delete. These are the deliveries table's queue statements; the queue
// decides which kind of job runs from this table, and whether new deliveries are born leased
// (see Lessee). To the queue a delivery is a model.Job whose Ref is the delivery id, whose
// OrderKey is its conversation, whose ID is its seq and whose Attempts counts its claims; its
// Kind is left for the queue to name, and its Priority is the zero value (interactive).

const deliveryJobColumns = `id, client_id, conversation_id, seq, next_attempt_at, claims, lease_until, created_at`

func scanDeliveryJob(row scanner) (model.Job, error) {
	var (
		j                     model.Job
		runAt, lease, created int64
	)
	err := row.Scan(&j.Ref, &j.ClientID, &j.OrderKey, &j.ID, &runAt, &j.Attempts, &lease, &created)
	j.RunAt, j.LeaseUntil, j.CreatedAt = fromMS(runAt), fromMS(lease), fromMS(created)
	return j, err
}

// A Lessee is who new deliveries are born leased to. Whether they are, and to whom, is the
// queue's policy (its runner registers itself while it runs, see LeaseNewDeliveries); the store
// only carries it out: a delivery that need not wait behind its conversation is inserted already
// running, leased as Lease says, and handed to Take once its transaction has committed, so its
// first attempt needs no claim.
type Lessee interface {
	// Lease names the owner of a delivery born now, and when its lease ends.
	Lease() (owner string, until time.Time)
	// Take receives a delivery born leased, as a job, after the commit (never for a rolled-back
	// transaction). It runs on the store's writer goroutine, so it must neither block nor write.
	Take(j model.Job)
}

// LeaseNewDeliveries registers who new deliveries are born leased to; nil makes them born
// queued, to be claimed.
func (s *Store) LeaseNewDeliveries(l Lessee) {
	if l == nil {
		s.lessee.Store(nil)
		return
	}
	s.lessee.Store(&l)
}

// EnqueueDelivery stores a new pending delivery with its place in the queue: waiting when an
// earlier delivery of its conversation is unfinished (deliveries of one conversation go one at a
// time, in order), else born leased when a Lessee is registered, else queued.
func (tx *Tx) EnqueueDelivery(ctx context.Context, d model.Delivery) error {
	if err := tx.lockKey(ctx, d.ConversationID); err != nil {
		return err
	}
	state, claims, lease, owner := string(model.JobQueued), 0, int64(0), ""
	l := tx.lessee
	if l != nil {
		var until time.Time
		owner, until = (*l).Lease()
		state, claims, lease = string(model.JobRunning), 1, ms(until)
	}
	runAt := d.NextAttemptAt
	if runAt.IsZero() {
		runAt = d.CreatedAt
	}
	var (
		got string
		seq int64
		err error
	)
	if tx.engine == Postgres {
		got, seq, err = tx.insertDeliveryChecked(ctx, d, runAt, state, claims, lease, owner)
	} else {
		// SQLite: a probe and a plain insert are cheaper than one INSERT ... SELECT, which
		// would copy its row through a temporary table (it reads the table it writes).
		// The first delivery of a conversation this function created waits behind none: no
		// probe (the next one of the same function does probe, and finds this one).
		var last sql.NullInt64
		if i := slices.Index(tx.fresh, d.ConversationID); i >= 0 {
			tx.fresh = slices.Delete(tx.fresh, i, i+1)
		} else if d.ConversationID != "" {
			err = tx.queryRow(ctx, `SELECT MAX(seq) FROM deliveries WHERE conversation_id = ? AND q_state <> ''`,
				d.ConversationID).Scan(&last)
		}
		if last.Valid {
			state, claims, lease, owner = string(model.JobWaiting), 0, 0, ""
		}
		seq = last.Int64 + 1
		if err == nil {
			_, err = tx.exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`, q_state, claims, lease_until, locked_by, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.ID, d.ClientID, d.ConversationID, d.MessageID, d.Type, string(d.Payload), d.Status, d.Attempts,
				d.LastStatusCode, d.LastError, ms(runAt), ms(d.CreatedAt), ms(d.CompletedAt), d.URL, d.Format,
				state, claims, lease, owner, seq)
		}
		got = state
	}
	if err != nil {
		return notFound(err, "insert delivery")
	}
	switch got {
	case string(model.JobRunning):
		j := model.Job{ID: seq, ClientID: d.ClientID, Ref: d.ID, OrderKey: d.ConversationID, RunAt: runAt, Attempts: 1,
			LeaseUntil: fromMS(lease), CreatedAt: d.CreatedAt}
		tx.AfterCommit(func() { (*l).Take(j) })
	case string(model.JobQueued):
		tx.kinds = append(tx.kinds, DeliveriesReady)
	}
	return nil
}

// insertDeliveryChecked inserts a delivery and decides, in the same statement, whether it waits
// behind an unfinished delivery of its conversation, and its place after them (one round trip
// on PostgreSQL). It returns the state and seq the delivery got.
func (tx *Tx) insertDeliveryChecked(ctx context.Context, d model.Delivery, runAt time.Time, state string, claims int, lease int64, owner string) (string, int64, error) {
	// "q_state <> ''" repeats the partial index's condition so that the planner may use it.
	var (
		got string
		seq int64
	)
	err := tx.queryRow(ctx, `INSERT INTO deliveries (`+deliveryColumns+`, q_state, claims, lease_until, locked_by, seq)
		SELECT ?, ?, ?, ?, ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS BIGINT),
			CAST(? AS BIGINT), ?, ?,
			CASE WHEN m IS NULL THEN ? ELSE 'waiting' END, CASE WHEN m IS NULL THEN CAST(? AS BIGINT) ELSE 0 END,
			CASE WHEN m IS NULL THEN CAST(? AS BIGINT) ELSE 0 END, CASE WHEN m IS NULL THEN ? ELSE '' END,
			COALESCE(m, 0) + 1
		FROM (SELECT CASE WHEN CAST(? AS TEXT) <> '' THEN (SELECT MAX(seq) FROM deliveries
			WHERE conversation_id = ? AND q_state <> '') END AS m) AS x
		RETURNING q_state, seq`,
		d.ID, d.ClientID, d.ConversationID, d.MessageID, d.Type, string(d.Payload), d.Status, d.Attempts,
		d.LastStatusCode, d.LastError, ms(runAt), ms(d.CreatedAt), ms(d.CompletedAt), d.URL, d.Format,
		state, claims, lease, owner, d.ConversationID, d.ConversationID).Scan(&got, &seq)
	return got, seq, err
}

// RequeueDelivery puts a finished delivery back in the queue (a replay), behind its
// conversation's unfinished deliveries. d's state (status, attempts, ...) is saved with it. A
// delivery that is still in the queue is ErrNotFound. Its claims go on counting, so that a run
// from before the replay whose lease lapsed can never record over a new one.
func (tx *Tx) RequeueDelivery(ctx context.Context, d model.Delivery) error {
	if err := tx.lockKey(ctx, d.ConversationID); err != nil {
		return err
	}
	err := affected(tx.exec(ctx, `UPDATE deliveries SET status = ?, attempts = ?, last_status_code = ?,
			last_error = ?, next_attempt_at = ?, completed_at = ?, lease_until = 0, locked_by = '',
			seq = COALESCE((SELECT MAX(o.seq) FROM deliveries o WHERE o.conversation_id = deliveries.conversation_id
				AND deliveries.conversation_id <> '' AND o.q_state <> ''), 0) + 1,
			q_state = CASE WHEN conversation_id <> '' AND EXISTS (SELECT 1 FROM deliveries o
				WHERE o.conversation_id = deliveries.conversation_id AND o.q_state <> '') THEN 'waiting' ELSE 'queued' END
		WHERE id = ? AND q_state = ''`,
		d.Status, d.Attempts, d.LastStatusCode, d.LastError, ms(d.NextAttemptAt), ms(d.CompletedAt), d.ID))
	if err != nil {
		return notFound(err, "requeue delivery "+d.ID)
	}
	tx.kinds = append(tx.kinds, DeliveriesReady)
	return nil
}

// DeliveryLanes returns the clients with queued deliveries, each with its earliest next
// attempt (all at the zero priority: deliveries have one), walking the distinct clients through
// the index like JobLanes.
func (r reader) DeliveryLanes(ctx context.Context) ([]Lane, error) {
	rows, err := r.query(ctx, `WITH RECURSIVE lanes(client_id) AS (
			SELECT MIN(client_id) FROM deliveries WHERE q_state = 'queued'
			UNION ALL
			SELECT (SELECT MIN(d.client_id) FROM deliveries d WHERE d.q_state = 'queued'
				AND d.client_id > lanes.client_id)
			FROM lanes WHERE lanes.client_id IS NOT NULL
		)
		SELECT client_id, (SELECT MIN(d.next_attempt_at) FROM deliveries d WHERE d.q_state = 'queued'
			AND d.client_id = lanes.client_id)
		FROM lanes WHERE client_id IS NOT NULL`)
	if err != nil {
		return nil, notFound(err, "delivery lanes")
	}
	defer rows.Close()
	var out []Lane
	for rows.Next() {
		var (
			l  Lane
			at int64
		)
		if err := rows.Scan(&l.ClientID, &at); err != nil {
			return nil, notFound(err, "delivery lanes")
		}
		l.MinRunAt = fromMS(at)
		out = append(out, l)
	}
	return out, notFound(rows.Err(), "delivery lanes")
}

// ClaimDeliveries leases up to limit ready deliveries of one client to owner until leaseUntil,
// oldest first, and returns them in that order. On PostgreSQL, rows another instance is
// claiming are skipped rather than waited for.
func (tx *Tx) ClaimDeliveries(ctx context.Context, clientID string, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error) {
	skip := ""
	if tx.engine == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := tx.query(ctx, `UPDATE deliveries SET q_state = 'running', claims = claims + 1, lease_until = ?, locked_by = ?
		WHERE id IN (SELECT id FROM deliveries WHERE q_state = 'queued' AND client_id = ? AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`+skip+`)
		RETURNING `+deliveryJobColumns,
		ms(leaseUntil), owner, clientID, ms(now), limit)
	jobs, err := collect(rows, err, "claim deliveries", scanDeliveryJob)
	// RETURNING keeps no order on PostgreSQL: start them in queue order.
	slices.SortFunc(jobs, func(a, b model.Job) int { return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.Ref, b.Ref)) })
	return jobs, err
}

// DequeueDelivery takes a running delivery out of the queue, leaving its state as it is (its
// status says how it ended), and lets the next delivery of its conversation run. It matches the
// claim (delivery and claim count), so a run whose lease lapsed and whose delivery was claimed
// again cannot take the newer run's delivery out; it reports false then.
func (tx *Tx) DequeueDelivery(ctx context.Context, j model.Job) (bool, error) {
	return tx.leaveQueue(ctx, j, nil, "")
}

// FinishDelivery saves a delivery's final state (succeeded or failed) with its last attempt, if
// a is not nil, and takes it out of the queue in the same statement. It reports false, having
// changed nothing of the delivery, when the run no longer holds the job (its lease lapsed and
// it was claimed again): the caller must then roll back.
func (tx *Tx) FinishDelivery(ctx context.Context, j model.Job, a *model.Attempt, d model.Delivery) (bool, error) {
	if d.ID != j.Ref {
		return false, fmt.Errorf("store: finish delivery %s with the job of delivery %s", d.ID, j.Ref)
	}
	return tx.leaveQueue(ctx, j, a, `status = ?, attempts = ?, last_status_code = ?, last_error = ?,
		next_attempt_at = ?, completed_at = ?, `,
		d.Status, d.Attempts, d.LastStatusCode, d.LastError, ms(d.NextAttemptAt), ms(d.CompletedAt))
}

// leaveQueue takes a running delivery out of the queue, with set (assignments ending in a comma,
// with their args) and its attempt a when not nil, then lets the next delivery waiting in its
// conversation become ready. It reports false when the run no longer held the job. On
// PostgreSQL it is two statements: the conversation's lock, then one that does the rest (the
// lock comes first, so that the statement's snapshot sees every delivery enqueued behind this
// one); on SQLite, one per step.
func (tx *Tx) leaveQueue(ctx context.Context, j model.Job, a *model.Attempt, set string, args ...any) (bool, error) {
	if err := tx.lockKey(ctx, j.OrderKey); err != nil {
		return false, err
	}
	const leave = `UPDATE deliveries SET %sq_state = '', lease_until = 0, locked_by = ''
		WHERE id = ? AND claims = ? AND q_state = 'running'`
	const next = `UPDATE deliveries SET q_state = 'queued' WHERE id = (
		SELECT id FROM deliveries WHERE conversation_id = ? AND q_state <> '' AND q_state = 'waiting'
		ORDER BY seq LIMIT 1)`
	args = append(args, j.Ref, j.Attempts)
	if tx.engine == Postgres {
		q, all := `WITH done AS (`+fmt.Sprintf(leave, set)+` RETURNING 1)`, args
		if a != nil {
			q += `, attempt AS (` + insertAttemptSQL + `)`
			all = append(all, attemptArgs(*a)...)
		}
		moved := `0`
		if j.OrderKey != "" {
			q += `, next AS (` + next + ` AND EXISTS (SELECT 1 FROM done) RETURNING 1)`
			all, moved = append(all, j.OrderKey), `(SELECT COUNT(*) FROM next)`
		}
		var left, promoted int
		if err := tx.queryRow(ctx, q+` SELECT (SELECT COUNT(*) FROM done), `+moved, all...).Scan(&left, &promoted); err != nil {
			return false, fmt.Errorf("store: finish delivery %s: %w", j.Ref, err)
		}
		if promoted > 0 {
			tx.kinds = append(tx.kinds, DeliveriesReady)
		}
		return left > 0, nil
	}
	if a != nil {
		if err := tx.insertAttempt(ctx, *a); err != nil {
			return false, err
		}
	}
	res, err := tx.exec(ctx, fmt.Sprintf(leave, set), args...)
	if err != nil {
		return false, fmt.Errorf("store: finish delivery %s: %w", j.Ref, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if j.OrderKey == "" {
		return true, nil
	}
	res, err = tx.exec(ctx, next, j.OrderKey)
	if err != nil {
		return false, fmt.Errorf("store: next delivery after %s: %w", j.Ref, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		tx.kinds = append(tx.kinds, DeliveriesReady)
	}
	return true, nil
}

// RetryDelivery puts a running delivery back in the queue, to be claimed again at runAt. The
// delivery stays the head of its conversation, so later ones keep waiting.
func (tx *Tx) RetryDelivery(ctx context.Context, j model.Job, runAt time.Time) (bool, error) {
	return tx.requeueDelivery(ctx, j, runAt, false)
}

// DeferDelivery puts a running delivery back for later and takes its claim back: the run did
// no work (or never started), so it does not count.
func (tx *Tx) DeferDelivery(ctx context.Context, j model.Job, runAt time.Time) (bool, error) {
	return tx.requeueDelivery(ctx, j, runAt, true)
}

func (tx *Tx) requeueDelivery(ctx context.Context, j model.Job, runAt time.Time, uncounted bool) (bool, error) {
	back := ""
	if uncounted {
		back = ", claims = claims - 1"
	}
	res, err := tx.exec(ctx, `UPDATE deliveries SET q_state = 'queued', next_attempt_at = ?, lease_until = 0,
		locked_by = ''`+back+` WHERE id = ? AND claims = ? AND q_state = 'running'`, ms(runAt), j.Ref, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store: requeue delivery %s: %w", j.Ref, err)
	}
	return tx.requeued(res, DeliveriesReady)
}

// ReleaseExpiredDeliveries returns to the queue the running deliveries whose lease lapsed
// before now (their worker died or hung). It returns how many.
func (tx *Tx) ReleaseExpiredDeliveries(ctx context.Context, now time.Time) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE deliveries SET q_state = 'queued', lease_until = 0, locked_by = ''
		WHERE q_state = 'running' AND lease_until < ?`, ms(now))
	return tx.released(res, err, "deliveries", DeliveriesReady)
}

// ReleaseRunningDeliveries returns every running delivery to the queue: like
// ReleaseRunningJobs, only for a database no other process can use.
func (tx *Tx) ReleaseRunningDeliveries(ctx context.Context) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE deliveries SET q_state = 'queued', lease_until = 0, locked_by = ''
		WHERE q_state = 'running'`)
	return tx.released(res, err, "deliveries", DeliveriesReady)
}

// DeliveryQueueStats summarises the deliveries still in the queue for metrics, by state. Their
// Kind is left empty, for the queue to name.
func (r reader) DeliveryQueueStats(ctx context.Context) ([]QueueStat, error) {
	return r.stateStats(ctx, "deliveries", "")
}

// stateStats counts the rows of a table whose rows are their own jobs (q_state), by state, with
// the oldest of each.
func (r reader) stateStats(ctx context.Context, table, except string, args ...any) ([]QueueStat, error) {
	rows, err := r.query(ctx, `SELECT q_state, COUNT(*), MIN(created_at) FROM `+table+` WHERE q_state <> ''`+except+`
		GROUP BY q_state`, args...)
	return collect(rows, err, table+" queue stats", func(row scanner) (QueueStat, error) {
		var (
			s      QueueStat
			oldest int64
		)
		err := row.Scan(&s.State, &s.Count, &oldest)
		s.OldestAt = fromMS(oldest)
		return s, err
	})
}
