package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

// ErrNumberExists is returned by Numbers.Add when the number is already configured. It also
// matches store.ErrConflict.
var ErrNumberExists = errors.New("this number is already configured")

// Numbers adds, changes and removes receiving numbers. The admin API and the dashboard both go
// through it, so that a number is read, and its client and provider checked, the same way in
// both.
type Numbers struct {
	Store *store.Store
	// Providers are the configured outbound providers (nil: any provider name is taken as is).
	Providers *provider.Registry
	// Region reads numbers written without a country code.
	Region string
	// Clock is the time source (nil: time.Now).
	Clock func() time.Time
}

// NewNumber is a receiving number to add. ClientID "" puts it in the shared pool; Provider ""
// is the default provider.
type NewNumber struct {
	Number, ClientID, Provider string
}

// Add stores a receiving number, dedicated to a client or in the shared pool. The number is the
// operation's result (store.Tx.Done).
func (s Numbers) Add(ctx context.Context, in NewNumber) (model.Number, error) {
	if in.Number == "" {
		return model.Number{}, missing("number")
	}
	num, err := sms.NormalizeAddress(in.Number, s.Region)
	if err != nil {
		return model.Number{}, invalid("number", err.Error())
	}
	n := model.Number{Number: num, ClientID: in.ClientID, CreatedAt: s.now()}
	if n.Provider, err = s.CheckProvider(in.Provider); err != nil {
		return model.Number{}, err
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := checkClient(ctx, tx, n.ClientID); err != nil {
			return err
		}
		if err := tx.InsertNumber(ctx, n); err != nil {
			return err
		}
		return tx.Done(ctx, n)
	})
	if errors.Is(err, store.ErrConflict) {
		return model.Number{}, fmt.Errorf("tenant: add number: %w (%w)", ErrNumberExists, err)
	}
	return n, err
}

// Change dedicates a number to a client (clientID "" returns it to the shared pool) and/or
// moves it to another provider; a nil argument leaves that part as it is. A number that cannot
// be read, or is not configured, is store.ErrNotFound.
func (s Numbers) Change(ctx context.Context, number string, clientID, providerName *string) (model.Number, error) {
	num, err := s.parse(number)
	if err != nil {
		return model.Number{}, err
	}
	var prov string
	if providerName != nil {
		if prov, err = s.CheckProvider(*providerName); err != nil {
			return model.Number{}, err
		}
	}
	var n model.Number
	err = s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		if n, err = tx.Number(ctx, num); err != nil {
			return err
		}
		if clientID != nil {
			n.ClientID = *clientID
			if err := checkClient(ctx, tx, n.ClientID); err != nil {
				return err
			}
		}
		if providerName != nil {
			n.Provider = prov
		}
		return tx.UpdateNumber(ctx, n)
	})
	return n, err
}

// Delete removes a receiving number; one that cannot be read, or is not configured, is
// store.ErrNotFound.
func (s Numbers) Delete(ctx context.Context, number string) error {
	num, err := s.parse(number)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteNumber(ctx, num) })
}

// CheckProvider validates a number's provider: a configured one, or "" for the default.
func (s Numbers) CheckProvider(name string) (string, error) {
	if err := checkText("provider", name); err != nil {
		return "", err
	}
	if s.Providers == nil {
		return name, nil
	}
	if name == "" {
		return s.Providers.Default(), nil
	}
	if _, ok := s.Providers.Get(name); !ok {
		return "", invalid("provider", fmt.Sprintf("provider %q is not configured (configured: %s)",
			name, strings.Join(s.Providers.Names(), ", ")))
	}
	return name, nil
}

// parse reads a number named in a path, normalised like a stored one: one that cannot be read
// names nothing, so it is not found rather than invalid.
func (s Numbers) parse(number string) (string, error) {
	num, err := sms.NormalizeAddress(number, s.Region)
	if err != nil {
		return "", store.ErrNotFound
	}
	return num, nil
}

// checkClient refuses a number's client id that names no client ("" is the shared pool).
func checkClient(ctx context.Context, tx *store.Tx, clientID string) error {
	if clientID == "" {
		return nil
	}
	if err := checkText("client_id", clientID); err != nil {
		return err // no client has such an id, and PostgreSQL could not even look for it
	}
	if _, err := tx.Client(ctx, clientID); errors.Is(err, store.ErrNotFound) {
		return invalid("client_id", "no client has the id "+clientID)
	} else if err != nil {
		return err
	}
	return nil
}

func (s Numbers) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock().UTC()
}
