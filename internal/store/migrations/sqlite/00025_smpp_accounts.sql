-- +goose Up
-- A client's SMPP login to Ibiki's SMPP server (system_id = the client id): the password's
-- argon2id hash, the addresses it may bind from (comma-separated CIDR prefixes, '' for any),
-- how many binds it may hold at once, how its inbound messages reach it ('fallback': over a
-- receiver bind when one is up, else its webhook; 'both': both), and how many submit_sm a
-- second it may send (0: no limit).
CREATE TABLE smpp_accounts (
    client_id     TEXT PRIMARY KEY REFERENCES clients (id),
    password_hash TEXT NOT NULL,
    allowed_ips   TEXT NOT NULL DEFAULT '',
    max_binds     INTEGER NOT NULL DEFAULT 4,
    mo_delivery   TEXT NOT NULL DEFAULT 'fallback',
    rate          INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    rotated_at    INTEGER NOT NULL
);

-- The parts of a client's concatenated submit_sm, held until the last arrives, each answered
-- with the id the whole message will have.
CREATE TABLE submit_parts (
    client_id   TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number   TEXT NOT NULL,
    ref         INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    body        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, from_number, to_number, ref, total, seq)
);

-- +goose Down
DROP TABLE submit_parts;
DROP TABLE smpp_accounts;
