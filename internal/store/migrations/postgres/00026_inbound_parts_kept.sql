-- +goose Up
-- The parts of a completed concatenated message are kept until kept_until (Unix ms) instead of
-- deleted with its last part, when their provider gives messages no id (SMPP): a part the SMSC
-- delivers again after Ibiki stored the message (its deliver_sm_resp lost) is then recognised
-- as a repeat rather than held as the start of a new message. 0: still held.
ALTER TABLE inbound_parts ADD COLUMN kept_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE inbound_parts DROP COLUMN kept_until;
