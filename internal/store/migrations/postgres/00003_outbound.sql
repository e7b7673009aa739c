-- +goose Up
-- Outbound sending: what a message costs and how it travels, the credits ledger, idempotency
-- keys, and the provider ids of both directions kept apart.

ALTER TABLE clients ADD COLUMN rate_cents BIGINT NOT NULL DEFAULT 1;

-- The balance lives apart from clients so that charging a message never touches the client row
-- (cached, and edited by the operator). It always equals the sum of the client's ledger.
CREATE TABLE balances (
    client_id     TEXT PRIMARY KEY REFERENCES clients(id),
    balance_cents BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE ledger (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES clients(id),
    kind          TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    balance_cents BIGINT NOT NULL,
    reference     TEXT NOT NULL DEFAULT '',
    message_id    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_client ON ledger (client_id, id);

ALTER TABLE messages ADD COLUMN segments BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN encoding TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN cost_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN error_code TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN error_message TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN send_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN status_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX messages_client ON messages (client_id, id);
-- Sent messages still waiting for a final status: the "unknown" sweep reads this.
CREATE INDEX messages_awaiting ON messages (status_at) WHERE status IN ('sending', 'sent');

-- A provider may reuse an id across directions (an inbound message id and a send id).
DROP INDEX messages_provider_id;
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_message_id, direction);

CREATE TABLE idempotency_keys (
    client_id    TEXT NOT NULL REFERENCES clients(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  BIGINT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP INDEX messages_provider_id;
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_message_id);
DROP INDEX messages_awaiting;
DROP INDEX messages_client;
ALTER TABLE messages DROP COLUMN status_at;
ALTER TABLE messages DROP COLUMN send_attempts;
ALTER TABLE messages DROP COLUMN error_message;
ALTER TABLE messages DROP COLUMN error_code;
ALTER TABLE messages DROP COLUMN cost_cents;
ALTER TABLE messages DROP COLUMN encoding;
ALTER TABLE messages DROP COLUMN segments;
DROP TABLE ledger;
DROP TABLE balances;
ALTER TABLE clients DROP COLUMN rate_cents;
