package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// TwilioTokens issues and checks clients' Twilio-compatible credentials: an Account SID ("AC" and
// 32 hex digits) and an auth token of 32 hex digits (Twilio's SDKs refuse other characters).
//
// The token must sign the client's Twilio-shaped webhooks (X-Twilio-Signature is an HMAC keyed
// with it), so Ibiki must be able to produce it again, yet it is not stored: the database keeps
// its SHA-256 (to check a login) and a random salt, and the token is derived from the server's
// secret key, the SID and the salt. Whoever reads the database without the key learns no token.
// The key is IBIKI_SECRET_KEY; without it, a key generated at first start is kept in the
// database (settings), which protects nothing against a copy of the database — set
// IBIKI_SECRET_KEY in production. Changing the key makes every token underivable: logins still
// work (the hash), signing fails until the client's credentials are rotated.
type TwilioTokens struct{ key []byte }

// settingSecretKey holds the generated secret key when IBIKI_SECRET_KEY is not set.
const settingSecretKey = "secret_key"

// ErrTokenUnderivable: the server's secret key changed since the token was issued; the client's
// Twilio credentials must be rotated before Ibiki can sign with them.
var ErrTokenUnderivable = errors.New("auth: the Twilio auth token cannot be derived with the current IBIKI_SECRET_KEY; rotate the client's Twilio credentials")

// SetupTwilioTokens returns the issuer, keyed with configured (IBIKI_SECRET_KEY) or, when that
// is empty, with a key generated once and kept in the database.
func SetupTwilioTokens(ctx context.Context, s *store.Store, configured string, now time.Time) (*TwilioTokens, error) {
	if configured != "" {
		sum := sha256.Sum256([]byte(configured))
		return &TwilioTokens{key: sum[:]}, nil
	}
	stored, err := s.Setting(ctx, settingSecretKey)
	if errors.Is(err, store.ErrNotFound) {
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertSettingIfAbsent(ctx, settingSecretKey, hex.EncodeToString(randomBytes(32)), now)
			return err
		})
		if err == nil {
			stored, err = s.Setting(ctx, settingSecretKey)
		}
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(stored)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("auth: the stored secret key is malformed")
	}
	return &TwilioTokens{key: key}, nil
}

// NewTwilioTokensForTest returns an issuer with a fixed key.
func NewTwilioTokensForTest(key string) *TwilioTokens {
	sum := sha256.Sum256([]byte(key))
	return &TwilioTokens{key: sum[:]}
}

// Issue returns new credentials for a client: a new token, under the client's Account SID when
// it has one (prev, a rotation) or a new one.
func (t *TwilioTokens) Issue(clientID string, prev *model.TwilioAccount, now time.Time) (model.TwilioAccount, string) {
	a := model.TwilioAccount{ClientID: clientID, AccountSID: "AC" + hex.EncodeToString(randomBytes(16)),
		Salt: hex.EncodeToString(randomBytes(16)), CreatedAt: now, RotatedAt: now}
	if prev != nil {
		a.AccountSID, a.CreatedAt = prev.AccountSID, prev.CreatedAt
	}
	token := t.derive(a.AccountSID, a.Salt)
	a.TokenSHA256 = Hash(token)
	return a, token
}

// Token is the client's auth token again, to sign with.
func (t *TwilioTokens) Token(a model.TwilioAccount) (string, error) {
	token := t.derive(a.AccountSID, a.Salt)
	if subtle.ConstantTimeCompare([]byte(Hash(token)), []byte(a.TokenSHA256)) != 1 {
		return "", ErrTokenUnderivable
	}
	return token, nil
}

func (t *TwilioTokens) derive(sid, salt string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("ibiki twilio auth token\x00" + sid + "\x00" + salt))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// ValidAccountSID reports whether s has the shape of an Account SID: "AC" and 32 hex digits.
func ValidAccountSID(s string) bool { return model.ValidTwilioSID(s, "AC") }

// TwilioLogin checks HTTP basic auth "AccountSid:AuthToken" and returns the active client and
// its credentials. Anything else (no credentials, an unknown SID, a wrong token, a deactivated
// client) is ErrNoCredentials.
func TwilioLogin(ctx context.Context, s *store.Store, r *http.Request) (model.Client, model.TwilioAccount, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || !ValidAccountSID(user) || pass == "" {
		return model.Client{}, model.TwilioAccount{}, ErrNoCredentials
	}
	l, err := s.CachedTwilioAccountBySID(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return model.Client{}, model.TwilioAccount{}, ErrNoCredentials
	}
	if err != nil {
		return model.Client{}, model.TwilioAccount{}, err
	}
	if subtle.ConstantTimeCompare([]byte(Hash(pass)), []byte(l.Account.TokenSHA256)) != 1 || !l.Client.Active {
		return model.Client{}, model.TwilioAccount{}, ErrNoCredentials
	}
	return l.Client, l.Account, nil
}
