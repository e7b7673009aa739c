-- +goose Up
-- An Idempotency-Key belongs to a caller: a client (its id) or the operator ("@admin", which
-- is never a client id). The owner therefore no longer references clients.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_client_id_fkey;
ALTER TABLE idempotency_keys RENAME COLUMN client_id TO owner;

-- +goose Down
DELETE FROM idempotency_keys WHERE owner NOT IN (SELECT id FROM clients);
ALTER TABLE idempotency_keys RENAME COLUMN owner TO client_id;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_client_id_fkey FOREIGN KEY (client_id) REFERENCES clients(id);
