package services

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// Errors of the Manager.
var (
	// ErrNumberTaken: the number has a service already.
	ErrNumberTaken = errors.New("the number has a service already")
)

// Manager creates, changes and removes services: the API and the dashboard share it.
type Manager struct {
	Store        *store.Store
	Region       string
	AllowPrivate bool // callout URLs may be private addresses (tests, local setups)
	Resolver     webhook.Resolver
	Clock        func() time.Time
}

// Draft is a service as a client or the operator writes it.
type Draft struct {
	Number string
	Name   string
	Active *bool // nil: true on create, unchanged on update
	Spec   model.ServiceSpec
}

// Create puts a service on a number. clientID is the owner ("" : the operator's, on a pool
// number); the number must be one of the owner's (a pool number for the operator). A number
// with a service already is ErrNumberTaken. Errors in the draft are *model.FieldErr.
func (m *Manager) Create(ctx context.Context, clientID string, d Draft) (model.Service, error) {
	number, err := m.number(ctx, clientID, d.Number)
	if err != nil {
		return model.Service{}, err
	}
	spec, err := m.check(ctx, d)
	if err != nil {
		return model.Service{}, err
	}
	now := m.Clock().UTC()
	svc := model.Service{ID: model.NewIDAt(model.PrefixService, now), ClientID: clientID, Number: number,
		Name: strings.TrimSpace(d.Name), Active: d.Active == nil || *d.Active, Spec: spec, CreatedAt: now, UpdatedAt: now}
	err = m.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertService(ctx, svc) })
	if errors.Is(err, store.ErrConflict) {
		return model.Service{}, ErrNumberTaken
	}
	return svc, err
}

// Update replaces a service's name, activity and spec (its number stays: a number field that
// names another is an error). Sessions in progress go on with the new spec; one whose flow or
// step is gone starts afresh.
func (m *Manager) Update(ctx context.Context, svc model.Service, d Draft) (model.Service, error) {
	if d.Number != "" {
		n, err := sms.NormalizeAddress(d.Number, m.Region)
		if err != nil || n != svc.Number {
			return svc, &model.FieldErr{Field: "number", Reason: "a service stays on its number: delete it and create one on the other number"}
		}
	}
	spec, err := m.check(ctx, d)
	if err != nil {
		return svc, err
	}
	svc.Name, svc.Spec, svc.UpdatedAt = strings.TrimSpace(d.Name), spec, m.Clock().UTC()
	if d.Active != nil {
		svc.Active = *d.Active
	}
	return svc, m.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateService(ctx, svc) })
}

// Delete removes a service, its sessions and buckets; its exchange log stays.
func (m *Manager) Delete(ctx context.Context, svc model.Service) error {
	return m.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteService(ctx, svc) })
}

func (m *Manager) check(ctx context.Context, d Draft) (model.ServiceSpec, error) {
	if utf8.RuneCountInString(d.Name) > 128 || !utf8.ValidString(d.Name) {
		return d.Spec, &model.FieldErr{Field: "name", Reason: "at most 128 characters of text"}
	}
	return d.Spec.Check(func(url string) error {
		return webhook.ValidateURL(ctx, url, m.AllowPrivate, m.Resolver)
	})
}

// number reads a service's number: a number of Ibiki's, dedicated to the owner (or, for the
// operator, a pool number).
func (m *Manager) number(ctx context.Context, clientID, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", &model.FieldErr{Field: "number", Reason: "the receiving number or short code the service answers on is required"}
	}
	number, err := sms.NormalizeAddress(raw, m.Region)
	if err != nil {
		return "", &model.FieldErr{Field: "number", Reason: "must be a phone number in E.164 (+15557654321) or a short code of 3 to 8 digits"}
	}
	n, err := m.Store.Number(ctx, number)
	if errors.Is(err, store.ErrNotFound) && clientID != "" {
		// The same answer as for another client's number: a client learns nothing of the
		// operator's inventory.
		return "", &model.FieldErr{Field: "number", Reason: number + " is not one of your numbers"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", &model.FieldErr{Field: "number", Reason: number + " is not one of Ibiki's numbers (add it with POST /admin/v1/numbers)"}
	}
	if err != nil {
		return "", err
	}
	if n.ClientID != clientID {
		if clientID == "" {
			return "", &model.FieldErr{Field: "number", Reason: number + " is dedicated to a client: put the service on it as that client (client_id)"}
		}
		return "", &model.FieldErr{Field: "number", Reason: number + " is not one of your numbers"}
	}
	return number, nil
}
