-- +goose Up
-- Times are UTC unix milliseconds on both engines; booleans use TRUE/FALSE. The PostgreSQL twin of
-- this file differs only in BIGINT columns and identity keys.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE clients (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    webhook_url           TEXT NOT NULL DEFAULT '',
    active                BOOLEAN NOT NULL DEFAULT TRUE,
    webhook_secret        TEXT NOT NULL,
    previous_secret       TEXT NOT NULL DEFAULT '',
    previous_secret_until INTEGER NOT NULL DEFAULT 0,
    webhook_disabled_at   INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(id),
    key_hash   TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_client ON api_keys (client_id);

CREATE TABLE numbers (
    number     TEXT PRIMARY KEY,
    client_id  TEXT REFERENCES clients(id),
    provider   TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX numbers_client ON numbers (client_id);

CREATE TABLE contacts (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(id),
    phone      TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name  TEXT NOT NULL DEFAULT '',
    business   TEXT NOT NULL DEFAULT '',
    fields     TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (client_id, phone)
);
CREATE INDEX contacts_phone ON contacts (phone);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES clients(id),
    phone            TEXT NOT NULL,
    channel          TEXT NOT NULL,
    last_inbound_to  TEXT NOT NULL DEFAULT '',
    last_message_at  INTEGER NOT NULL,
    last_inbound_at  INTEGER NOT NULL DEFAULT 0,
    last_outbound_at INTEGER NOT NULL DEFAULT 0,
    last_preview     TEXT NOT NULL DEFAULT '',
    message_count    INTEGER NOT NULL DEFAULT 0,
    unread_count     INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    UNIQUE (client_id, phone, channel)
);
CREATE INDEX conversations_recent ON conversations (client_id, last_message_at, id);
CREATE INDEX conversations_last_sender ON conversations (phone, last_outbound_at) WHERE last_outbound_at > 0;

CREATE TABLE messages (
    id                  TEXT PRIMARY KEY,
    client_id           TEXT REFERENCES clients(id),
    conversation_id     TEXT REFERENCES conversations(id),
    direction           TEXT NOT NULL,
    channel             TEXT NOT NULL,
    from_number         TEXT NOT NULL,
    to_number           TEXT NOT NULL,
    body                TEXT NOT NULL,
    status              TEXT NOT NULL,
    matched_block_word  TEXT NOT NULL DEFAULT '',
    contact_first_name  TEXT NOT NULL DEFAULT '',
    contact_last_name   TEXT NOT NULL DEFAULT '',
    contact_business    TEXT NOT NULL DEFAULT '',
    provider            TEXT NOT NULL,
    -- NULL when the provider gave no id: NULLs never collide in the unique index.
    provider_message_id TEXT,
    routed_by           TEXT NOT NULL DEFAULT '',
    meta                TEXT NOT NULL DEFAULT '',
    received_at         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_message_id);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unrouted ON messages (id) WHERE routed_by = 'unrouted';

CREATE TABLE optouts (
    client_id  TEXT NOT NULL REFERENCES clients(id),
    phone      TEXT NOT NULL,
    source     TEXT NOT NULL,
    keyword    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, phone)
);

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES clients(id),
    conversation_id  TEXT NOT NULL DEFAULT '',
    message_id       TEXT NOT NULL DEFAULT '',
    type             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_client ON deliveries (client_id, id);
CREATE INDEX deliveries_failed ON deliveries (id) WHERE status = 'failed';

CREATE TABLE delivery_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    attempted_at INTEGER NOT NULL,
    url          TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    latency_ms   INTEGER NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- The job queue. Finished jobs are deleted; "waiting" jobs sit behind an earlier job with the
-- same order_key. The partial indexes keep the claim path small whatever the history.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    client_id   TEXT NOT NULL DEFAULT '',
    ref         TEXT NOT NULL,
    order_key   TEXT NOT NULL DEFAULT '',
    priority    INTEGER NOT NULL DEFAULT 1,
    run_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER NOT NULL DEFAULT 0,
    locked_by   TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (kind, client_id, priority, run_at) WHERE state = 'queued';
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_order ON jobs (order_key, id) WHERE order_key <> '';

-- +goose Down
DROP TABLE jobs;
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE optouts;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE contacts;
DROP TABLE numbers;
DROP TABLE api_keys;
DROP TABLE clients;
DROP TABLE settings;
