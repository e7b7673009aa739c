-- +goose Up
-- The parts of concatenated messages a provider delivers one by one (SMPP deliver_sm with a UDH
-- or SAR TLVs), held until the last one arrives: each part is committed before the provider
-- hears it was taken, and the whole message is stored, and its parts deleted, with the last.
CREATE TABLE inbound_parts (
    provider    TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number   TEXT NOT NULL,
    ref         INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    body        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, from_number, to_number, ref, total, seq)
);

-- +goose Down
DROP TABLE inbound_parts;
