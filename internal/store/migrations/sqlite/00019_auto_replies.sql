-- +goose Up
-- A client's automatic answers to contacts who write in (model.AutoReply): for a channel and a
-- receiving number, or any ('' for either); hours is model.BusinessHours as JSON ('' for none);
-- window_ms is how long a contact waits for the next reply of the same rule.
CREATE TABLE auto_replies (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES clients (id),
    channel      TEXT NOT NULL DEFAULT '',
    number       TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL,
    outside_text TEXT NOT NULL DEFAULT '',
    hours        TEXT NOT NULL DEFAULT '',
    window_ms    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (client_id, channel, number)
);

-- When a contact last got each rule's reply: the window is checked and moved in one statement.
CREATE TABLE auto_reply_sent (
    rule_id TEXT NOT NULL REFERENCES auto_replies (id) ON DELETE CASCADE,
    phone   TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (rule_id, phone)
);

-- +goose Down
DROP TABLE auto_reply_sent;
DROP TABLE auto_replies;
