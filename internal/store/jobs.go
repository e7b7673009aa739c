package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const jobColumns = `id, kind, client_id, ref, order_key, priority, run_at, attempts, lease_until, last_error, created_at`

func scanJob(row scanner) (model.Job, error) {
	var (
		j                     model.Job
		runAt, lease, created int64
	)
	err := row.Scan(&j.ID, &j.Kind, &j.ClientID, &j.Ref, &j.OrderKey, &j.Priority, &runAt, &j.Attempts,
		&lease, &j.LastError, &created)
	j.RunAt, j.LeaseUntil, j.CreatedAt = fromMS(runAt), fromMS(lease), fromMS(created)
	return j, err
}

// lockKey serialises, on PostgreSQL, everything that decides whether a job with this order key
// waits: enqueueing one and finishing one. SQLite has one writer, so it needs nothing. A key
// this transaction's function holds already costs nothing (see lockedID).
func (tx *Tx) lockKey(ctx context.Context, key string) error {
	if tx.engine != Postgres || key == "" || slices.Contains(tx.held, key) {
		return nil
	}
	_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
	if err == nil {
		tx.held = append(tx.held, key)
	}
	return err
}

// lockedID is, in the RETURNING list of a statement that writes a conversation, the expression
// of its id column: on PostgreSQL it also takes lockKey's lock on the order key prefix + id (a
// conversation's deliveries and send jobs are ordered by keys made of its id) and appends its
// empty value, so that the lock costs no statement of its own. args are its argument, to append
// after the statement's others; the caller reports the key to took once it scanned the id.
// Plain id on SQLite, or when take is false.
func (tx *Tx) lockedID(take bool, prefix string) (expr string, args []any) {
	if tx.engine != Postgres || !take {
		return "id", nil
	}
	return `id || CAST(pg_advisory_xact_lock(hashtextextended(? || id, 0)) AS TEXT)`, []any{prefix}
}

// took records that this transaction's function holds the lock of key (taken in a lockedID).
func (tx *Tx) took(key string) {
	if tx.engine == Postgres {
		tx.held = append(tx.held, key)
	}
}

// SendOrderKey is the order key of the send jobs of the conversation conv: its messages go out
// one at a time, in order.
func SendOrderKey(conv string) string { return "send:" + conv }

// Enqueue adds a job. A job whose OrderKey is shared with an unfinished job waits behind it.
// The job's kind is announced to OnWrite listeners once the transaction commits. (Jobs are born
// queued and claimed; only deliveries are born leased to their runner: measured, adopting send
// jobs made dispatch compete with accepting sends and lowered the flat-out accept rate.)
func (tx *Tx) Enqueue(ctx context.Context, j model.Job) (int64, error) {
	if err := tx.lockKey(ctx, j.OrderKey); err != nil {
		return 0, err
	}
	// One statement decides the state and inserts. "order_key <> ''" repeats the partial
	// index's condition so that the planner may use it (a bound parameter proves nothing).
	var (
		id    int64
		state model.JobState
	)
	err := tx.queryRow(ctx, `INSERT INTO jobs (kind, state, client_id, ref, order_key, priority, run_at, created_at)
		VALUES (?, CASE WHEN ? <> '' AND EXISTS (SELECT 1 FROM jobs WHERE order_key = ? AND order_key <> ''
			AND state IN ('queued', 'running', 'waiting')) THEN 'waiting' ELSE 'queued' END, ?, ?, ?, ?, ?, ?)
		RETURNING id, state`,
		j.Kind, j.OrderKey, j.OrderKey, j.ClientID, j.Ref, j.OrderKey, j.Priority, ms(j.RunAt), ms(j.CreatedAt)).Scan(&id, &state)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", err)
	}
	if state == model.JobWaiting {
		// The jobs ahead learn that someone waits behind them, so that the one that finishes
		// promotes the next (afterFinish); a job nobody waits for finishes in one statement.
		if _, err := tx.exec(ctx, `UPDATE jobs SET followers = 1 WHERE order_key = ? AND order_key <> ''
			AND state IN ('queued', 'running', 'waiting') AND followers = 0 AND id <> ?`, j.OrderKey, id); err != nil {
			return 0, fmt.Errorf("store: enqueue behind %q: %w", j.OrderKey, err)
		}
	}
	tx.kinds = append(tx.kinds, string(j.Kind))
	return id, nil
}

// Lane is one client's queue of ready jobs at one priority.
type Lane struct {
	ClientID string
	Priority int
	MinRunAt time.Time
}

// JobLanes returns the clients with queued jobs of a kind in the jobs table, each with the
// earliest run time at each priority. It walks the distinct clients through the index (a loose
// index scan), so a client with a long backlog costs no more than one with a single job.
func (r reader) JobLanes(ctx context.Context, kind model.JobKind) ([]Lane, error) {
	const minAt = `(SELECT MIN(run_at) FROM jobs j WHERE j.kind = ? AND j.state = 'queued'
		AND j.client_id = lanes.client_id AND j.priority = %d)`
	q := `WITH RECURSIVE lanes(client_id) AS (
			SELECT MIN(client_id) FROM jobs WHERE kind = ? AND state = 'queued'
			UNION ALL
			SELECT (SELECT MIN(j.client_id) FROM jobs j WHERE j.kind = ? AND j.state = 'queued'
				AND j.client_id > lanes.client_id)
			FROM lanes WHERE lanes.client_id IS NOT NULL
		)
		SELECT client_id, ` + fmt.Sprintf(minAt, model.PriorityInteractive) + `, ` +
		fmt.Sprintf(minAt, model.PriorityNormal) + `, ` + fmt.Sprintf(minAt, model.PriorityBulk) + `
		FROM lanes WHERE client_id IS NOT NULL`
	return r.lanes(ctx, q, kind, kind, kind, kind, kind)
}

// lanes runs a lanes query: each row a client and its earliest run times at the priorities
// interactive, normal and bulk (NULL where it has none).
func (r reader) lanes(ctx context.Context, q string, args ...any) ([]Lane, error) {
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, notFound(err, "lanes")
	}
	defer rows.Close()
	var out []Lane
	for rows.Next() {
		var (
			client string
			at     [3]sql.NullInt64
		)
		if err := rows.Scan(&client, &at[0], &at[1], &at[2]); err != nil {
			return nil, notFound(err, "lanes")
		}
		for p, v := range at {
			if v.Valid {
				out = append(out, Lane{ClientID: client, Priority: p, MinRunAt: fromMS(v.Int64)})
			}
		}
	}
	return out, notFound(rows.Err(), "lanes")
}

// ClaimJobs leases up to limit ready jobs of one kind and lane to owner until leaseUntil,
// oldest first. On PostgreSQL, rows another instance is claiming are skipped rather than waited
// for.
func (tx *Tx) ClaimJobs(ctx context.Context, kind model.JobKind, lane Lane, now, leaseUntil time.Time, owner string, limit int) ([]model.Job, error) {
	skip := ""
	if tx.engine == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := tx.query(ctx, `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?
		WHERE id IN (SELECT id FROM jobs WHERE kind = ? AND state = 'queued' AND client_id = ? AND priority = ?
			AND run_at <= ? ORDER BY run_at LIMIT ?`+skip+`)
		RETURNING `+jobColumns,
		ms(leaseUntil), owner, kind, lane.ClientID, lane.Priority, ms(now), limit)
	return collect(rows, err, "claim", scanJob)
}

// FinishJob deletes a job that ran to its end and lets the next job with its order key run.
// It matches the claim (id and attempt number), so a worker whose lease lapsed and whose job
// was claimed again cannot finish the newer run; it reports false then.
func (tx *Tx) FinishJob(ctx context.Context, j model.Job) (bool, error) {
	if err := tx.lockKey(ctx, j.OrderKey); err != nil {
		return false, err
	}
	var followers int
	err := tx.queryRow(ctx, `DELETE FROM jobs WHERE id = ? AND attempts = ? AND state = 'running' RETURNING followers`,
		j.ID, j.Attempts).Scan(&followers)
	return tx.afterFinish(ctx, j, followers, err)
}

// FinishJobs is FinishJob for many jobs, in one statement (and, on PostgreSQL, one more that
// takes their order keys' locks). It reports how many of them their runs still held: when that
// is fewer than all, some run lost its lease (its job was claimed again) and the caller must
// roll the transaction back and finish them one by one.
func (tx *Tx) FinishJobs(ctx context.Context, jobs []model.Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	if err := tx.lockKeys(ctx, jobs); err != nil {
		return 0, err
	}
	n := padded(len(jobs))
	args := make([]any, 0, 2*n)
	for i := range n {
		j := jobs[min(i, len(jobs)-1)]
		args = append(args, j.ID, j.Attempts)
	}
	type left struct {
		id        int64
		followers int
	}
	rows, err := tx.query(ctx, `DELETE FROM jobs WHERE state = 'running' AND (id, attempts) IN (VALUES `+
		pairs(n, "BIGINT", "INTEGER")+`) RETURNING id, followers`, args...)
	gone, err := collect(rows, err, "finish jobs", func(row scanner) (left, error) {
		var l left
		return l, row.Scan(&l.id, &l.followers)
	})
	if err != nil {
		return 0, err
	}
	byID := make(map[int64]model.Job, len(jobs))
	for _, j := range jobs {
		byID[j.ID] = j
	}
	for _, l := range gone {
		if j := byID[l.id]; j.OrderKey != "" && l.followers != 0 {
			if err := tx.promote(ctx, j); err != nil {
				return 0, err
			}
		}
	}
	return len(gone), nil
}

// lockKeys is lockKey for the order keys of many jobs, taken in one order (sorted) so that two
// transactions cannot each hold a key the other waits for.
func (tx *Tx) lockKeys(ctx context.Context, jobs []model.Job) error {
	if tx.engine != Postgres {
		return nil
	}
	var keys []string
	for _, j := range jobs {
		if j.OrderKey != "" {
			keys = append(keys, j.OrderKey)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	_, err := tx.exec(ctx, `SELECT COUNT(pg_advisory_xact_lock(hashtextextended(k, 0)))
		FROM unnest(CAST(? AS TEXT[])) AS t(k)`, keys)
	return err
}

// BuryJob moves a job that cannot succeed to the dead state, kept for the operator, and lets
// the next job with its order key run.
func (tx *Tx) BuryJob(ctx context.Context, j model.Job, reason string) (bool, error) {
	if err := tx.lockKey(ctx, j.OrderKey); err != nil {
		return false, err
	}
	var followers int
	err := tx.queryRow(ctx, `UPDATE jobs SET state = 'dead', last_error = ?, lease_until = 0
		WHERE id = ? AND attempts = ? AND state = 'running' RETURNING followers`, reason, j.ID, j.Attempts).Scan(&followers)
	return tx.afterFinish(ctx, j, followers, err)
}

// afterFinish promotes, when jobs wait behind the one that left the queue (followers, set by
// Enqueue), the next of its order key. err is the leaving statement's: no row means the run no
// longer held the job.
func (tx *Tx) afterFinish(ctx context.Context, j model.Job, followers int, err error) (bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: finish job %d: %w", j.ID, err)
	}
	if j.OrderKey == "" || followers == 0 {
		return true, nil
	}
	return true, tx.promote(ctx, j)
}

// promote lets the next job waiting behind j (its order key's) run.
func (tx *Tx) promote(ctx context.Context, j model.Job) error {
	res, err := tx.exec(ctx, `UPDATE jobs SET state = 'queued' WHERE id = (
		SELECT MIN(id) FROM jobs WHERE order_key = ? AND order_key <> '' AND state = 'waiting')`, j.OrderKey)
	if err != nil {
		return fmt.Errorf("store: promote after job %d: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		tx.kinds = append(tx.kinds, string(j.Kind))
	}
	return nil
}

// RetryJob puts a claimed job back in the queue to run again at runAt. The job stays the head
// of its order key, so later jobs with the same key keep waiting.
func (tx *Tx) RetryJob(ctx context.Context, j model.Job, runAt time.Time, reason string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE jobs SET state = 'queued', run_at = ?, last_error = ?, lease_until = 0
		WHERE id = ? AND attempts = ? AND state = 'running'`, ms(runAt), reason, j.ID, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store: retry job %d: %w", j.ID, err)
	}
	return tx.requeued(res, string(j.Kind))
}

// DeferJob puts a claimed job back for later without counting the run as an attempt (it did
// no work).
func (tx *Tx) DeferJob(ctx context.Context, j model.Job, runAt time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE jobs SET state = 'queued', run_at = ?, attempts = attempts - 1, lease_until = 0
		WHERE id = ? AND attempts = ? AND state = 'running'`, ms(runAt), j.ID, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store: defer job %d: %w", j.ID, err)
	}
	return tx.requeued(res, string(j.Kind))
}

// requeued reports whether a claimed job went back to the queue, and if so announces what
// became ready (a kind, or DeliveriesReady) after the commit so that the runner looks again.
func (tx *Tx) requeued(res sql.Result, ready string) (bool, error) {
	n, err := res.RowsAffected()
	if n > 0 {
		tx.kinds = append(tx.kinds, ready)
	}
	return n > 0, err
}

// ReleaseExpiredJobs returns to the queue the jobs whose lease lapsed: their worker died or
// hung. It returns how many.
func (tx *Tx) ReleaseExpiredJobs(ctx context.Context, now time.Time) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE jobs SET state = 'queued', lease_until = 0, last_error = 'lease expired'
		WHERE state = 'running' AND lease_until < ?`, ms(now))
	return tx.released(res, err, "jobs", AnyReady)
}

// PromoteStranded lets run the first waiting job of every order key that has no job queued or
// running ahead of it, and returns how many. It is a safety net: finishing a job promotes the
// next one only when Enqueue marked it followed (jobs.followers), and a job enqueued by a build
// from before that mark (during a rolling upgrade across migration 00015) marks nothing. The
// outer state check re-reads each row, so a job promoted and started meanwhile is left alone.
func (tx *Tx) PromoteStranded(ctx context.Context) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE jobs SET state = 'queued' WHERE state = 'waiting' AND id IN (
		SELECT MIN(w.id) FROM jobs w WHERE w.state = 'waiting' AND w.order_key <> ''
			AND NOT EXISTS (SELECT 1 FROM jobs h WHERE h.order_key = w.order_key AND h.order_key <> ''
				AND h.state IN ('queued', 'running'))
		GROUP BY w.order_key)`)
	return tx.released(res, err, "stranded jobs", AnyReady)
}

// ReleaseRunningJobs returns every running job to the queue. Only for a database no other
// process can use (SQLite, under its lock file): at start, whatever is "running" was left by a
// process that died, and need not wait for its lease.
func (tx *Tx) ReleaseRunningJobs(ctx context.Context) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE jobs SET state = 'queued', lease_until = 0, last_error = 'released at start'
		WHERE state = 'running'`)
	return tx.released(res, err, "jobs", AnyReady)
}

// released counts the rows of table a release put back in the queue, and announces ready
// after the commit when there were any (for jobs AnyReady: the statement does not say which
// kinds they were).
func (tx *Tx) released(res sql.Result, err error, table, ready string) (int64, error) {
	if err != nil {
		return 0, fmt.Errorf("store: release %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if n > 0 {
		tx.kinds = append(tx.kinds, ready)
	}
	return n, err
}

// QueueStat is the count and age of the jobs of one kind in one state.
type QueueStat struct {
	Kind     model.JobKind
	State    model.JobState
	Count    int64
	OldestAt time.Time
}

// JobQueueStats summarises the jobs table for metrics, by kind and state.
func (r reader) JobQueueStats(ctx context.Context) ([]QueueStat, error) {
	rows, err := r.query(ctx, `SELECT kind, state, COUNT(*), MIN(created_at) FROM jobs GROUP BY kind, state`)
	return collect(rows, err, "job queue stats", func(row scanner) (QueueStat, error) {
		var (
			s      QueueStat
			oldest int64
		)
		err := row.Scan(&s.Kind, &s.State, &s.Count, &oldest)
		s.OldestAt = fromMS(oldest)
		return s, err
	})
}
