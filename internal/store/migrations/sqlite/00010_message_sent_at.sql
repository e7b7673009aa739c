-- +goose Up
-- When an outbound message was handed to its provider (unix ms; 0 = not yet). status_at moves on
-- with every later status, and created_at is when it was queued, which for a campaign held by
-- quiet hours or a pause can be hours earlier: a campaign's reply window runs from this time.
ALTER TABLE messages ADD COLUMN sent_at INTEGER NOT NULL DEFAULT 0;
-- Campaign messages handed over before this column existed keep the time they were queued
-- (their window was measured from it until now).
UPDATE messages SET sent_at = created_at WHERE campaign_id <> '' AND send_attempts > 0;

-- +goose Down
ALTER TABLE messages DROP COLUMN sent_at;
