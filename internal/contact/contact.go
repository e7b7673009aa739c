package contact

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// Errors of contact writes besides field errors.
var (
	// ErrExists: the phone is already one of the client's contacts. It also matches
	// store.ErrConflict.
	ErrExists = errors.New("this phone is already one of the client's contacts")
	// ErrPhoneTaken: the phone is another client's contact, and the operator's rule is "one
	// phone, one client" (IBIKI_CONTACT_CONFLICTS=reject). It does not say which client.
	ErrPhoneTaken = errors.New("this phone is another client's contact")
)

// Service writes a client's contacts and suppression list. The API and the dashboard both go
// through it, so that every contact obeys the same rules.
type Service struct {
	Store *store.Store
	// Region reads phone numbers written without a country code.
	Region string
	// AllowConflicts lets a phone be the contact of several clients (IBIKI_CONTACT_CONFLICTS=
	// allow); by default a phone that is another client's contact is refused, as imports do.
	AllowConflicts bool
	// Clock is the time source (nil: time.Now).
	Clock func() time.Time
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock().UTC()
}

// Input is a contact to create.
type Input struct {
	Phone string
	Details
}

// Create checks and stores a new contact of clientID with its tags, in one transaction with
// the ownership check. The contact is the operation's result (store.Tx.Done).
func (s *Service) Create(ctx context.Context, clientID string, in Input) (model.Contact, error) {
	tags, err := Tags(in.Tags)
	if err != nil {
		return model.Contact{}, err
	}
	phone, err := Phone(in.Phone, s.Region)
	if err != nil {
		return model.Contact{}, err
	}
	if err := in.names(); err != nil {
		return model.Contact{}, err
	}
	if err := Fields(in.Fields); err != nil {
		return model.Contact{}, err
	}
	now := s.now()
	c := model.Contact{ID: model.NewIDAt(model.PrefixContact, now), ClientID: clientID, Phone: phone,
		FirstName: in.FirstName, LastName: in.LastName, Business: in.Business, Fields: in.Fields, Tags: tags,
		CreatedAt: now, UpdatedAt: now}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := s.checkOwnership(ctx, tx, clientID, phone); err != nil {
			return err
		}
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		if err := tx.SetContactTags(ctx, clientID, c.ID, c.Tags); err != nil {
			return err
		}
		return tx.Done(ctx, c)
	})
	return c, exists(err)
}

// Changes are the parts of a contact Update changes; nil ones stay as they are. Fields and
// Tags replace all of the contact's.
type Changes struct {
	Phone, FirstName, LastName, Business *string
	Fields                               *map[string]string
	Tags                                 *[]string
}

// Update checks and applies ch to one of the client's contacts; another client's contact is
// store.ErrNotFound (before the changes are checked). A new phone passes the ownership check in
// the transaction that writes it.
func (s *Service) Update(ctx context.Context, clientID, id string, ch Changes) (model.Contact, error) {
	c, err := s.Get(ctx, clientID, id)
	if err != nil {
		return c, err
	}
	if err := s.apply(&c, ch); err != nil {
		return model.Contact{}, err
	}
	c.UpdatedAt = s.now()
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		if ch.Phone != nil {
			if err := s.checkOwnership(ctx, tx, clientID, c.Phone); err != nil {
				return err
			}
		}
		if err := tx.UpdateContact(ctx, c); err != nil {
			return err
		}
		if ch.Tags == nil {
			return nil
		}
		return tx.SetContactTags(ctx, clientID, c.ID, c.Tags)
	})
	if err != nil {
		return model.Contact{}, exists(err)
	}
	return c, nil
}

// apply checks the changes and makes them to c.
func (s *Service) apply(c *model.Contact, ch Changes) (err error) {
	if ch.Phone != nil {
		if c.Phone, err = Phone(*ch.Phone, s.Region); err != nil {
			return err
		}
	}
	for _, n := range []struct {
		field   string
		in, out *string
	}{{"first_name", ch.FirstName, &c.FirstName}, {"last_name", ch.LastName, &c.LastName}, {"business", ch.Business, &c.Business}} {
		if n.in == nil {
			continue
		}
		if *n.out, err = Name(n.field, *n.in); err != nil {
			return err
		}
	}
	if ch.Fields != nil {
		if err := Fields(*ch.Fields); err != nil {
			return err
		}
		c.Fields = *ch.Fields
	}
	if ch.Tags != nil {
		c.Tags, err = Tags(*ch.Tags)
	}
	return err
}

// Get returns one of the client's contacts with its tags.
func (s *Service) Get(ctx context.Context, clientID, id string) (model.Contact, error) {
	c, err := s.Store.Contact(ctx, clientID, id)
	if err != nil {
		return c, err
	}
	tags, err := s.Store.ContactTags(ctx, clientID, []string{id})
	c.Tags = tags[id]
	return c, err
}

// Delete removes one of the client's contacts.
func (s *Service) Delete(ctx context.Context, clientID, id string) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteContact(ctx, clientID, id) })
}

// checkOwnership applies the operator's rule "one phone, one client" to a phone added to or
// changed in clientID's contacts, as imports do. It runs in the transaction that writes the
// contact, so that two clients adding the same phone at once cannot both pass.
func (s *Service) checkOwnership(ctx context.Context, tx *store.Tx, clientID, phone string) error {
	if s.AllowConflicts {
		return nil
	}
	taken, err := tx.PhoneTaken(ctx, clientID, phone)
	if err != nil {
		return err
	}
	if taken {
		return ErrPhoneTaken
	}
	return nil
}

// exists turns a conflict (the client has a contact with this phone) into ErrExists, keeping
// the conflict underneath: it may also be a concurrent request with the same Idempotency-Key.
func exists(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("contact: %w (%w)", ErrExists, err)
	}
	return err
}
