-- +goose Up
-- A message's attachments (an MMS picture, a WhatsApp document): a JSON array of
-- {"url","content_type"}, '' for none. The media stay where the provider keeps them; Ibiki keeps
-- their addresses, shows them and passes them on.
ALTER TABLE messages ADD COLUMN media TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN media;
