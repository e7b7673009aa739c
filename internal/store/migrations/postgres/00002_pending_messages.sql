-- +goose Up
-- The messages not yet routed: the routing work list. A message is routed in the process that
-- accepted it right after the commit; this index lets any process find the ones a crash left.
CREATE INDEX messages_pending ON messages (id) WHERE routed_by = '';

-- +goose Down
DROP INDEX messages_pending;
