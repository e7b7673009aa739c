-- +goose Up
-- A job with an order key used to look, when it finished, for the next job waiting behind it:
-- one statement more for every finished send, although a job is rarely followed. followers says
-- that a job was enqueued behind this one (Enqueue sets it on the jobs ahead when it inserts a
-- waiting job), so that a job nobody waits for finishes in one statement. Every unfinished job
-- with an order key starts marked: a needless look costs one statement, a missed one would leave
-- a job waiting for ever.
ALTER TABLE jobs ADD COLUMN followers INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET followers = 1 WHERE order_key <> '' AND state IN ('queued', 'running', 'waiting');

-- +goose Down
ALTER TABLE jobs DROP COLUMN followers;
