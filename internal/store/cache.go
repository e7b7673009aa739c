package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// cacheTTL is how long a cached client or number is trusted. Routing and delivery read them for
// every message; they change rarely. Changes made through this process are normally seen at
// once (its own writes drop the entry), and any change, from any instance, within cacheTTL.
const cacheTTL = time.Second

type cached[T any] struct {
	v   T
	err error
	at  time.Time
}

// ttlCache keeps recent lookups, misses included (a miss is as frequent as a hit: most
// receiving numbers are not dedicated to anyone).
type ttlCache[T any] struct {
	mu sync.Mutex
	m  map[string]cached[T]
}

func (c *ttlCache[T]) get(ctx context.Context, key string, load func(context.Context, string) (T, error)) (T, error) {
	if v, err, ok := c.fresh(key); ok {
		return v, err
	}
	now := time.Now()
	v, err := load(ctx, key)
	if err != nil && err != ErrNotFound {
		return v, err // failures are not remembered
	}
	c.put(key, v, err, now)
	return v, err
}

// fresh returns the entry for key when it is younger than cacheTTL.
func (c *ttlCache[T]) fresh(key string) (T, error, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || time.Since(e.at) >= cacheTTL {
		var zero T
		return zero, nil, false
	}
	return e.v, e.err, true
}

// put remembers v (or the miss err) for key, as read at at.
func (c *ttlCache[T]) put(key string, v T, err error, at time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]cached[T]{} // bound the memory; it refills in a second
	}
	c.m[key] = cached[T]{v: v, err: err, at: at}
	c.mu.Unlock()
}

func (c *ttlCache[T]) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *ttlCache[T]) drop(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// caches holds the store's read caches.
type caches struct {
	clients ttlCache[model.Client]
	numbers ttlCache[model.Number]
	keys    ttlCache[model.Client] // by API key hash
	// twilio are Twilio-compatible logins by Account SID; cleared with keys.
	twilio ttlCache[TwilioLogin]
	// autoReplies are the clients' auto-reply rules, by client id.
	autoReplies ttlCache[[]model.AutoReply]
	// services are the services on receiving numbers, by number (misses included).
	services ttlCache[model.Service]
	// dltTemplates are the clients' DLT templates, by client id, oldest first.
	dltTemplates ttlCache[[]model.DLTTemplate]
	// smppAccounts are the clients' SMPP logins, by client id (misses included).
	smppAccounts ttlCache[model.SMPPAccount]
	convIDs      idCache
}

// idCache remembers ids that never change once given, so that an entry is never stale: the
// conversation of a (client, phone, channel). Misses are not kept: the row may appear any time.
type idCache struct {
	mu sync.Mutex
	m  map[string]string
}

// CachedConversationAndContact is ConversationAndContact through the cache of conversation ids:
// a known conversation costs only the contact's read.
func (s *Store) CachedConversationAndContact(ctx context.Context, clientID, phone string, ch model.Channel) (string, model.ContactInfo, bool, error) {
	c := &s.caches.convIDs
	key := convKey(clientID, phone, ch)
	id, ok := c.get(key)
	if ok {
		ct, err := s.ContactByPhone(ctx, clientID, phone)
		switch {
		case err == nil:
			return id, model.ContactInfo{FirstName: ct.FirstName, LastName: ct.LastName, Business: ct.Business}, true, nil
		case errors.Is(err, ErrNotFound):
			return id, model.ContactInfo{}, false, nil
		default:
			return "", model.ContactInfo{}, false, err
		}
	}
	id, contact, found, err := s.ConversationAndContact(ctx, clientID, phone, ch)
	if err != nil || id == "" {
		return id, contact, found, err
	}
	c.put(key, id)
	return id, contact, found, nil
}

func convKey(clientID, phone string, ch model.Channel) string {
	return clientID + "\x00" + phone + "\x00" + string(ch)
}

func (c *idCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.m[key]
	return id, ok
}

func (c *idCache) put(key, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 100_000 {
		c.m = map[string]string{} // bound the memory; it refills from the database
	}
	c.m[key] = id
}

// CachedClientByKeyHash is ClientByKeyHash through the same kind of cache: every API request
// authenticates. A rotation or a deactivation made through this process applies at once;
// made through another instance, within cacheTTL.
func (s *Store) CachedClientByKeyHash(ctx context.Context, hash string) (model.Client, error) {
	return s.caches.keys.get(ctx, hash, s.ClientByKeyHash)
}

// CachedClient is Client through a cache that is at most a second old (see cacheTTL). Use it
// on the hot paths (routing, delivery); answers to people use Client.
func (s *Store) CachedClient(ctx context.Context, id string) (model.Client, error) {
	return s.caches.clients.get(ctx, id, s.Client)
}

// CachedNumber is Number through the same kind of cache.
func (s *Store) CachedNumber(ctx context.Context, number string) (model.Number, error) {
	return s.caches.numbers.get(ctx, number, s.Number)
}

// dropClient forgets a cached client now and again after the commit, so that a read racing
// the transaction cannot keep the old row for the rest of the TTL.
func (tx *Tx) dropClient(id string) {
	tx.caches.clients.drop(id)
	tx.dropKeys()
	tx.after = append(tx.after, func() { tx.caches.clients.drop(id) })
}

// dropKeys forgets every cached API key (rotations and client changes are rare).
func (tx *Tx) dropKeys() {
	tx.caches.keys.clear()
	tx.caches.twilio.clear()
	tx.after = append(tx.after, tx.caches.keys.clear, tx.caches.twilio.clear)
}

// dropNumber is dropClient for numbers.
func (tx *Tx) dropNumber(number string) {
	tx.caches.numbers.drop(number)
	tx.after = append(tx.after, func() { tx.caches.numbers.drop(number) })
}
