// Package model holds Ibiki's plain domain types and typed enums. It has no SQL and no HTTP.
package model

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// lowerBase32 is Crockford-like lowercase base32 without padding; ids stay URL-safe and readable.
var lowerBase32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix + "_" + a 26-character id whose first 10 characters encode the current
// time in milliseconds. Time-ordered ids keep B-tree inserts at the end of the index (cheap
// writes) and make "newest first" a plain ORDER BY id.
func NewID(prefix string) string {
	return NewIDAt(prefix, time.Now())
}

// NewIDAt is NewID for a given time (tests use a fixed clock).
func NewIDAt(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return prefix + "_" + lowerBase32.EncodeToString(b[:])
}

// Prefixes of the ids Ibiki hands out.
const (
	PrefixMessage      = "msg"
	PrefixConversation = "conv"
	PrefixContact      = "ct"
	PrefixDelivery     = "evt"
	PrefixAttempt      = "att"
	PrefixAPIKey       = "key"
)
