package store

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const deliveryColumns = `id, client_id, conversation_id, message_id, type, payload, status, attempts,
	last_status_code, last_error, next_attempt_at, created_at, completed_at, target_url, format`

func scanDelivery(row scanner) (model.Delivery, error) {
	var (
		d                        model.Delivery
		payload                  string
		next, created, completed int64
	)
	err := row.Scan(&d.ID, &d.ClientID, &d.ConversationID, &d.MessageID, &d.Type, &payload, &d.Status,
		&d.Attempts, &d.LastStatusCode, &d.LastError, &next, &created, &completed, &d.URL, &d.Format)
	d.Payload = []byte(payload)
	d.NextAttemptAt, d.CreatedAt, d.CompletedAt = fromMS(next), fromMS(created), fromMS(completed)
	return d, err
}

func (r reader) deliveries(ctx context.Context, q string, args ...any) ([]model.Delivery, error) {
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "deliveries", scanDelivery)
}

// Delivery returns one of a client's webhook deliveries.
func (r reader) Delivery(ctx context.Context, clientID, id string) (model.Delivery, error) {
	d, err := scanDelivery(r.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE client_id = ? AND id = ?`, clientID, id))
	return d, notFound(err, "delivery "+id)
}

// DeliveryByID returns a delivery whoever owns it (jobs and the operator only).
func (r reader) DeliveryByID(ctx context.Context, id string) (model.Delivery, error) {
	d, err := scanDelivery(r.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	return d, notFound(err, "delivery "+id)
}

// Deliveries lists a client's deliveries newest first, optionally of one status.
func (r reader) Deliveries(ctx context.Context, clientID string, status model.DeliveryStatus, before string, limit int) ([]model.Delivery, error) {
	q, args := `SELECT `+deliveryColumns+` FROM deliveries WHERE client_id = ?`, []any{clientID}
	if status != "" {
		q, args = q+` AND status = ?`, append(args, status)
	}
	q, args = newestFirst(q, args, before, limit)
	return r.deliveries(ctx, q, args...)
}

// AllDeliveries lists every client's deliveries newest first, optionally of one status and one
// client (operator view).
func (r reader) AllDeliveries(ctx context.Context, clientID string, status model.DeliveryStatus, before string, limit int) ([]model.Delivery, error) {
	q, args := `SELECT `+deliveryColumns+` FROM deliveries WHERE 1 = 1`, []any(nil)
	if status != "" {
		q, args = q+` AND status = ?`, append(args, status)
	}
	if clientID != "" {
		q, args = q+` AND client_id = ?`, append(args, clientID)
	}
	q, args = newestFirst(q, args, before, limit)
	return r.deliveries(ctx, q, args...)
}

// Attempts lists the attempts of deliveries, oldest first, grouped by delivery id.
func (r reader) Attempts(ctx context.Context, deliveryIDs ...string) (map[string][]model.Attempt, error) {
	out := map[string][]model.Attempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	rows, err := r.query(ctx, `SELECT id, delivery_id, client_id, attempted_at, url, status_code, latency_ms,
		error, response FROM delivery_attempts WHERE delivery_id IN (`+placeholders(len(args))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, notFound(err, "attempts")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a           model.Attempt
			id, at, lat int64
		)
		if err := rows.Scan(&id, &a.DeliveryID, &a.ClientID, &at, &a.URL, &a.StatusCode, &lat, &a.Error, &a.Response); err != nil {
			return nil, notFound(err, "attempts")
		}
		a.ID, a.At, a.Latency = formatAttemptID(id), fromMS(at), time.Duration(lat)*time.Millisecond
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, notFound(rows.Err(), "attempts")
}

// RecordAttempt stores an attempt and the delivery's new state together.
func (tx *Tx) RecordAttempt(ctx context.Context, a model.Attempt, d model.Delivery) error {
	if err := tx.insertAttempt(ctx, a); err != nil {
		return err
	}
	return tx.UpdateDelivery(ctx, d)
}

const insertAttemptSQL = `INSERT INTO delivery_attempts (delivery_id, client_id, attempted_at, url,
	status_code, latency_ms, error, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func attemptArgs(a model.Attempt) []any {
	return []any{a.DeliveryID, a.ClientID, ms(a.At), a.URL, a.StatusCode, a.Latency.Milliseconds(), a.Error, a.Response}
}

func (tx *Tx) insertAttempt(ctx context.Context, a model.Attempt) error {
	_, err := tx.exec(ctx, insertAttemptSQL, attemptArgs(a)...)
	return notFound(err, "insert attempt")
}

// UpdateDelivery saves a delivery's state.
func (tx *Tx) UpdateDelivery(ctx context.Context, d model.Delivery) error {
	return affected(tx.exec(ctx, `UPDATE deliveries SET status = ?, attempts = ?, last_status_code = ?,
		last_error = ?, next_attempt_at = ?, completed_at = ? WHERE id = ?`,
		d.Status, d.Attempts, d.LastStatusCode, d.LastError, ms(d.NextAttemptAt), ms(d.CompletedAt), d.ID))
}
