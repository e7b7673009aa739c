package tenant

import (
	"context"
	"errors"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

// Answers writes how a client answers contacts automatically: its auto-reply rules and how its
// numbers answer calls. The APIs and the dashboard go through it, so a rule is read and checked
// the same way everywhere.
type Answers struct {
	Store  *store.Store
	Region string
	// Clock is the time source (nil: time.Now).
	Clock func() time.Time
}

func (s Answers) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock().UTC()
}

// modelErr turns a model's field error into the package's.
func modelErr(err error) error {
	var fe *model.FieldErr
	if errors.As(err, &fe) {
		return invalid(fe.Field, fe.Field+": "+fe.Reason)
	}
	return err
}

// SaveAutoReply checks a client's rule and stores it, replacing the client's rule of the same
// channel and number. Its number must be one of the client's or of the shared pool.
func (s Answers) SaveAutoReply(ctx context.Context, clientID string, in model.AutoReply) (model.AutoReply, error) {
	if in.Number != "" {
		num, err := sms.NormalizeAddress(in.Number, s.Region)
		if err != nil {
			return in, invalid("number", err.Error())
		}
		n, err := s.Store.Number(ctx, num)
		if errors.Is(err, store.ErrNotFound) || (err == nil && n.ClientID != "" && n.ClientID != clientID) {
			return in, invalid("number", "is not a number of this client or of the shared pool")
		}
		if err != nil {
			return in, err
		}
		in.Number = num
	}
	now := s.now()
	in.ID, in.ClientID, in.CreatedAt, in.UpdatedAt = model.NewIDAt(model.PrefixAutoReply, now), clientID, now, now
	rule, err := in.Check()
	if err != nil {
		return in, modelErr(err)
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		rule, err = tx.PutAutoReply(ctx, rule)
		return err
	})
	return rule, err
}

// SaveVoiceAnswer checks an answer (its forward number read in the region) and stores it for
// owner (store.NumberVoiceOwner, store.ClientVoiceOwner).
func (s Answers) SaveVoiceAnswer(ctx context.Context, owner string, in model.VoiceAnswer) (model.VoiceAnswer, error) {
	if in.ForwardTo != "" {
		fwd, err := sms.NormalizeE164(in.ForwardTo, s.Region)
		if err != nil {
			return in, invalid("forward_to", err.Error())
		}
		switch _, err := s.Store.CachedNumber(ctx, fwd); {
		case err == nil:
			return in, invalid("forward_to", "is one of Ibiki's own numbers: the call would come back")
		case !errors.Is(err, store.ErrNotFound):
			return in, err
		}
		in.ForwardTo = fwd
	}
	v, err := in.Check()
	if err != nil {
		return in, modelErr(err)
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetVoiceAnswer(ctx, owner, v, s.now()) })
	return v, err
}
