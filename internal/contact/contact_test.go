package contact_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newService(t *testing.T, allowConflicts bool) *contact.Service {
	t.Helper()
	st := ibikitest.NewStore(t)
	ibikitest.Must(t, st.InTx(t.Context(), func(tx *store.Tx) error {
		for _, id := range []string{"acme", "globex"} {
			if err := tx.InsertClient(t.Context(), model.Client{ID: id, Name: id, Active: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	}))
	return &contact.Service{Store: st, Region: "US", AllowConflicts: allowConflicts, Clock: func() time.Time { return t0 }}
}

func add(t *testing.T, s *contact.Service, client, phone string) (model.Contact, error) {
	t.Helper()
	return s.Create(t.Context(), client, contact.Input{Phone: phone, Details: contact.Details{FirstName: " Ann ", Tags: []string{"b", "a", "b"}}})
}

func TestCreateAndUpdate(t *testing.T) {
	s := newService(t, false)
	c, err := add(t, s, "acme", "(555) 123-0001")
	if err != nil || c.Phone != "+15551230001" || c.FirstName != "Ann" || len(c.Tags) != 2 {
		t.Fatalf("Create = %+v, %v; want the phone in E.164, the name trimmed, two tags", c, err)
	}
	got, err := s.Get(t.Context(), "acme", c.ID)
	if err != nil || got.FirstName != "Ann" || len(got.Tags) != 2 || got.Tags[0] != "a" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	other, err := add(t, s, "acme", "+15551230002")
	ibikitest.Must(t, err)

	t.Run("the same phone twice is ErrExists, a conflict underneath", func(t *testing.T) {
		_, err := add(t, s, "acme", "+15551230001")
		if !errors.Is(err, contact.ErrExists) || !errors.Is(err, store.ErrConflict) {
			t.Errorf("Create = %v, want ErrExists and ErrConflict", err)
		}
	})
	t.Run("another client's phone is refused under one phone, one client", func(t *testing.T) {
		if _, err := add(t, s, "globex", "+15551230001"); !errors.Is(err, contact.ErrPhoneTaken) {
			t.Errorf("Create = %v, want ErrPhoneTaken", err)
		}
	})
	t.Run("changing a phone to another contact's is ErrExists", func(t *testing.T) {
		phone := "+15551230001"
		if _, err := s.Update(t.Context(), "acme", other.ID, contact.Changes{Phone: &phone}); !errors.Is(err, contact.ErrExists) {
			t.Errorf("Update = %v, want ErrExists", err)
		}
	})
	t.Run("a change that breaks a rule is a field error, and changes nothing", func(t *testing.T) {
		long := strings.Repeat("x", 300)
		var fe *contact.FieldError
		if _, err := s.Update(t.Context(), "acme", other.ID, contact.Changes{LastName: &long}); !errors.As(err, &fe) || fe.Field != "last_name" {
			t.Errorf("Update = %v, want a last_name field error", err)
		}
	})
	t.Run("another client's contact is not found", func(t *testing.T) {
		name := "Bo"
		if _, err := s.Update(t.Context(), "globex", c.ID, contact.Changes{FirstName: &name}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Update = %v, want ErrNotFound", err)
		}
		if err := s.Delete(t.Context(), "globex", c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Delete = %v, want ErrNotFound", err)
		}
	})
	t.Run("tags given replace the contact's, others stay", func(t *testing.T) {
		tags := []string{"vip"}
		u, err := s.Update(t.Context(), "acme", c.ID, contact.Changes{Tags: &tags})
		got, gerr := s.Get(t.Context(), "acme", c.ID)
		if err != nil || gerr != nil || u.FirstName != "Ann" || len(got.Tags) != 1 || got.Tags[0] != "vip" {
			t.Errorf("Update = %+v, %v; stored %+v, %v", u, err, got, gerr)
		}
	})
}

func TestConflictsAllowedByTheOperator(t *testing.T) {
	s := newService(t, true)
	ibikitest.Must(t, func() error { _, err := add(t, s, "acme", "+15551230001"); return err }())
	if _, err := add(t, s, "globex", "+15551230001"); err != nil {
		t.Errorf("Create = %v, want another client's phone taken under IBIKI_CONTACT_CONFLICTS=allow", err)
	}
}

func TestSuppressions(t *testing.T) {
	s := newService(t, false)
	first, err := s.Suppress(t.Context(), "acme", "(555) 123-0009", "client")
	if err != nil || !first.Created || first.Phone != "+15551230009" || first.Source != "client" {
		t.Fatalf("Suppress = %+v, %v; want it added", first, err)
	}
	again, err := s.Suppress(t.Context(), "acme", "+15551230009", "operator")
	if err != nil || again.Created || again.Source != "client" {
		t.Errorf("Suppress again = %+v, %v; want the first one, unchanged", again, err)
	}
	var fe *contact.FieldError
	if _, err := s.Suppress(t.Context(), "acme", " ", "client"); !errors.As(err, &fe) || !fe.Missing {
		t.Errorf("Suppress of no phone = %v, want a missing phone", err)
	}
	ibikitest.Must(t, s.Unsuppress(t.Context(), "acme", "+15551230009"))
	for _, phone := range []string{"+15551230009", "not a phone"} {
		if err := s.Unsuppress(t.Context(), "acme", phone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Unsuppress(%q) = %v, want ErrNotFound", phone, err)
		}
	}
}
