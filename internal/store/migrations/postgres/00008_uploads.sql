-- +goose Up
-- A CSV uploaded in the dashboard waits here between its upload and the column-mapping step,
-- so that any instance can take the second step. Stored in 1 MiB chunks: no statement holds a
-- whole file. An upload is complete once its size is set; older than an hour, it is swept.
CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,          -- SHA-256 of the token the browser holds
    client_id  TEXT NOT NULL REFERENCES clients(id),
    name       TEXT NOT NULL,
    size       BIGINT NOT NULL DEFAULT -1,    -- -1 while the chunks are being written
    created_at BIGINT NOT NULL
);
CREATE INDEX uploads_created ON uploads (created_at);

CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (upload_id, seq)
);

-- +goose Down
DROP TABLE upload_chunks;
DROP TABLE uploads;
