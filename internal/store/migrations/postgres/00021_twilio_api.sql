-- +goose Up
-- Twilio-compatible credentials of a client (the Twilio-shaped API, docs/twilio-api.md): the
-- Account SID ("AC" + 32 hex) and the SHA-256 of its auth token. The token itself is not kept:
-- it is derived from the server's secret key and salt (auth.TwilioTokens), so that Ibiki can
-- sign the client's Twilio-shaped webhooks with it; a rotation changes the salt.
CREATE TABLE twilio_accounts (
    client_id    TEXT PRIMARY KEY REFERENCES clients (id),
    account_sid  TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL,
    salt         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    rotated_at   BIGINT NOT NULL
);

-- A message's own status callback URL (Twilio's StatusCallback; '' for none), and the time
-- after which it must not be handed to its provider any more (ValidityPeriod; 0 for none).
ALTER TABLE messages ADD COLUMN status_callback TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN valid_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE messages DROP COLUMN valid_until;
ALTER TABLE messages DROP COLUMN status_callback;
DROP TABLE twilio_accounts;
