-- +goose NO TRANSACTION
-- +goose Up
-- A message has no client and no conversation until it is routed (and never, if unrouted): the
-- indexes that find a client's or a conversation's messages hold routed messages only, so that
-- storing a webhook writes no index entry that routing deletes again a moment later. Every query
-- they serve asks for one client or conversation (an equality, which implies IS NOT NULL).
-- The conversation index also carries the client: a conversation's messages are asked for with
-- both, and with the client in it the planner no longer prefers the client index (which would
-- read the client's whole history to list one conversation).
-- Built CONCURRENTLY, outside a transaction, so that running instances keep reading and writing
-- messages meanwhile; each step can be repeated if a run is interrupted.
DROP INDEX CONCURRENTLY IF EXISTS messages_conversation_routed;
CREATE INDEX CONCURRENTLY messages_conversation_routed ON messages (conversation_id, client_id, id)
    WHERE conversation_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS messages_conversation;
ALTER INDEX messages_conversation_routed RENAME TO messages_conversation;
DROP INDEX CONCURRENTLY IF EXISTS messages_client_routed;
CREATE INDEX CONCURRENTLY messages_client_routed ON messages (client_id, id) WHERE client_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS messages_client;
ALTER INDEX messages_client_routed RENAME TO messages_client;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS messages_client_all;
CREATE INDEX CONCURRENTLY messages_client_all ON messages (client_id, id);
DROP INDEX CONCURRENTLY IF EXISTS messages_client;
ALTER INDEX messages_client_all RENAME TO messages_client;
DROP INDEX CONCURRENTLY IF EXISTS messages_conversation_all;
CREATE INDEX CONCURRENTLY messages_conversation_all ON messages (conversation_id, id);
DROP INDEX CONCURRENTLY IF EXISTS messages_conversation;
ALTER INDEX messages_conversation_all RENAME TO messages_conversation;
