package store

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// ProviderStatusCount is how many outbound messages of one provider are in one status, among
// those accepted since a day ago (Day) and an hour ago (Hour).
type ProviderStatusCount struct {
	Provider  string
	Status    model.MessageStatus
	Hour, Day int64
}

// ProviderCounts counts the outbound messages accepted since dayAgo per provider and status,
// and among them those accepted since hourAgo. Both windows are read through the time-ordered
// primary key, like Traffic.
func (r reader) ProviderCounts(ctx context.Context, hourAgo, dayAgo time.Time) ([]ProviderStatusCount, error) {
	rows, err := r.query(ctx, `SELECT provider, status, COUNT(*), COALESCE(SUM(CASE WHEN id >= ? THEN 1 ELSE 0 END), 0)
		FROM messages WHERE id >= ? AND direction = ? GROUP BY provider, status ORDER BY provider, status`,
		model.IDFloor(model.PrefixMessage, hourAgo), model.IDFloor(model.PrefixMessage, dayAgo), model.Outbound)
	return collect(rows, err, "provider counts", func(row scanner) (ProviderStatusCount, error) {
		var c ProviderStatusCount
		err := row.Scan(&c.Provider, &c.Status, &c.Day, &c.Hour)
		return c, err
	})
}

// ProviderErrors lists a provider's outbound messages accepted since `since` that carry an
// error (a code or a message), newest first. The window bounds the scan: errors have no index
// of their own, and the operator wants the recent ones.
func (r reader) ProviderErrors(ctx context.Context, provider string, since time.Time, limit int) ([]model.Message, error) {
	return r.messages(ctx, `SELECT `+messageSelect+` FROM messages WHERE id >= ? AND direction = ?
		AND provider = ? AND (error_code <> '' OR error_message <> '') ORDER BY id DESC LIMIT ?`,
		model.IDFloor(model.PrefixMessage, since), model.Outbound, provider, limit)
}
