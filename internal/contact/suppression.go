package contact

import (
	"context"
	"errors"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

// A suppression is a phone on a client's opt-out list: sends to it are refused. Contacts add
// themselves by STOP and leave by START (inbound); the client and the operator manage the list
// through Suppress and Unsuppress.

// Suppression is a phone on a client's list, as Suppress left it.
type Suppression struct {
	model.OptOut
	// Created is false when the phone was on the list already (it is left as it was).
	Created bool
}

// Suppress puts a phone on the client's list; source says who did (client, operator). The
// suppression is the operation's result (store.Tx.Done).
func (s *Service) Suppress(ctx context.Context, clientID, phone, source string) (Suppression, error) {
	phone, err := Phone(phone, s.Region)
	if err != nil {
		return Suppression{}, err
	}
	var sup Suppression
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		prev, err := tx.OptOut(ctx, clientID, phone)
		switch {
		case err == nil:
			sup = Suppression{OptOut: prev}
		case errors.Is(err, store.ErrNotFound):
			sup = Suppression{OptOut: model.OptOut{ClientID: clientID, Phone: phone, Source: source, CreatedAt: s.now()}, Created: true}
			if err := tx.UpsertOptOut(ctx, sup.OptOut); err != nil {
				return err
			}
		default:
			return err
		}
		return tx.Done(ctx, sup)
	})
	return sup, err
}

// Unsuppress takes a phone off the client's list. A phone that is not on it, or cannot be
// read, is store.ErrNotFound.
func (s *Service) Unsuppress(ctx context.Context, clientID, phone string) error {
	phone, err := sms.NormalizeE164(phone, s.Region)
	if err != nil {
		return store.ErrNotFound
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		removed, err := tx.DeleteOptOut(ctx, clientID, phone)
		if err == nil && !removed {
			err = store.ErrNotFound
		}
		return err
	})
}
