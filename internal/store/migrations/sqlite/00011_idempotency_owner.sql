-- +goose Up
-- An Idempotency-Key belongs to a caller: a client (its id) or the operator ("@admin", which
-- is never a client id). The owner therefore no longer references clients. SQLite cannot drop
-- a foreign key, so the table is rebuilt.
CREATE TABLE idempotency_keys_owned (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
);
INSERT INTO idempotency_keys_owned (owner, key, request_hash, status_code, response, created_at)
    SELECT client_id, key, request_hash, status_code, response, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_owned RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
CREATE TABLE idempotency_keys_client (
    client_id    TEXT NOT NULL REFERENCES clients(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (client_id, key)
);
INSERT INTO idempotency_keys_client (client_id, key, request_hash, status_code, response, created_at)
    SELECT owner, key, request_hash, status_code, response, created_at FROM idempotency_keys
    WHERE owner IN (SELECT id FROM clients);
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_client RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
