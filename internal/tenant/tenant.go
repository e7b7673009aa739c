// Package tenant holds the writes that create and change clients (tenants): their settings,
// API keys, webhook secrets and credits, and the receiving numbers (Numbers), whose provider
// must be a configured sender. It is transport-free so that the admin API and the
// dashboard apply the same rules and the same transactions.
package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/quiet"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
	"github.com/ibiki/ibiki/internal/webhook"
)

// DefaultRateCents is what one outbound segment costs a new client unless the operator says.
const DefaultRateCents = 1

// MaxRateCents bounds a segment's price (100 dollars): a larger one is a typo.
const MaxRateCents = 10_000

// MaxNameLen bounds a client's display name, in bytes.
const MaxNameLen = 200

// SecretGrace is how long a rotated webhook secret keeps signing next to the new one, so that
// receivers can switch without dropping deliveries.
const SecretGrace = 24 * time.Hour

// ErrClientExists is returned by Create when the id is taken. It also matches
// store.ErrConflict.
var ErrClientExists = errors.New("a client with this id exists")

// Field error codes, the same as the API's catalogue.
const (
	CodeInvalid = "invalid_field"
	CodeMissing = "missing_field"
)

// FieldError is an input field that is missing or wrong. Message is written for the person who
// filled the field in; transports show it next to Field.
type FieldError struct {
	Field   string
	Code    string // CodeInvalid or CodeMissing
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, msg string) *FieldError {
	return &FieldError{Field: field, Code: CodeInvalid, Message: msg}
}

func missing(field string) *FieldError {
	return &FieldError{Field: field, Code: CodeMissing, Message: field + " is required"}
}

// checkText refuses a field whose value is not text (package text): PostgreSQL could not store
// it, SQLite would. Checked here, every transport gets the same answer.
func checkText(field, v string) error {
	if flaw := text.Check(v); flaw != text.OK {
		return invalid(field, field+" must be text: it holds "+flaw.String())
	}
	return nil
}

var errRate = invalid("rate_cents", fmt.Sprintf("rate_cents must be a whole number of cents from 0 to %d per segment", MaxRateCents))

// Service creates and changes clients.
type Service struct {
	Store *store.Store
	// Clock is the time source (nil: time.Now).
	Clock func() time.Time
	// AllowPrivateWebhooks lets webhook URLs point at private addresses (tests, local setups).
	AllowPrivateWebhooks bool
	// Resolver resolves webhook hosts for the SSRF check (nil: the system resolver).
	Resolver webhook.Resolver
	// Tokens issues clients' Twilio-compatible credentials.
	Tokens *auth.TwilioTokens
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock().UTC()
}

// NewClient is what creating a client takes. Name defaults to the id; RateCents (nil for the
// default) is the price of one outbound segment.
type NewClient struct {
	ID         string
	Name       string
	WebhookURL string
	RateCents  *int64
}

// Create validates and stores a new, active client with a fresh webhook secret and API key,
// both in one transaction. The key is returned here only: just its hash is kept. The client is
// the operation's result (store.Tx.Done).
func (s *Service) Create(ctx context.Context, in NewClient) (c model.Client, apiKey string, err error) {
	in.Name, in.WebhookURL = strings.TrimSpace(in.Name), strings.TrimSpace(in.WebhookURL)
	switch {
	case in.ID == "":
		return c, "", missing("id")
	case !model.ValidClientID(in.ID):
		return c, "", invalid("id", model.ErrInvalidClientID.Error())
	case len(in.Name) > MaxNameLen:
		return c, "", invalid("name", fmt.Sprintf("name must be at most %d characters", MaxNameLen))
	case in.RateCents != nil && !validRate(*in.RateCents):
		return c, "", errRate
	}
	if err := cmp.Or(checkText("name", in.Name), s.checkWebhookURL(ctx, in.WebhookURL)); err != nil {
		return c, "", err
	}
	now := s.now()
	c = model.Client{ID: in.ID, Name: cmp.Or(in.Name, in.ID), WebhookURL: in.WebhookURL, Active: true,
		WebhookSecret: webhook.NewSecret(), RateCents: DefaultRateCents, CreatedAt: now, UpdatedAt: now}
	if in.RateCents != nil {
		c.RateCents = *in.RateCents
	}
	key, rec := auth.NewAPIKey(c.ID, now)
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertClient(ctx, c); err != nil {
			return err
		}
		if err := tx.InsertAPIKey(ctx, rec, auth.Hash(key)); err != nil {
			return err
		}
		return tx.Done(ctx, c)
	})
	if errors.Is(err, store.ErrConflict) {
		return model.Client{}, "", fmt.Errorf("tenant: create %s: %w (%w)", c.ID, ErrClientExists, err)
	}
	if err != nil {
		return model.Client{}, "", fmt.Errorf("tenant: create %s: %w", c.ID, err)
	}
	return c, key, nil
}

// Changes are the settings Update changes; nil fields stay as they are.
type Changes struct {
	Name       *string
	WebhookURL *string
	// QuietHours is "HH:MM-HH:MM", or "" for none.
	QuietHours *string
	Active     *bool
	RateCents  *int64
	// WebhookFormat is "standard" or "twilio" (which needs the client's Twilio credentials:
	// its deliveries are signed with its auth token).
	WebhookFormat *model.DeliveryFormat
	// DLTRequired: every send must match one of the client's DLT templates (India).
	DLTRequired *bool
}

// Update validates and applies ch to the client id. Saving the webhook URL, even unchanged,
// clears its disabled mark: that is how an operator re-enables an endpoint that answered 410
// Gone. An unknown client is store.ErrNotFound (after the fields are checked).
func (s *Service) Update(ctx context.Context, id string, ch Changes) (model.Client, error) {
	if ch.RateCents != nil && !validRate(*ch.RateCents) {
		return model.Client{}, errRate
	}
	var quietHours string
	if ch.QuietHours != nil {
		q, err := quiet.Parse(*ch.QuietHours)
		if err != nil {
			return model.Client{}, invalid("quiet_hours", err.Error()+` ("" for none)`)
		}
		quietHours = q.String()
	}
	if ch.Name != nil && (strings.TrimSpace(*ch.Name) == "" || len(*ch.Name) > MaxNameLen) {
		return model.Client{}, invalid("name", fmt.Sprintf("name must be 1 to %d characters", MaxNameLen))
	}
	if ch.Name != nil {
		if err := checkText("name", *ch.Name); err != nil {
			return model.Client{}, err
		}
	}
	var url string
	if ch.WebhookURL != nil {
		url = strings.TrimSpace(*ch.WebhookURL)
		if err := s.checkWebhookURL(ctx, url); err != nil {
			return model.Client{}, err
		}
	}
	if f := ch.WebhookFormat; f != nil && *f != model.DeliveryStandard && *f != model.DeliveryTwilio {
		return model.Client{}, invalid("webhook_format", "webhook_format must be standard or twilio")
	}
	return s.change(ctx, id, func(tx *store.Tx, c *model.Client) error {
		if f := ch.WebhookFormat; f != nil {
			if *f == model.DeliveryTwilio {
				if _, err := tx.TwilioAccount(ctx, c.ID); errors.Is(err, store.ErrNotFound) {
					return invalid("webhook_format", "the twilio format signs with the client's Twilio auth token: create the client's Twilio credentials first")
				} else if err != nil {
					return err
				}
			}
			c.WebhookFormat = *f
		}
		if ch.Name != nil {
			c.Name = strings.TrimSpace(*ch.Name)
		}
		if ch.WebhookURL != nil {
			c.WebhookURL, c.WebhookDisabledAt = url, time.Time{}
		}
		if ch.Active != nil {
			c.Active = *ch.Active
		}
		if ch.RateCents != nil {
			c.RateCents = *ch.RateCents
		}
		if ch.QuietHours != nil {
			c.QuietHours = quietHours
		}
		if ch.DLTRequired != nil {
			c.DLTRequired = *ch.DLTRequired
		}
		return nil
	})
}

// RotateKey revokes every API key of the client and issues a new one, returned here only.
func (s *Service) RotateKey(ctx context.Context, id string) (model.Client, string, error) {
	var key string
	c, err := s.change(ctx, id, func(tx *store.Tx, c *model.Client) error {
		now := s.now()
		var rec model.APIKey
		key, rec = auth.NewAPIKey(c.ID, now)
		if err := tx.RevokeAPIKeys(ctx, c.ID, now); err != nil {
			return err
		}
		return tx.InsertAPIKey(ctx, rec, auth.Hash(key))
	})
	if err != nil {
		return model.Client{}, "", err
	}
	return c, key, nil
}

// TwilioCredentials creates a client's Twilio-compatible credentials, or gives it a new auth
// token under its Account SID (the former token stops working at once). The token is returned
// here only: just its hash is kept (see auth.TwilioTokens). created says there were none.
func (s *Service) TwilioCredentials(ctx context.Context, id string) (a model.TwilioAccount, token string, created bool, err error) {
	_, err = s.change(ctx, id, func(tx *store.Tx, c *model.Client) error {
		var prev *model.TwilioAccount
		old, err := tx.TwilioAccount(ctx, c.ID)
		switch {
		case err == nil:
			prev = &old
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		created = prev == nil
		a, token = s.Tokens.Issue(c.ID, prev, s.now())
		return tx.PutTwilioAccount(ctx, a)
	})
	if err != nil {
		return model.TwilioAccount{}, "", false, err
	}
	return a, token, created, nil
}

// RotateWebhookSecret gives the client a new webhook secret. The previous one keeps signing
// next to it until PreviousSecretUntil (SecretGrace from now).
func (s *Service) RotateWebhookSecret(ctx context.Context, id string) (model.Client, error) {
	return s.change(ctx, id, func(_ *store.Tx, c *model.Client) error {
		c.PreviousSecret, c.PreviousSecretUntil = c.WebhookSecret, s.now().Add(SecretGrace)
		c.WebhookSecret = webhook.NewSecret()
		return nil
	})
}

// change loads a client, lets edit change it (and write more in the same transaction), and
// saves it, all in one transaction.
func (s *Service) change(ctx context.Context, id string, edit func(*store.Tx, *model.Client) error) (model.Client, error) {
	var c model.Client
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		c, err = tx.Client(ctx, id)
		if err != nil {
			return err
		}
		if err := edit(tx, &c); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		return tx.UpdateClient(ctx, c)
	})
	if err != nil {
		return model.Client{}, fmt.Errorf("tenant: change %s: %w", id, err)
	}
	return c, nil
}

func (s *Service) checkWebhookURL(ctx context.Context, url string) error {
	if url == "" {
		return nil
	}
	if err := checkText("webhook_url", url); err != nil {
		return err
	}
	if err := webhook.ValidateURL(ctx, url, s.AllowPrivateWebhooks, s.Resolver); err != nil {
		return invalid("webhook_url", err.Error())
	}
	return nil
}

func validRate(n int64) bool { return n >= 0 && n <= MaxRateCents }
