package store

import (
	"context"
	"time"
)

// Setting returns the value stored under key, or ErrNotFound.
func (r reader) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := r.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, notFound(err, "setting "+key)
}

// InsertSettingIfAbsent stores value under key unless the key exists, and reports whether it
// did. Two instances starting at once both try; exactly one wins.
func (tx *Tx) InsertSettingIfAbsent(ctx context.Context, key, value string, now time.Time) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO NOTHING`, key, value, ms(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PutSetting stores value under key, replacing what was there.
func (tx *Tx) PutSetting(ctx context.Context, key, value string, now time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, ms(now))
	return err
}
