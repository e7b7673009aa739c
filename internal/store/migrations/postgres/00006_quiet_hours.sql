-- +goose Up
-- Quiet hours: a client's window ("21:00-08:00") in which its campaigns, when they ask for it,
-- send nothing, in each recipient's time zone guessed from the number.
ALTER TABLE clients ADD COLUMN quiet_hours TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN quiet_hours BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE campaigns DROP COLUMN quiet_hours;
ALTER TABLE clients DROP COLUMN quiet_hours;
