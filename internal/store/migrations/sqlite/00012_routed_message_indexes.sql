-- +goose Up
-- A message has no client and no conversation until it is routed (and never, if unrouted): the
-- indexes that find a client's or a conversation's messages hold routed messages only, so that
-- storing a webhook writes no index entry that routing deletes again a moment later. Every query
-- they serve asks for one client or conversation (an equality, which implies IS NOT NULL).
-- The conversation index also carries the client: a conversation's messages are asked for with
-- both, and with the client in it the planner no longer prefers the client index (which would
-- read the client's whole history to list one conversation).
DROP INDEX messages_conversation;
CREATE INDEX messages_conversation ON messages (conversation_id, client_id, id) WHERE conversation_id IS NOT NULL;
DROP INDEX messages_client;
CREATE INDEX messages_client ON messages (client_id, id) WHERE client_id IS NOT NULL;

-- +goose Down
DROP INDEX messages_client;
CREATE INDEX messages_client ON messages (client_id, id);
DROP INDEX messages_conversation;
CREATE INDEX messages_conversation ON messages (conversation_id, id);
