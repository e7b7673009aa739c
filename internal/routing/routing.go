// Package routing decides which client an inbound message belongs to. The rules are pure
// functions over a small lookup interface and are tried in a fixed order; the first that
// matches wins and is named in the decision, so every message records why it went where.
package routing

import (
	"context"
	"errors"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
)

// Lookup is what the rules need to know. Implementations answer ErrNotFound-style misses with
// empty results, not errors; errors are real failures.
type Lookup interface {
	// NumberClient returns the client a receiving number is dedicated to ("" for the shared
	// pool or an unknown number).
	NumberClient(ctx context.Context, number string) (string, error)
	// ActiveClient reports whether id names an active client.
	ActiveClient(ctx context.Context, id string) (bool, error)
	// ContactClients returns up to limit active clients that have the phone as a contact.
	ContactClients(ctx context.Context, phone string, limit int) ([]string, error)
	// LastSender returns the active client that last sent to the phone ("" if none).
	LastSender(ctx context.Context, phone string) (string, error)
	// ConversationClients returns up to limit active clients that have a conversation with the
	// phone, each once: first those whose conversation last heard from the phone on the number
	// to (OnNumber; none when to is ""), then the others.
	ConversationClients(ctx context.Context, phone, to string, limit int) ([]Candidate, error)
}

// Candidate is a client that has a conversation with the sender of a message.
type Candidate struct {
	ClientID string
	// OnNumber: the phone last wrote to this client on the number the message arrived on.
	OnNumber bool
}

// Input is what routing looks at.
type Input struct {
	From     string // the contact's phone, E.164
	To       string // the number the message arrived on ("" when unknown)
	Business string // the provider's business tag
}

// Decision is the outcome: a client and the rule that chose it, or Rule == RoutedByUnrouted
// with an empty ClientID.
type Decision struct {
	ClientID string
	Rule     model.RoutedBy
}

// ErrNoLookup is returned when Route is called without a Lookup.
var ErrNoLookup = errors.New("routing: no lookup")

// Route applies the rules in order: dedicated receiving number, business tag, the phone being
// a contact of exactly one client, the client that last sent to the phone, the one client that
// has a conversation with the phone (ByConversation); else unrouted.
func Route(ctx context.Context, lk Lookup, in Input) (Decision, error) {
	if lk == nil {
		return Decision{}, ErrNoLookup
	}
	if in.To != "" {
		id, err := lk.NumberClient(ctx, in.To)
		if err != nil {
			return Decision{}, err
		}
		if ok, err := active(ctx, lk, id); err != nil || ok {
			return Decision{ClientID: id, Rule: model.RoutedByNumber}, err
		}
	}
	if id := BusinessTag(in.Business); id != "" {
		ok, err := lk.ActiveClient(ctx, id)
		if err != nil || ok {
			return Decision{ClientID: id, Rule: model.RoutedByBusiness}, err
		}
	}
	owners, err := lk.ContactClients(ctx, in.From, 2)
	if err != nil {
		return Decision{}, err
	}
	if len(owners) == 1 {
		return Decision{ClientID: owners[0], Rule: model.RoutedByContact}, nil
	}
	id, err := lk.LastSender(ctx, in.From)
	if err != nil {
		return Decision{}, err
	}
	if id != "" {
		return Decision{ClientID: id, Rule: model.RoutedByLastSender}, nil
	}
	cs, err := lk.ConversationClients(ctx, in.From, in.To, 2)
	if err != nil {
		return Decision{}, err
	}
	if id := ByConversation(cs); id != "" {
		return Decision{ClientID: id, Rule: model.RoutedByConversation}, nil
	}
	return Decision{Rule: model.RoutedByUnrouted}, nil
}

// ByConversation chooses among the clients that have a conversation with a phone, as
// ConversationClients lists them (those on the receiving number first), when no client has
// sent to it: a conversation that began with the contact writing (through a business tag, a
// dedicated number, an assignment) still says whose the contact is. The only such client wins,
// or else the only one the phone wrote to on this same number; several are a guess, and the
// message stays unrouted for the operator.
func ByConversation(cs []Candidate) string {
	switch {
	case len(cs) == 1:
		return cs[0].ClientID
	case len(cs) > 1 && cs[0].OnNumber && !cs[1].OnNumber:
		return cs[0].ClientID
	}
	return ""
}

func active(ctx context.Context, lk Lookup, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	return lk.ActiveClient(ctx, id)
}

// BusinessTag reads a client id out of a provider's business field: operators type it into a
// CSV, so case and surrounding spaces are forgiven. Anything that cannot be a client id ("ABC
// Company") gives "".
func BusinessTag(business string) string {
	id := strings.ToLower(strings.TrimSpace(business))
	if !model.ValidClientID(id) {
		return ""
	}
	return id
}
