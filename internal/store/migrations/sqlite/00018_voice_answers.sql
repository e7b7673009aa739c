-- +goose Up
-- How calls are answered (model.VoiceAnswer as JSON), for a number ("number:+15551234567") or
-- for all the numbers of a client ("client:acme"). A number's own answer wins over its client's.
CREATE TABLE voice_answers (
    owner      TEXT PRIMARY KEY,
    answer     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE voice_answers;
