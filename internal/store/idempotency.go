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

// IdempotencyKey is a request's Idempotency-Key on its way to the transaction that does the
// request's work. The transport puts it into the request's context (WithIdempotencyKey); the
// domain operation hands its result to Tx.Done in the transaction that makes the result; Done
// saves the answer rendered from it there, so the work and its answer commit together or not
// at all. Domain signatures carry nothing for it: any operation that calls Done takes a key.
type IdempotencyKey struct {
	Owner       string // a client id, or OperatorOwner
	Key         string
	RequestHash string
	At          time.Time // when the key was used (keys expire from then)
	// Answer renders the operation's result into the answer to keep. It runs inside the
	// transaction, maybe more than once (see InTx), so it must only compute. An answer with a
	// zero StatusCode keeps nothing (a result that is a refusal: only successes are kept).
	Answer func(result any) (IdempotentAnswer, error)
}

type idempotencyKeyCtx struct{}

// WithIdempotencyKey returns ctx carrying k for the domain operation it is handed to.
func WithIdempotencyKey(ctx context.Context, k *IdempotencyKey) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, k)
}

// Done is the last write of a domain operation that answers a request: when ctx carries an
// Idempotency-Key, the answer rendered from result is saved in tx. Without a key it does
// nothing. Call it once per request, from the operation the request called (an operation that
// another one calls on its behalf does not), in the transaction that makes the result. A key
// saved concurrently by another request is ErrConflict: the transport then replays that
// request's answer.
func (tx *Tx) Done(ctx context.Context, result any) error {
	k, ok := ctx.Value(idempotencyKeyCtx{}).(*IdempotencyKey)
	if !ok || k == nil || k.Answer == nil {
		return nil
	}
	a, err := k.Answer(result)
	if err != nil || a.StatusCode == 0 {
		return err
	}
	a.RequestHash = k.RequestHash
	return tx.SaveIdempotentAnswer(ctx, k.Owner, k.Key, a, k.At)
}

// Forget deletes the answer kept under ctx's Idempotency-Key, if it carries one. It is for an
// operation that keeps its answer before its end (Done in its first transaction, so that a
// retry during a long operation finds the work under way instead of doing it twice) and is then
// refused: only successes are kept, so the request may be retried with its key once fixed.
func (tx *Tx) Forget(ctx context.Context) error {
	k, ok := ctx.Value(idempotencyKeyCtx{}).(*IdempotencyKey)
	if !ok || k == nil {
		return nil
	}
	_, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND request_hash = ?`,
		k.Owner, k.Key, k.RequestHash)
	return notFound(err, "forget idempotency key")
}

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
