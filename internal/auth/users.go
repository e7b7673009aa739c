package auth

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Accounts creates dashboard users, invites them and checks their passwords.
type Accounts struct {
	Store *store.Store
	Clock func() time.Time
}

// InviteLifetime is how long an invitation link works.
const InviteLifetime = 7 * 24 * time.Hour

// Errors of account operations.
var (
	ErrBadEmail       = errors.New("enter an email address such as name@example.com")
	ErrEmailTaken     = errors.New("a user with this email exists")
	ErrBadCredentials = errors.New("wrong email or password")
	ErrInviteInvalid  = errors.New("this invitation link is not valid any more: ask for a new one")
	ErrHasPassword    = errors.New("this user has chosen a password already: an invitation is for a first sign-in")
)

// NormalizeEmail trims and lowercases an address and checks its form.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.IndexByte(s, '@'):], ".") {
		return "", ErrBadEmail
	}
	return s, nil
}

// CreateOperator adds an operator with a password.
func (a *Accounts) CreateOperator(ctx context.Context, email, name, password string) (model.User, error) {
	return a.create(ctx, model.User{Email: email, Name: name, Role: model.RoleOperator}, password)
}

// InviteClientUser adds a user of clientID without a password and returns the invitation token
// with which that person chooses one (valid InviteLifetime; shown once, stored hashed).
func (a *Accounts) InviteClientUser(ctx context.Context, clientID, email, name string) (model.User, string, error) {
	token := newToken()
	if _, err := a.Store.Client(ctx, clientID); err != nil {
		return model.User{}, "", err // no such client: not found, before the user is made
	}
	u, err := a.create(ctx, model.User{Email: email, Name: name, Role: model.RoleClient, ClientID: clientID}, "", func(tx *store.Tx, u model.User) error {
		return tx.InsertInvite(ctx, Hash(token), u.ID, u.CreatedAt, u.CreatedAt.Add(InviteLifetime))
	})
	return u, token, err
}

// Reinvite makes a new invitation for an existing user of clientID (the old ones stop working).
func (a *Accounts) Reinvite(ctx context.Context, clientID, userID string) (string, error) {
	token, now := newToken(), a.Clock()
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.User(ctx, userID)
		if err != nil || u.ClientID != clientID {
			return store.ErrNotFound
		}
		if u.PasswordHash != "" {
			return ErrHasPassword
		}
		if err := tx.DeleteInvites(ctx, u.ID); err != nil {
			return err
		}
		return tx.InsertInvite(ctx, Hash(token), u.ID, now, now.Add(InviteLifetime))
	})
	return token, err
}

// SetActive blocks or unblocks a user of clientID; blocking also ends the user's sessions at
// once (a blocked user cannot sign in either: see Authenticate). Another client's user is
// store.ErrNotFound.
func (a *Accounts) SetActive(ctx context.Context, clientID, userID string, active bool) (model.User, error) {
	var u model.User
	err := a.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		u, err = tx.User(ctx, userID)
		if err != nil || u.ClientID != clientID {
			return store.ErrNotFound
		}
		u.Active, u.UpdatedAt = active, a.Clock()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if !active {
			_, err = tx.DeleteUserSessions(ctx, u.ID)
		}
		return err
	})
	return u, err
}

func (a *Accounts) create(ctx context.Context, u model.User, password string, extra ...func(*store.Tx, model.User) error) (model.User, error) {
	email, err := NormalizeEmail(u.Email)
	if err != nil {
		return u, err
	}
	if password != "" || u.Role == model.RoleOperator {
		if err := CheckPasswordRules(password); err != nil {
			return u, err
		}
		u.PasswordHash = HashPassword(password)
	}
	now := a.Clock()
	u.ID, u.Email, u.Name, u.Active, u.CreatedAt, u.UpdatedAt = model.NewIDAt(model.PrefixUser, now), email, strings.TrimSpace(u.Name), true, now, now
	err = a.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		for _, f := range extra {
			if err := f(tx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		err = ErrEmailTaken
	}
	return u, err
}

// InvitedUser returns the user an invitation token is for.
func (a *Accounts) InvitedUser(ctx context.Context, token string) (model.User, error) {
	if token == "" || len(token) > 100 {
		return model.User{}, ErrInviteInvalid
	}
	u, err := a.Store.InviteUser(ctx, Hash(token), a.Clock())
	if errors.Is(err, store.ErrNotFound) {
		err = ErrInviteInvalid
	}
	return u, err
}

// AcceptInvite sets the invited user's password; the invitation is then used up.
func (a *Accounts) AcceptInvite(ctx context.Context, token, password string) (model.User, error) {
	if err := CheckPasswordRules(password); err != nil {
		return model.User{}, err
	}
	hash := HashPassword(password)
	var u model.User
	err := a.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		u, err = tx.InviteUser(ctx, Hash(token), a.Clock())
		if errors.Is(err, store.ErrNotFound) {
			return ErrInviteInvalid
		}
		if err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = hash, a.Clock()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return tx.DeleteInvites(ctx, u.ID)
	})
	return u, err
}

// dummyHash is checked against when the email is unknown, so that a wrong email takes as long
// as a wrong password and sign-in does not reveal who has an account.
var dummyHash = HashPassword("ibiki-dummy-password")

// Authenticate returns the active user with this email and password.
func (a *Accounts) Authenticate(ctx context.Context, email, password string) (model.User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		CheckPassword(dummyHash, password)
		return model.User{}, ErrBadCredentials
	}
	u, err := a.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		CheckPassword(dummyHash, password)
		return model.User{}, ErrBadCredentials
	}
	if err != nil {
		return model.User{}, err
	}
	if u.PasswordHash == "" { // invited, no password yet: as slow as a wrong password
		CheckPassword(dummyHash, password)
		return model.User{}, ErrBadCredentials
	}
	if !CheckPassword(u.PasswordHash, password) || !u.Active {
		return model.User{}, ErrBadCredentials
	}
	if u.ClientID != "" {
		if c, err := a.Store.Client(ctx, u.ClientID); err != nil || !c.Active {
			return model.User{}, ErrBadCredentials
		}
	}
	return u, nil
}

// EnsureOperator creates the operator named by IBIKI_ADMIN_EMAIL/IBIKI_ADMIN_PASSWORD unless a
// user with that email exists; it reports whether it did. An existing user's password is not
// changed from the environment (use `ibiki user password`).
func (a *Accounts) EnsureOperator(ctx context.Context, email, password string) (bool, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	if _, err := a.Store.UserByEmail(ctx, norm); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	_, err = a.CreateOperator(ctx, norm, "", password)
	if errors.Is(err, ErrEmailTaken) { // another instance won the race
		return false, nil
	}
	return err == nil, err
}

// SetPassword changes a user's password and signs the user out everywhere else.
func (a *Accounts) SetPassword(ctx context.Context, userID, password string) error {
	if err := CheckPasswordRules(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	return a.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = hash, a.Clock()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteInvites(ctx, userID); err != nil { // a password is set: old links die
			return err
		}
		_, err = tx.DeleteUserSessions(ctx, userID)
		return err
	})
}
