-- +goose Up
-- Services on receiving numbers and short codes (model.Service, package services): a client's
-- (or, client_id '', the operator's on a pool number) commands and flows, as JSON (spec). One
-- service per number.
CREATE TABLE services (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL DEFAULT '',
    number     TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL DEFAULT '',
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    spec       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX services_client ON services (client_id, id);

-- Where a phone is in a service (model.ServiceSession as JSON), when IBIKI_REDIS_URL is not
-- set; a row past expires_at is no session.
CREATE TABLE service_sessions (
    service_id TEXT NOT NULL,
    phone      TEXT NOT NULL,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (service_id, phone)
);
CREATE INDEX service_sessions_expiry ON service_sessions (expires_at);

-- The per-phone token buckets of the services' rate limits (without Redis).
CREATE TABLE service_buckets (
    service_id TEXT NOT NULL,
    phone      TEXT NOT NULL,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (service_id, phone)
);

-- The exchange log: each inbound message a service took and what it did. message_id is unique:
-- a service job that runs again finds its exchange done.
CREATE TABLE service_exchanges (
    id             TEXT PRIMARY KEY,
    service_id     TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    message_id     TEXT NOT NULL UNIQUE,
    phone          TEXT NOT NULL,
    input          TEXT NOT NULL,
    command        TEXT NOT NULL DEFAULT '',
    flow           TEXT NOT NULL DEFAULT '',
    step           TEXT NOT NULL DEFAULT '',
    handled        BOOLEAN NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    response       TEXT NOT NULL DEFAULT '',
    reply_id       TEXT NOT NULL DEFAULT '',
    callout_status INTEGER NOT NULL DEFAULT 0,
    callout_ms     BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE INDEX service_exchanges_service ON service_exchanges (service_id, id);

-- +goose Down
DROP TABLE service_exchanges;
DROP TABLE service_buckets;
DROP TABLE service_sessions;
DROP TABLE services;
