// Package live fans committed changes out to the dashboards that show them: each open page
// subscribes for its client and hears, within a moment, of every client event webhook.Enqueue
// saw (a message received, an opt-out, a test delivery; a status change only for a client with
// a webhook URL, since outbound queues no event otherwise).
// The hub is in-process; with several instances on PostgreSQL, store.ShareAnnouncements feeds
// it the other instances' changes too (see docs/dashboard.md).
package live

import (
	"sync"

	"github.com/ibiki/ibiki/internal/store"
)

// Hub is the in-process switchboard. The zero value is not usable; use New.
type Hub struct {
	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{} // client id ("" = every client) → subscribers
	closed bool
}

// New returns an empty hub.
func New() *Hub { return &Hub{subs: map[string]map[*Subscription]struct{}{}} }

// Subscription receives the announcements of one client (or of all, for operators).
type Subscription struct {
	C        <-chan store.Announcement
	c        chan store.Announcement
	clientID string
	hub      *Hub
	once     sync.Once
}

// subscriptionBuffer is how many announcements a slow page may fall behind before new ones are
// dropped for it. A page treats an announcement as "look again", so losing some in a burst
// only merges refreshes.
const subscriptionBuffer = 64

// Subscribe returns a subscription to clientID's announcements ("" for every client's).
// Close it when the page goes away.
func (h *Hub) Subscribe(clientID string) *Subscription {
	c := make(chan store.Announcement, subscriptionBuffer)
	s := &Subscription{C: c, c: c, clientID: clientID, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(c)
		return s
	}
	if h.subs[clientID] == nil {
		h.subs[clientID] = map[*Subscription]struct{}{}
	}
	h.subs[clientID][s] = struct{}{}
	return s
}

// Close ends the subscription. It may be called more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.hub.mu.Lock()
		defer s.hub.mu.Unlock()
		if _, ok := s.hub.subs[s.clientID][s]; !ok {
			return // the hub closed it
		}
		delete(s.hub.subs[s.clientID], s)
		if len(s.hub.subs[s.clientID]) == 0 {
			delete(s.hub.subs, s.clientID)
		}
		close(s.c)
	})
}

// Close ends every subscription (their channels close) and refuses new ones: the server is
// shutting down, and open event streams must end for it to finish.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, subs := range h.subs {
		for s := range subs {
			close(s.c)
		}
	}
	clear(h.subs)
}

// Publish hands a to its client's subscribers and to the every-client ones, without ever
// waiting for a slow reader.
func (h *Hub) Publish(a store.Announcement) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range []string{a.ClientID, ""} {
		for s := range h.subs[key] {
			select {
			case s.c <- a:
			default:
			}
		}
	}
}
