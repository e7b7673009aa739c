package store

import "context"

// "One phone, one client" (IBIKI_CONTACT_CONFLICTS=reject) cannot be a unique constraint: the
// allow policy lets several clients hold a phone. It is kept by checking and inserting in one
// write transaction. SQLite has one writer, so that is enough there. On PostgreSQL two
// transactions could both check before either commits, so checks take transaction-level
// advisory locks: a check of one phone holds phonesLockKey shared plus the phone's own key,
// and an import, which checks its whole file at once, holds phonesLockKey exclusively (one lock
// rather than one per row: a million advisory locks would overflow the lock table).
const phonesLockKey = "contacts:phones"

// lockPhone serialises, on PostgreSQL, the ownership checks of one phone with each other and
// with imports, until the transaction ends.
func (tx *Tx) lockPhone(ctx context.Context, phone string) error {
	if tx.engine != Postgres {
		return nil
	}
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock_shared(hashtextextended(?, 0))`, phonesLockKey); err != nil {
		return notFound(err, "lock phones")
	}
	_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "contacts:phone:"+phone)
	return notFound(err, "lock phone")
}

// lockAllPhones serialises, on PostgreSQL, an import's ownership checks with every other
// check, until the transaction ends.
func (tx *Tx) lockAllPhones(ctx context.Context) error {
	if tx.engine != Postgres {
		return nil
	}
	_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, phonesLockKey)
	return notFound(err, "lock phones")
}

// PhoneTaken reports whether a phone is the contact of a client other than clientID. Called
// in the transaction that then adds the phone to clientID's contacts, its answer holds until
// that transaction commits: on PostgreSQL it keeps a lock on the phone until then, which every
// other PhoneTaken and every import under the reject policy waits for.
func (tx *Tx) PhoneTaken(ctx context.Context, clientID, phone string) (bool, error) {
	if err := tx.lockPhone(ctx, phone); err != nil {
		return false, err
	}
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM contacts WHERE phone = ? AND client_id <> ?`, phone, clientID).Scan(&n)
	return n > 0, notFound(err, "phone owners")
}
