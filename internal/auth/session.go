package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// SessionCookie names the dashboard's session cookie.
const SessionCookie = "ibiki_session"

// Sessions signs dashboard users in and out. A session id is 256 random bits, shown only to the
// browser (in an HttpOnly cookie) and stored as its SHA-256.
type Sessions struct {
	Store *store.Store
	Clock func() time.Time
	// Idle ends a session unused this long; Lifetime ends any session this long after sign-in.
	Idle, Lifetime time.Duration
	// Secure marks cookies Secure; a request that came over TLS always gets Secure cookies.
	Secure bool
}

// Session lifetimes.
const (
	DefaultIdle     = 12 * time.Hour
	DefaultLifetime = 7 * 24 * time.Hour
	// touchEvery limits the writes that keep a session alive to one per minute per browser.
	touchEvery = time.Minute
)

func newToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// Start signs u in: a new session with a new id (never one the browser already had, so a
// planted cookie is worthless) and its cookie.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, u model.User) (model.Session, error) {
	now := s.Clock()
	id := newToken()
	ua := r.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	sess := model.Session{IDHash: Hash(id), UserID: u.ID, CSRFToken: newToken(), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: s.expiry(now, now), IP: clientIP(r), UserAgent: ua}
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		if old, err := r.Cookie(SessionCookie); err == nil {
			if err := tx.DeleteSession(ctx, Hash(old.Value)); err != nil {
				return err
			}
		}
		return tx.InsertSession(ctx, sess)
	})
	if err != nil {
		return model.Session{}, err
	}
	s.setCookie(w, r, id, int(s.Lifetime.Seconds()))
	return sess, nil
}

func (s *Sessions) expiry(created, now time.Time) time.Time {
	if idle, end := now.Add(s.Idle), created.Add(s.Lifetime); idle.Before(end) {
		return idle
	}
	return created.Add(s.Lifetime)
}

func (s *Sessions) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.Secure || r.TLS != nil})
}

// ErrNoSession means the request carries no live session.
var ErrNoSession = errors.New("auth: not signed in")

// Load returns the request's live session and its user, keeping the session alive.
func (s *Sessions) Load(ctx context.Context, r *http.Request) (model.Session, model.User, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return model.Session{}, model.User{}, ErrNoSession
	}
	now := s.Clock()
	sess, u, err := s.Store.SessionUser(ctx, Hash(c.Value), now)
	if errors.Is(err, store.ErrNotFound) {
		return sess, u, ErrNoSession
	}
	if err != nil {
		return sess, u, err
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		sess.LastSeenAt, sess.ExpiresAt = now, s.expiry(sess.CreatedAt, now)
		err = s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.TouchSession(ctx, sess.IDHash, now, sess.ExpiresAt) })
	}
	return sess, u, err
}

// End signs the request's browser out.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	s.setCookie(w, r, "", -1)
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSession(ctx, Hash(c.Value)) })
}

// EndAll signs a user out everywhere.
func (s *Sessions) EndAll(ctx context.Context, userID string) (n int64, err error) {
	err = s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.DeleteUserSessions(ctx, userID)
		return err
	})
	return n, err
}

// CSRFField is the form field (and CSRFHeader the header, for scripted requests) that must
// carry the session's CSRF token on every state-changing request.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// ValidCSRF reports whether r carries sess's CSRF token. It is the second line of defence,
// behind the browser's Sec-Fetch-Site/Origin check (http.CrossOriginProtection).
func ValidCSRF(r *http.Request, sess model.Session) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1
}

// clientIP is the peer address without its port (proxies are not trusted here: it is only
// recorded, and keys the sign-in limiter per connection source).
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// DeleteEnded deletes the sessions that have ended (they are refused at once anyway; this only
// keeps the table small).
func (s *Sessions) DeleteEnded(ctx context.Context) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteExpiredSessions(ctx, s.Clock()) })
}
