-- +goose Up
-- Campaigns: a message template sent to a list of recipients. The recipients are stored first
-- (rendered, priced); a feeder job turns them into messages a window at a time, so a pause or a
-- cancel stops what is not yet sent.

CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients(id),
    name         TEXT NOT NULL,
    message      TEXT NOT NULL,
    status       TEXT NOT NULL,
    schedule_at  INTEGER NOT NULL DEFAULT 0,
    total        INTEGER NOT NULL DEFAULT 0,
    invalid      INTEGER NOT NULL DEFAULT 0,
    cost_cents   INTEGER NOT NULL DEFAULT 0,
    report       TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    started_at   INTEGER NOT NULL DEFAULT 0,
    finished_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX campaigns_client ON campaigns (client_id, id);

CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    line        INTEGER NOT NULL,
    phone       TEXT NOT NULL,
    body        TEXT NOT NULL,
    segments    INTEGER NOT NULL,
    encoding    TEXT NOT NULL,
    cost_cents  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    message_id  TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, seq)
);
CREATE UNIQUE INDEX campaign_recipients_phone ON campaign_recipients (campaign_id, phone);
CREATE INDEX campaign_recipients_pending ON campaign_recipients (campaign_id, seq) WHERE status = 'pending';

ALTER TABLE messages ADD COLUMN campaign_id TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_campaign ON messages (campaign_id, status) WHERE campaign_id <> '';

-- +goose Down
DROP INDEX messages_campaign;
ALTER TABLE messages DROP COLUMN campaign_id;
DROP TABLE campaign_recipients;
DROP TABLE campaigns;
