-- +goose Up
-- The ledger reads as a statement: listed newest first, each entry's balance_cents is the one
-- below it plus its amount. Ordering by id could not promise that: an entry's id is made before
-- its transaction reaches the balance row, so concurrent charges took ids in one order and the
-- row in another (and several instances have several clocks). seq is the entry's place in its
-- client's ledger, counted by the balance row in the very statement that moves the money, so
-- the row's lock orders them. Entries from before this migration keep seq 0 and their id order,
-- below every later entry: no rows are rewritten.
ALTER TABLE balances ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ledger_statement ON ledger (client_id, seq, id);
DROP INDEX ledger_client;

-- +goose Down
CREATE INDEX ledger_client ON ledger (client_id, id);
DROP INDEX ledger_statement;
ALTER TABLE ledger DROP COLUMN seq;
ALTER TABLE balances DROP COLUMN seq;
