-- +goose Up
-- Where a contact came from: '' for the client's own (API, import, dashboard), 'provider' for
-- one Ibiki wrote from the name a provider sent with a message (FillContactName). A provider's
-- contact names the person but claims nothing: the routing rule "the phone is a contact of one
-- client" counts only the client's own, and a client who edits or imports it makes it its own.
ALTER TABLE contacts ADD COLUMN origin TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE contacts DROP COLUMN origin;
