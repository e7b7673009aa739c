package store

import (
	"context"
	"time"
)

// IdempotentAnswer is the first answer given to a request made with an Idempotency-Key.
type IdempotentAnswer struct {
	RequestHash string
	StatusCode  int
	Response    []byte
}

// IdempotentAnswer returns the answer stored for a client's key, or ErrNotFound.
func (r reader) IdempotentAnswer(ctx context.Context, clientID, key string) (IdempotentAnswer, error) {
	var a IdempotentAnswer
	var body string
	err := r.queryRow(ctx, `SELECT request_hash, status_code, response FROM idempotency_keys
		WHERE client_id = ? AND key = ?`, clientID, key).Scan(&a.RequestHash, &a.StatusCode, &body)
	a.Response = []byte(body)
	return a, notFound(err, "idempotency key")
}

// SaveIdempotentAnswer stores the answer to a keyed request in the transaction that did the
// work, so the work and its answer commit together. A key saved concurrently by another
// transaction is ErrConflict (PostgreSQL); the caller retries and then finds it.
func (tx *Tx) SaveIdempotentAnswer(ctx context.Context, clientID, key string, a IdempotentAnswer, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO idempotency_keys (client_id, key, request_hash, status_code, response, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, clientID, key, a.RequestHash, a.StatusCode, string(a.Response), ms(at))
	return notFound(err, "save idempotency key")
}

// ExpireIdempotencyKeys deletes keys saved before `before`, at most limit of them.
func (tx *Tx) ExpireIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE (client_id, key) IN (
		SELECT client_id, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
