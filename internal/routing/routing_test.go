package routing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/routing"
)

type fake struct {
	numbers  map[string]string
	active   map[string]bool
	contacts map[string][]string
	last     map[string]string
	// convs lists, per phone, the active clients it has a conversation with and the number each
	// conversation last heard from it on.
	convs map[string][]conv
	err   error
}

type conv struct{ client, on string }

func (f fake) NumberClient(_ context.Context, n string) (string, error) { return f.numbers[n], f.err }
func (f fake) ActiveClient(_ context.Context, id string) (bool, error)  { return f.active[id], f.err }
func (f fake) ContactClients(_ context.Context, p string, limit int) ([]string, error) {
	c := f.contacts[p]
	return c[:min(limit, len(c))], f.err
}
func (f fake) LastSender(_ context.Context, p string) (string, error) { return f.last[p], f.err }

// ConversationClients keeps the lookup's promise: the candidates on the number come first.
func (f fake) ConversationClients(_ context.Context, phone, to string, limit int) ([]routing.Candidate, error) {
	var on, off []routing.Candidate
	for _, c := range f.convs[phone] {
		if to != "" && c.on == to {
			on = append(on, routing.Candidate{ClientID: c.client, OnNumber: true})
		} else {
			off = append(off, routing.Candidate{ClientID: c.client})
		}
	}
	all := append(on, off...)
	return all[:min(limit, len(all))], f.err
}

func TestRoute(t *testing.T) {
	world := fake{
		numbers:  map[string]string{"+15550000001": "acme", "+15550000009": "gone"},
		active:   map[string]bool{"acme": true, "zeta": true, "beta": true},
		contacts: map[string][]string{"+15551110001": {"zeta"}, "+15551110002": {"acme", "zeta"}},
		last:     map[string]string{"+15551110002": "beta", "+15551110003": "beta"},
		convs: map[string][]conv{
			"+15551110002": {{"zeta", "+15550000002"}},
			"+15551110005": {{"zeta", "+15550000002"}},
			"+15551110006": {{"acme", "+15550000002"}, {"zeta", "+15550000003"}},
			"+15551110007": {{"acme", "+15550000002"}, {"zeta", "+15550000002"}},
		},
	}
	tests := []struct {
		name string
		in   routing.Input
		want routing.Decision
	}{
		{"a dedicated number wins over everything", routing.Input{From: "+15551110001", To: "+15550000001", Business: "zeta"},
			routing.Decision{"acme", model.RoutedByNumber}},
		{"a number dedicated to an inactive client is skipped", routing.Input{From: "+15551110009", To: "+15550000009", Business: "zeta"},
			routing.Decision{"zeta", model.RoutedByBusiness}},
		{"the business tag names the client", routing.Input{From: "+15551110009", To: "+15550000002", Business: "zeta"},
			routing.Decision{"zeta", model.RoutedByBusiness}},
		{"the business tag forgives case and spaces", routing.Input{From: "+15551110009", Business: "  ZETA "},
			routing.Decision{"zeta", model.RoutedByBusiness}},
		{"a business that is no client falls through to the contact", routing.Input{From: "+15551110001", Business: "ABC Company"},
			routing.Decision{"zeta", model.RoutedByContact}},
		{"a contact of two clients falls through to the last sender", routing.Input{From: "+15551110002"},
			routing.Decision{"beta", model.RoutedByLastSender}},
		{"the last sender routes a stranger's reply", routing.Input{From: "+15551110003"},
			routing.Decision{"beta", model.RoutedByLastSender}},
		{"the last sender wins over a conversation", routing.Input{From: "+15551110002", To: "+15550000002"},
			routing.Decision{"beta", model.RoutedByLastSender}},
		{"the one client with a conversation gets the reply, on any number", routing.Input{From: "+15551110005", To: "+15550000009"},
			routing.Decision{"zeta", model.RoutedByConversation}},
		{"of two clients with a conversation, the one on the receiving number gets it", routing.Input{From: "+15551110006", To: "+15550000003"},
			routing.Decision{"zeta", model.RoutedByConversation}},
		{"two clients with a conversation, on another number, leave it unrouted", routing.Input{From: "+15551110006", To: "+15550000009"},
			routing.Decision{"", model.RoutedByUnrouted}},
		{"two clients with a conversation, without a receiving number, leave it unrouted", routing.Input{From: "+15551110006"},
			routing.Decision{"", model.RoutedByUnrouted}},
		{"two clients on the same receiving number leave it unrouted", routing.Input{From: "+15551110007", To: "+15550000002"},
			routing.Decision{"", model.RoutedByUnrouted}},
		{"nothing known leaves the message unrouted", routing.Input{From: "+15551110004", To: "+15550000002", Business: "nobody"},
			routing.Decision{"", model.RoutedByUnrouted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := routing.Route(t.Context(), world, tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("Route(%+v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRouteReportsLookupFailures(t *testing.T) {
	boom := errors.New("database down")
	if _, err := routing.Route(t.Context(), fake{err: boom}, routing.Input{From: "+15551110001", To: "+1555"}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestByConversation(t *testing.T) {
	on := func(id string) routing.Candidate { return routing.Candidate{ClientID: id, OnNumber: true} }
	off := func(id string) routing.Candidate { return routing.Candidate{ClientID: id} }
	tests := []struct {
		name string
		cs   []routing.Candidate
		want string
	}{
		{"no conversation chooses nobody", nil, ""},
		{"one conversation chooses its client", []routing.Candidate{off("acme")}, "acme"},
		{"one conversation on the number chooses its client", []routing.Candidate{on("acme")}, "acme"},
		{"the only one on the number wins over another", []routing.Candidate{on("acme"), off("zeta")}, "acme"},
		{"two on the number choose nobody", []routing.Candidate{on("acme"), on("zeta")}, ""},
		{"two elsewhere choose nobody", []routing.Candidate{off("acme"), off("zeta")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := routing.ByConversation(tt.cs); got != tt.want {
				t.Errorf("ByConversation(%v) = %q, want %q", tt.cs, got, tt.want)
			}
		})
	}
}
