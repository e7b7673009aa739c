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

// OperatorOwner owns the operator's (the admin token's) Idempotency-Keys. It is not a
// well-formed client id, so it never meets a client's keys.
const OperatorOwner = "@admin"

// IdempotentAnswer returns the answer stored for an owner's key (the owner is a client id or
// OperatorOwner), or ErrNotFound.
func (r reader) IdempotentAnswer(ctx context.Context, owner, key string) (IdempotentAnswer, error) {
	var a IdempotentAnswer
	var body string
	err := r.queryRow(ctx, `SELECT request_hash, status_code, response FROM idempotency_keys
		WHERE owner = ? AND key = ?`, owner, key).Scan(&a.RequestHash, &a.StatusCode, &body)
	a.Response = []byte(body)
	return a, notFound(err, "idempotency key")
}

// SaveIdempotentAnswer stores the answer to a keyed request in the transaction that did the
// work, so the work and its answer commit together. A key saved concurrently by another
// transaction is ErrConflict (PostgreSQL); the caller retries and then finds it.
func (tx *Tx) SaveIdempotentAnswer(ctx context.Context, owner, key string, a IdempotentAnswer, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO idempotency_keys (owner, key, request_hash, status_code, response, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, owner, key, a.RequestHash, a.StatusCode, string(a.Response), ms(at))
	return notFound(err, "save idempotency key")
}

// ExpireIdempotencyKeys deletes keys saved before `before`, at most limit of them.
func (tx *Tx) ExpireIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE (owner, key) IN (
		SELECT owner, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
