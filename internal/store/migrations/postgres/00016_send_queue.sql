-- +goose Up
-- A message waiting to be sent is its own job: its row carries its place in the send queue, as a
-- delivery's does (00009), so that a send costs no jobs row to insert, claim and delete. q_state
-- is '' once the message needs no more sending, else queued | waiting (behind an earlier message
-- of its conversation) | running (leased to q_locked_by until q_lease_until; q_attempts counts the
-- claims, so that a run whose lease lapsed cannot record over a newer one). q_key is the
-- conversation whose messages go one at a time, in the order of q_seq ('' for a bulk message,
-- which waits for nobody); q_run_at is when a queued message may run, q_priority its lane,
-- q_error the last failure.
ALTER TABLE messages ADD COLUMN q_state TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN q_key TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN q_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN q_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN q_run_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN q_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN q_lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN q_locked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN q_error TEXT NOT NULL DEFAULT '';

-- The unfinished send jobs of earlier versions become their messages' own state, running ones
-- with their lease (the sweep puts them back once it lapses), in the order of their jobs. Dead
-- send jobs stay in the jobs table, where the operator saw them. The jobs table is locked first:
-- during a rolling upgrade an instance of the earlier build may be enqueueing or claiming send
-- jobs, and none may slip between the move and the delete.
LOCK TABLE jobs IN EXCLUSIVE MODE;
UPDATE messages SET q_state = j.state,
    q_key = CASE WHEN j.order_key LIKE 'send:%' THEN substr(j.order_key, 6) ELSE '' END,
    q_seq = j.id, q_priority = j.priority, q_run_at = j.run_at, q_attempts = j.attempts,
    q_lease_until = j.lease_until, q_locked_by = j.locked_by, q_error = j.last_error
FROM jobs j
WHERE j.kind = 'send' AND j.ref = messages.id AND j.state IN ('queued', 'waiting', 'running');
DELETE FROM jobs WHERE kind = 'send' AND state IN ('queued', 'waiting', 'running');

CREATE INDEX messages_send_ready ON messages (client_id, q_priority, q_run_at) WHERE q_state = 'queued';
CREATE INDEX messages_send_lease ON messages (q_lease_until) WHERE q_state = 'running';
CREATE INDEX messages_send_order ON messages (q_key, q_seq) WHERE q_state <> '';

-- +goose Down
INSERT INTO jobs (kind, state, client_id, ref, order_key, priority, run_at, attempts, lease_until, locked_by,
        last_error, created_at, followers)
    SELECT 'send', q_state, client_id, id, CASE WHEN q_key <> '' THEN 'send:' || q_key ELSE '' END, q_priority,
        q_run_at, q_attempts, q_lease_until, q_locked_by, q_error, created_at, 1
    FROM messages WHERE q_state <> '' ORDER BY q_key, q_seq, id;
DROP INDEX messages_send_order;
DROP INDEX messages_send_lease;
DROP INDEX messages_send_ready;
ALTER TABLE messages DROP COLUMN q_error;
ALTER TABLE messages DROP COLUMN q_locked_by;
ALTER TABLE messages DROP COLUMN q_lease_until;
ALTER TABLE messages DROP COLUMN q_attempts;
ALTER TABLE messages DROP COLUMN q_run_at;
ALTER TABLE messages DROP COLUMN q_priority;
ALTER TABLE messages DROP COLUMN q_seq;
ALTER TABLE messages DROP COLUMN q_key;
ALTER TABLE messages DROP COLUMN q_state;
