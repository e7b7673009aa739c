-- +goose Up
-- A delivery is its own job: its row carries its place in the queue, so a message's delivery
-- costs no job row (insert, claim, delete). q_state is '' once the delivery needs no more work,
-- else queued | waiting (behind an earlier delivery of its conversation) | running (leased to
-- locked_by until lease_until; claims counts the leases, so a run whose lease lapsed cannot
-- record over a newer one). seq orders a conversation's deliveries; next_attempt_at is when a
-- queued delivery may run.
ALTER TABLE deliveries ADD COLUMN q_state TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN claims BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN locked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX deliveries_ready ON deliveries (client_id, next_attempt_at, id) WHERE q_state = 'queued';
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE q_state = 'running';
CREATE INDEX deliveries_unfinished ON deliveries (conversation_id, seq) WHERE q_state <> '';

-- The webhook jobs of earlier versions become the deliveries' own state (a running one goes
-- back to the queue: whoever ran it is gone); their job rows go.
UPDATE deliveries SET
    q_state = (SELECT CASE j.state WHEN 'waiting' THEN 'waiting' ELSE 'queued' END FROM jobs j
        WHERE j.kind = 'webhook' AND j.ref = deliveries.id AND j.state IN ('queued', 'waiting', 'running')
        ORDER BY j.id LIMIT 1),
    next_attempt_at = (SELECT j.run_at FROM jobs j
        WHERE j.kind = 'webhook' AND j.ref = deliveries.id AND j.state IN ('queued', 'waiting', 'running')
        ORDER BY j.id LIMIT 1),
    seq = (SELECT j.id FROM jobs j
        WHERE j.kind = 'webhook' AND j.ref = deliveries.id AND j.state IN ('queued', 'waiting', 'running')
        ORDER BY j.id LIMIT 1)
WHERE id IN (SELECT ref FROM jobs WHERE kind = 'webhook' AND state IN ('queued', 'waiting', 'running'));
DELETE FROM jobs WHERE kind = 'webhook';

-- +goose Down
INSERT INTO jobs (kind, state, client_id, ref, order_key, priority, run_at, created_at)
    SELECT 'webhook', CASE q_state WHEN 'waiting' THEN 'waiting' ELSE 'queued' END, client_id, id,
        conversation_id, 0, next_attempt_at, created_at
    FROM deliveries WHERE q_state <> '' ORDER BY seq;
DROP INDEX deliveries_unfinished;
DROP INDEX deliveries_lease;
DROP INDEX deliveries_ready;
ALTER TABLE deliveries DROP COLUMN seq;
ALTER TABLE deliveries DROP COLUMN locked_by;
ALTER TABLE deliveries DROP COLUMN lease_until;
ALTER TABLE deliveries DROP COLUMN claims;
ALTER TABLE deliveries DROP COLUMN q_state;
