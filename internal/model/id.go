// Package model holds Ibiki's plain domain types and typed enums. It has no SQL and no HTTP.
package model

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
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

// NewIDAt is NewID for a given time (tests use a fixed clock). Within one process, ids made in
// the same millisecond still sort in the order they were made: the random part of the next
// one is the previous one's plus one, so "newest first" never shuffles a burst of messages.
func NewIDAt(prefix string, t time.Time) string {
	ms := uint64(t.UnixMilli())
	idMu.Lock()
	var b [16]byte
	if ms <= idLastMS {
		ms = idLastMS // the clock went back, or the same millisecond: keep counting up
		b = idLast
		for i := 15; i >= 6; i-- {
			if b[i]++; b[i] != 0 {
				break
			}
		}
	} else {
		binary.BigEndian.PutUint64(b[:8], ms<<16)
		_, _ = rand.Read(b[6:])
		b[6] &= 0x7f // leave room to count up within the millisecond
	}
	idLastMS, idLast = ms, b
	idMu.Unlock()
	return prefix + "_" + lowerBase32.EncodeToString(b[:])
}

var (
	idMu     sync.Mutex
	idLastMS uint64
	idLast   [16]byte
)

// Prefixes of the ids Ibiki hands out.
const (
	PrefixMessage      = "msg"
	PrefixConversation = "conv"
	PrefixContact      = "ct"
	PrefixDelivery     = "evt"
	PrefixAttempt      = "att"
	PrefixAPIKey       = "key"
	PrefixLedger       = "led"
	PrefixUser         = "usr"
	PrefixAudit        = "aud"
	PrefixAutoReply    = "ar"
	PrefixService      = "svc"
	PrefixExchange     = "sx"
)

// IDFloor is the smallest id NewIDAt could give at t: "prefix_… >= IDFloor(prefix, t)" selects
// the ids made at t or later through the primary key, without a time index.
func IDFloor(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	return prefix + "_" + lowerBase32.EncodeToString(b[:])
}

// HexOfID returns the 32 hex digits of the 16 bytes behind an id of this prefix (what a
// Twilio-shaped SID shows after its two letters), and false for anything NewID could not make.
func HexOfID(prefix, id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(rest) != 26 {
		return "", false
	}
	b, err := lowerBase32.DecodeString(rest)
	if err != nil || len(b) != 16 || lowerBase32.EncodeToString(b) != rest {
		return "", false
	}
	return hex.EncodeToString(b), true
}

// IDOfHex is HexOfID reversed: the id of this prefix whose bytes are the 32 hex digits h
// (lowercase or uppercase).
func IDOfHex(prefix, h string) (string, bool) {
	if len(h) != 32 {
		return "", false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", false
	}
	return prefix + "_" + lowerBase32.EncodeToString(b), true
}
