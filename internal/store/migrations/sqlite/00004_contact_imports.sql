-- +goose Up
-- Contact tags, and CSV imports: rows are staged while the file streams in, then merged into
-- contacts in one transaction, so a file is imported whole or not at all.

CREATE TABLE contact_tags (
    client_id  TEXT NOT NULL,
    tag        TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (client_id, tag, contact_id)
);
CREATE INDEX contact_tags_contact ON contact_tags (contact_id);

CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients(id),
    status      TEXT NOT NULL,
    filename    TEXT NOT NULL DEFAULT '',
    report      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imports_client ON imports (client_id, id);

CREATE TABLE import_rows (
    import_id  TEXT NOT NULL,
    phone      TEXT NOT NULL,
    line       INTEGER NOT NULL,
    contact_id TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    business   TEXT NOT NULL,
    fields     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    PRIMARY KEY (import_id, phone)
);

-- +goose Down
DROP TABLE import_rows;
DROP TABLE imports;
DROP TABLE contact_tags;
