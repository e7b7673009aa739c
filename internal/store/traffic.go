package store

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// HourTraffic is one hour of messages and webhook deliveries.
type HourTraffic struct {
	Hour     time.Time
	In, Out  int64
	Attempts int64
	// AvgLatency and MaxLatency are of webhook attempts (time to the client's answer).
	AvgLatency, MaxLatency time.Duration
	// Delivered counts the outbound messages accepted in the hour that the provider reported
	// delivered; DeliveryAvg and DeliveryMax are their time from acceptance to that report.
	Delivered                int64
	DeliveryAvg, DeliveryMax time.Duration
}

const hourMS = 3_600_000

// Traffic counts messages in and out, and webhook attempts with their latency, per hour from
// since to until (clientID "" = every client). Hours without traffic are included, at zero.
func (r reader) Traffic(ctx context.Context, clientID string, since, until time.Time) ([]HourTraffic, error) {
	since = since.UTC().Truncate(time.Hour)
	first := ms(since) / hourMS
	hours := map[int64]*HourTraffic{}
	var out []HourTraffic
	for h := first; h <= ms(until)/hourMS; h++ {
		out = append(out, HourTraffic{Hour: fromMS(h * hourMS)})
	}
	for i := range out {
		hours[first+int64(i)] = &out[i]
	}
	q, args := `SELECT received_at / 3600000, direction, COUNT(*) FROM messages WHERE id >= ?`, []any{model.IDFloor(model.PrefixMessage, since)}
	if clientID != "" {
		q, args = q+` AND client_id = ?`, append(args, clientID)
	}
	rows, err := r.query(ctx, q+` GROUP BY received_at / 3600000, direction`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			h, n int64
			dir  model.Direction
		)
		if err := rows.Scan(&h, &dir, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if t := hours[h]; t != nil {
			if dir == model.Outbound {
				t.Out += n
			} else {
				t.In += n
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q, args = `SELECT received_at / 3600000, COUNT(*), COALESCE(SUM(status_at - received_at), 0), COALESCE(MAX(status_at - received_at), 0)
		FROM messages WHERE id >= ? AND direction = 'outbound' AND status = 'delivered'`, []any{model.IDFloor(model.PrefixMessage, since)}
	if clientID != "" {
		q, args = q+` AND client_id = ?`, append(args, clientID)
	}
	rows, err = r.query(ctx, q+` GROUP BY received_at / 3600000`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var h, n, sum, most int64
		if err := rows.Scan(&h, &n, &sum, &most); err != nil {
			rows.Close()
			return nil, err
		}
		if t := hours[h]; t != nil && n > 0 {
			t.Delivered, t.DeliveryAvg, t.DeliveryMax = n, time.Duration(sum/n)*time.Millisecond, time.Duration(most)*time.Millisecond
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q, args = `SELECT attempted_at / 3600000, COUNT(*), COALESCE(SUM(latency_ms), 0), COALESCE(MAX(latency_ms), 0)
		FROM delivery_attempts WHERE attempted_at >= ?`, []any{ms(since)}
	if clientID != "" {
		q, args = q+` AND client_id = ?`, append(args, clientID)
	}
	rows, err = r.query(ctx, q+` GROUP BY attempted_at / 3600000`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h, n, sum, most int64
		if err := rows.Scan(&h, &n, &sum, &most); err != nil {
			return nil, err
		}
		if t := hours[h]; t != nil && n > 0 {
			t.Attempts, t.AvgLatency, t.MaxLatency = n, time.Duration(sum/n)*time.Millisecond, time.Duration(most)*time.Millisecond
		}
	}
	return out, rows.Err()
}

// ClientTotals are one client's balance and message counts, for the operator's client list.
type ClientTotals struct {
	Balance int64
	In, Out int64
}

// AllClientTotals gives every client's balance and messages in and out since since, in three
// queries whatever the number of clients (clients without any are absent: zero).
func (r reader) AllClientTotals(ctx context.Context, since time.Time) (map[string]ClientTotals, error) {
	out := map[string]ClientTotals{}
	rows, err := r.query(ctx, `SELECT client_id, balance_cents FROM balances`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id string
			b  int64
		)
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return nil, err
		}
		t := out[id]
		t.Balance = b
		out[id] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = r.query(ctx, `SELECT client_id, direction, COUNT(*) FROM messages WHERE id >= ? AND client_id IS NOT NULL
		GROUP BY client_id, direction`, model.IDFloor(model.PrefixMessage, since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  string
			dir model.Direction
			n   int64
		)
		if err := rows.Scan(&id, &dir, &n); err != nil {
			return nil, err
		}
		t := out[id]
		if dir == model.Outbound {
			t.Out += n
		} else {
			t.In += n
		}
		out[id] = t
	}
	return out, rows.Err()
}
