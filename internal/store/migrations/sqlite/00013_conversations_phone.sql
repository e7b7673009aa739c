-- +goose Up
-- Routing now asks for every conversation of a phone (the "conversation" rule, for contacts who
-- wrote first and were never sent to), not only for those a client sent in ("last_sender"). The
-- partial index on conversations with outbound cannot serve that, so it becomes a full index on
-- (phone, last_outbound_at): both rules read it, the last-sender one as a range on its second
-- column, and conversations carry one index on the phone instead of two.
DROP INDEX conversations_last_sender;
CREATE INDEX conversations_phone ON conversations (phone, last_outbound_at);

-- +goose Down
DROP INDEX conversations_phone;
CREATE INDEX conversations_last_sender ON conversations (phone, last_outbound_at) WHERE last_outbound_at > 0;
