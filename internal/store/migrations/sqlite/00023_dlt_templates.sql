-- +goose Up
-- A client's DLT templates (model.DLTTemplate, India): template_id and entity_id are the DLT
-- platform's ids, sender the header the template was approved for, text its wording with
-- {#var#} placeholders (package dlt matches texts to it).
CREATE TABLE dlt_templates (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id),
    template_id TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    sender      TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (client_id, template_id)
);

-- A client that requires DLT has every send held to one of its templates.
ALTER TABLE clients ADD COLUMN dlt_required BOOLEAN NOT NULL DEFAULT FALSE;

-- The DLT ids a message was sent under ('' for none), kept on the message so that its
-- provider and the API read them without a lookup.
ALTER TABLE messages ADD COLUMN dlt_template_id TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN dlt_entity_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN dlt_entity_id;
ALTER TABLE messages DROP COLUMN dlt_template_id;
ALTER TABLE clients DROP COLUMN dlt_required;
DROP TABLE dlt_templates;
