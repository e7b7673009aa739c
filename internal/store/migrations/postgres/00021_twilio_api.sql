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

-- The shape of a client's webhook deliveries: 'standard' (Standard Webhooks JSON) or 'twilio'
-- (Twilio's forms, signed with X-Twilio-Signature). A delivery keeps its own format, and its own
-- URL when it does not go to the client's webhook ('' : it does): a message's status callback.
ALTER TABLE clients ADD COLUMN webhook_format TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE deliveries ADD COLUMN target_url TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN format TEXT NOT NULL DEFAULT 'standard';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN format;
ALTER TABLE deliveries DROP COLUMN target_url;
ALTER TABLE clients DROP COLUMN webhook_format;
ALTER TABLE messages DROP COLUMN valid_until;
ALTER TABLE messages DROP COLUMN status_callback;
DROP TABLE twilio_accounts;
