package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const userColumns = `id, email, name, password_hash, role, client_id, active, created_at, updated_at`

func scanUser(row scanner) (model.User, error) {
	var (
		u                model.User
		client           sql.NullString
		created, updated int64
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Role, &client, &u.Active, &created, &updated)
	u.ClientID, u.CreatedAt, u.UpdatedAt = client.String, fromMS(created), fromMS(updated)
	return u, err
}

// User returns one dashboard user by id.
func (r reader) User(ctx context.Context, id string) (model.User, error) {
	u, err := scanUser(r.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, notFound(err, "user")
}

// UserByEmail returns the user with this (lowercased) email.
func (r reader) UserByEmail(ctx context.Context, email string) (model.User, error) {
	u, err := scanUser(r.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	return u, notFound(err, "user")
}

// Users lists the users of one client, or every operator when clientID is "".
func (r reader) Users(ctx context.Context, clientID string) ([]model.User, error) {
	q, args := `SELECT `+userColumns+` FROM users WHERE client_id = ? ORDER BY email`, []any{clientID}
	if clientID == "" {
		q, args = `SELECT `+userColumns+` FROM users WHERE client_id IS NULL ORDER BY email`, nil
	}
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "users", scanUser)
}

// CountUsers counts every user (the first start creates an operator only when there is none).
func (r reader) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := r.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// InsertUser stores a new user; an email in use is ErrConflict.
func (tx *Tx) InsertUser(ctx context.Context, u model.User) error {
	_, err := tx.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.PasswordHash, u.Role, nullable(u.ClientID), u.Active, ms(u.CreatedAt), ms(u.UpdatedAt))
	return notFound(err, "insert user")
}

// UpdateUser saves a user's name, password hash and active flag.
func (tx *Tx) UpdateUser(ctx context.Context, u model.User) error {
	return affected(tx.exec(ctx, `UPDATE users SET name = ?, password_hash = ?, active = ?, updated_at = ? WHERE id = ?`,
		u.Name, u.PasswordHash, u.Active, ms(u.UpdatedAt), u.ID))
}

const sessionColumns = `id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent`

// InsertSession stores a new session.
func (tx *Tx) InsertSession(ctx context.Context, s model.Session) error {
	_, err := tx.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, s.CSRFToken, ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.ExpiresAt), s.IP, s.UserAgent)
	return notFound(err, "insert session")
}

// SessionUser returns a live session (not expired at now) and its active user.
func (r reader) SessionUser(ctx context.Context, idHash string, now time.Time) (model.Session, model.User, error) {
	var (
		s                      model.Session
		created, seen, expires int64
		u                      model.User
		client                 sql.NullString
		uCreated, uUpdated     int64
	)
	err := r.queryRow(ctx, `SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent,
			`+prefixed("u.", userColumns)+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND u.active`, idHash, ms(now)).Scan(
		&s.IDHash, &s.UserID, &s.CSRFToken, &created, &seen, &expires, &s.IP, &s.UserAgent,
		&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Role, &client, &u.Active, &uCreated, &uUpdated)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	u.ClientID, u.CreatedAt, u.UpdatedAt = client.String, fromMS(uCreated), fromMS(uUpdated)
	return s, u, notFound(err, "session")
}

// TouchSession moves a session's last use and expiry forward.
func (tx *Tx) TouchSession(ctx context.Context, idHash string, seen, expires time.Time) error {
	_, err := tx.exec(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`, ms(seen), ms(expires), idHash)
	return err
}

// DeleteSession ends one session.
func (tx *Tx) DeleteSession(ctx context.Context, idHash string) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions ends every session of a user ("log out everywhere") and reports how many.
func (tx *Tx) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteExpiredSessions removes sessions that ended before now.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(now))
	return err
}

// InsertInvite stores an invitation (by the hash of its token) for a user to choose a password.
func (tx *Tx) InsertInvite(ctx context.Context, tokenHash, userID string, now, expires time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO invites (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, ms(now), ms(expires))
	return notFound(err, "insert invite")
}

// InviteUser returns the user a live invitation is for (not for a blocked user, nor for a user
// of a deactivated client).
func (r reader) InviteUser(ctx context.Context, tokenHash string, now time.Time) (model.User, error) {
	u, err := scanUser(r.queryRow(ctx, `SELECT `+prefixed("u.", userColumns)+` FROM invites i JOIN users u ON u.id = i.user_id
		LEFT JOIN clients c ON c.id = u.client_id
		WHERE i.token_hash = ? AND i.expires_at > ? AND u.active AND (u.client_id IS NULL OR c.active)`, tokenHash, ms(now)))
	return u, notFound(err, "invite")
}

// DeleteInvites removes every invitation of a user (used once a password is chosen).
func (tx *Tx) DeleteInvites(ctx context.Context, userID string) error {
	_, err := tx.exec(ctx, `DELETE FROM invites WHERE user_id = ?`, userID)
	return err
}

// InsertAudit records an action in the audit log.
func (tx *Tx) InsertAudit(ctx context.Context, e model.AuditEntry) error {
	_, err := tx.exec(ctx, `INSERT INTO audit_log (id, actor, action, client_id, target, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Actor, e.Action, e.ClientID, e.Target, e.Detail, ms(e.CreatedAt))
	return notFound(err, "insert audit entry")
}

// Audit lists audit entries newest first, before the cursor id; clientID "" lists all.
func (r reader) Audit(ctx context.Context, clientID, before string, limit int) ([]model.AuditEntry, error) {
	q, args := `SELECT id, actor, action, client_id, target, detail, created_at FROM audit_log WHERE 1=1`, []any{}
	if clientID != "" {
		q, args = q+` AND client_id = ?`, append(args, clientID)
	}
	q, args = newestFirst(q, args, before, limit)
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "audit log", func(row scanner) (model.AuditEntry, error) {
		var (
			e  model.AuditEntry
			at int64
		)
		err := row.Scan(&e.ID, &e.Actor, &e.Action, &e.ClientID, &e.Target, &e.Detail, &at)
		e.CreatedAt = fromMS(at)
		return e, err
	})
}
