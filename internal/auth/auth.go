// Package auth issues and checks credentials: client API keys (stored as SHA-256 hashes, shown
// once), the operator's admin token, and the client carried in a request's context; and the
// dashboard's accounts: users and their argon2id passwords, invitations, blocking (Accounts),
// sessions and their CSRF tokens (Sessions), and the sign-in limiter (LoginLimiter), which
// reads the caller's address through trusted proxies (ClientIP, also used by hooks).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// keyEncoding is lowercase base32: keys survive copy-paste, URLs and case-folding terminals.
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// KeyPrefix starts every API key so that secret scanners and people recognise one.
const KeyPrefix = "ibk_"

// NewAPIKey returns a new random API key (160 bits) and its record for client.
func NewAPIKey(clientID string, now time.Time) (key string, rec model.APIKey) {
	var b [20]byte
	_, _ = rand.Read(b[:])
	key = KeyPrefix + keyEncoding.EncodeToString(b[:])
	return key, model.APIKey{ID: model.NewIDAt(model.PrefixAPIKey, now), ClientID: clientID,
		Prefix: key[:len(KeyPrefix)+6], CreatedAt: now}
}

// Hash is the stored form of a key or token. Keys are long and random, so a fast hash is
// enough: there is nothing to brute-force.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// bearer returns the credential in "Authorization: Bearer x" (or X-API-Key when allowKeyHeader).
func bearer(r *http.Request, allowKeyHeader bool) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, v, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(v)
		}
		return ""
	}
	if allowKeyHeader {
		return strings.TrimSpace(r.Header.Get("X-API-Key"))
	}
	return ""
}

// ErrNoCredentials means the request carried no usable key.
var ErrNoCredentials = errors.New("auth: no valid credentials")

// ClientFromRequest returns the active client whose API key the request carries.
func ClientFromRequest(ctx context.Context, s *store.Store, r *http.Request) (model.Client, error) {
	key := bearer(r, true)
	if !strings.HasPrefix(key, KeyPrefix) {
		return model.Client{}, ErrNoCredentials
	}
	c, err := s.CachedClientByKeyHash(ctx, Hash(key))
	if errors.Is(err, store.ErrNotFound) {
		return model.Client{}, ErrNoCredentials
	}
	return c, err
}

type clientKey struct{}

// WithClient returns a context carrying the authenticated client.
func WithClient(ctx context.Context, c model.Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// Client returns the authenticated client of a request context.
func Client(ctx context.Context) (model.Client, bool) {
	c, ok := ctx.Value(clientKey{}).(model.Client)
	return c, ok
}

// Admin checks the operator's admin token.
type Admin struct{ hash [sha256.Size]byte }

// settingAdminToken holds the hash of a generated admin token.
const settingAdminToken = "admin_token_sha256"

// SetupAdmin returns the admin check. With a configured token, that token is the one. Without,
// the first start generates a token, stores its hash and prints it once to out; later starts
// use the stored hash.
func SetupAdmin(ctx context.Context, s *store.Store, configured string, out io.Writer, now time.Time) (*Admin, error) {
	if configured != "" {
		return &Admin{hash: sha256.Sum256([]byte(configured))}, nil
	}
	stored, err := s.Setting(ctx, settingAdminToken)
	if errors.Is(err, store.ErrNotFound) {
		token := "adm_" + keyEncoding.EncodeToString(randomBytes(20))
		var won bool
		err = s.InTx(ctx, func(tx *store.Tx) (err error) {
			won, err = tx.InsertSettingIfAbsent(ctx, settingAdminToken, Hash(token), now)
			return err
		})
		if err != nil {
			return nil, err
		}
		if won {
			fmt.Fprintf(out, "\nNo IBIKI_ADMIN_TOKEN was set, so one was generated. It is shown only this once:\n\n    %s\n\nKeep it: the admin API needs it (Authorization: Bearer <token>). Set IBIKI_ADMIN_TOKEN to use your own.\n\n", token)
		}
		stored, err = s.Setting(ctx, settingAdminToken)
	}
	if err != nil {
		return nil, err
	}
	var a Admin
	if b, err := hex.DecodeString(stored); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("auth: stored admin token hash is malformed")
	} else {
		copy(a.hash[:], b)
	}
	return &a, nil
}

// Allowed reports whether the request carries the admin token (compared in constant time).
func (a *Admin) Allowed(r *http.Request) bool {
	tok := bearer(r, false)
	if tok == "" {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], a.hash[:]) == 1
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
