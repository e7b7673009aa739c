-- +goose Up
-- Dashboard accounts: operator and client users (email + password), their sessions, invitations
-- and the operator's audit log.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,       -- lowercased
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',   -- '' until an invited user chooses a password
    role          TEXT NOT NULL,              -- operator | client
    client_id     TEXT REFERENCES clients(id),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_client ON users (client_id);

-- A session is stored by the SHA-256 of its cookie value: a database leak gives no live cookie.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX invites_user ON invites (user_id);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,              -- time-ordered
    actor      TEXT NOT NULL,                 -- the user's email, or "admin token"
    action     TEXT NOT NULL,                 -- client.create, credits.top_up...
    client_id  TEXT NOT NULL DEFAULT '',
    target     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_client ON audit_log (client_id, id);

-- The operator's traffic chart reads the last day's webhook attempts by time.
CREATE INDEX delivery_attempts_at ON delivery_attempts (attempted_at);

-- +goose Down
DROP INDEX delivery_attempts_at;
DROP TABLE audit_log;
DROP TABLE invites;
DROP TABLE sessions;
DROP TABLE users;
