-- +goose NO TRANSACTION
-- +goose Up
-- The ledger reads as a statement: listed newest first, each entry's balance_cents is the one
-- below it plus its amount. Ordering by id could not promise that: an entry's id is made before
-- its transaction reaches the balance row, so concurrent charges took ids in one order and the
-- row in another (and several instances have several clocks). seq is the entry's place in its
-- client's ledger, counted by the balance row in the very statement that moves the money, so
-- the row's lock orders them. Entries from before this migration keep seq 0 and their id order,
-- below every later entry: no rows are rewritten, and an instance still running the previous
-- version while this one starts writes entries that simply sort with the old ones.
-- Adding a column with a constant default changes no row; the index is built CONCURRENTLY so
-- that running instances keep charging meanwhile, and each step can be repeated.
ALTER TABLE balances ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL DEFAULT 0;
DROP INDEX CONCURRENTLY IF EXISTS ledger_statement;
CREATE INDEX CONCURRENTLY ledger_statement ON ledger (client_id, seq, id);
DROP INDEX CONCURRENTLY IF EXISTS ledger_client;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS ledger_client;
CREATE INDEX CONCURRENTLY ledger_client ON ledger (client_id, id);
DROP INDEX CONCURRENTLY IF EXISTS ledger_statement;
ALTER TABLE ledger DROP COLUMN IF EXISTS seq;
ALTER TABLE balances DROP COLUMN IF EXISTS seq;
