-- +goose NO TRANSACTION
-- +goose Up
-- Routing now asks for every conversation of a phone (the "conversation" rule, for contacts who
-- wrote first and were never sent to), not only for those a client sent in ("last_sender"). The
-- partial index on conversations with outbound cannot serve that, so it becomes a full index on
-- (phone, last_outbound_at): both rules read it, the last-sender one as a range on its second
-- column, and conversations carry one index on the phone instead of two.
-- Built CONCURRENTLY, outside a transaction, so that running instances keep writing
-- conversations meanwhile; the new index exists before the old one goes, and each step can be
-- repeated if a run is interrupted.
DROP INDEX CONCURRENTLY IF EXISTS conversations_phone;
CREATE INDEX CONCURRENTLY conversations_phone ON conversations (phone, last_outbound_at);
DROP INDEX CONCURRENTLY IF EXISTS conversations_last_sender;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS conversations_last_sender;
CREATE INDEX CONCURRENTLY conversations_last_sender ON conversations (phone, last_outbound_at) WHERE last_outbound_at > 0;
DROP INDEX CONCURRENTLY IF EXISTS conversations_phone;
