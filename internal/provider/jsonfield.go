package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/text"
)

// MaxBodyRunes bounds an inbound message body. Concatenated SMS rarely pass 10 parts (~1,600
// characters); the margin leaves room for other channels while keeping one row small.
const MaxBodyRunes = 5000

// Fields is one JSON object from a provider with its values still undecoded. Adapters read the
// fields one by one, so every type or format error names the field (as FieldError) instead of
// surfacing as one opaque json.Unmarshal error, and unknown fields are ignored for free.
type Fields map[string]json.RawMessage

// DecodeFields decodes body as a JSON object. Anything else (an array, a bare value, null,
// invalid JSON) is ErrMalformed: the sender is not speaking the expected protocol at all.
func DecodeFields(body []byte) (Fields, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if f, ok := flatFields(trimmed); ok {
		return f, nil
	}
	var f Fields
	if err := json.Unmarshal(trimmed, &f); err != nil {
		return nil, fmt.Errorf("%w: body is not valid JSON", ErrMalformed)
	}
	return f, nil
}

// flatFields reads the common webhook, one object whose keys are plain and whose values are
// plain strings or whole numbers, without encoding/json, which first scans the whole body to
// validate it and then again to split it. Anything else (an escape, a nested value, a duplicate
// key, a literal) it leaves to json.Unmarshal: what it answers, json.Unmarshal answers (fuzzed).
// obj starts with '{' and has no surrounding space.
func flatFields(obj []byte) (Fields, bool) {
	f := make(Fields, 8)
	i := skipSpace(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return f, i == len(obj)-1
	}
	for {
		key, j, ok := plainToken(obj, i)
		if !ok || key[0] != '"' {
			return nil, false
		}
		k := string(key[1 : len(key)-1])
		if _, dup := f[k]; dup {
			return nil, false
		}
		if j = skipSpace(obj, j); j >= len(obj) || obj[j] != ':' {
			return nil, false
		}
		val, j, ok := plainToken(obj, skipSpace(obj, j+1))
		if !ok {
			return nil, false
		}
		f[k] = json.RawMessage(bytes.Clone(val))
		if j = skipSpace(obj, j); j >= len(obj) {
			return nil, false
		}
		switch obj[j] {
		case '}':
			return f, j == len(obj)-1
		case ',':
			i = skipSpace(obj, j+1)
		default:
			return nil, false
		}
	}
}

// plainToken returns the JSON value at obj[i:] when it is a plain string (see plainString) or
// a whole number without sign, fraction or leading zero, and the index after it.
func plainToken(obj []byte, i int) (tok []byte, next int, ok bool) {
	if i >= len(obj) {
		return nil, 0, false
	}
	if c := obj[i]; c >= '1' && c <= '9' {
		j := i + 1
		for j < len(obj) && obj[j] >= '0' && obj[j] <= '9' {
			j++
		}
		return obj[i:j], j, true
	}
	if obj[i] != '"' {
		return nil, 0, false
	}
	end := bytes.IndexByte(obj[i+1:], '"')
	if end < 0 {
		return nil, 0, false
	}
	if !plainChars(obj[i+1 : i+1+end]) {
		return nil, 0, false
	}
	return obj[i : i+end+2], i + end + 2, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// String returns the named field when it is a JSON string; ok is false when the field is
// missing or null, which the providers use interchangeably. Strings that are not text (a NUL
// byte) are refused because PostgreSQL TEXT cannot store them.
func (f Fields) String(name string) (s string, ok bool, err error) {
	raw, present := f[name]
	if !present || string(raw) == "null" {
		return "", false, nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", false, &FieldError{Field: name, Reason: "must be a string"}
	}
	if plain, ok := plainString(raw); ok {
		s = plain
	} else if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, &FieldError{Field: name, Reason: "must be a string"}
	}
	if reason := NotText(s); reason != "" {
		return "", false, &FieldError{Field: name, Reason: reason}
	}
	return s, true, nil
}

// NotText says why s cannot be stored as text (package text): "contains a NUL byte", or
// "contains bytes that are not UTF-8" (which JSON strings never do: encoding/json reads such
// bytes as U+FFFD); "" when it is text. Adapters use it for what they read outside Fields.
func NotText(s string) string {
	switch text.Check(s) {
	case text.NUL:
		return "contains a NUL byte"
	case text.NotUTF8:
		return "contains bytes that are not UTF-8"
	}
	return ""
}

// plainString reads a JSON string literal that needs no decoding: no escapes, no control
// characters, valid UTF-8 (what json.Unmarshal would return unchanged). Most provider fields are
// such, and this skips a decoder per field; anything else is left to json.Unmarshal.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if !plainChars(in) {
		return "", false
	}
	return string(in), true
}

// plainChars: no quote, backslash or control character, and valid UTF-8.
func plainChars(in []byte) bool {
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(in)
}

// StringOrInt is String that also takes a JSON whole number and returns its decimal text as
// written. Providers send phone numbers and ids as numbers; reading the literal text instead of
// a float64 keeps every digit of a 15-digit number.
func (f Fields) StringOrInt(name string) (s string, ok bool, err error) {
	raw := f[name]
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return f.String(name)
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return "", false, &FieldError{Field: name, Reason: "must be a string or a non-negative whole number"}
		}
	}
	return string(raw), true, nil
}

// Text returns an optional string field trimmed of surrounding space, "" when missing or null,
// and refuses more than maxRunes characters so one field cannot bloat a stored row.
func (f Fields) Text(name string, maxRunes int) (string, error) {
	s, _, err := f.String(name)
	if err != nil {
		return "", err
	}
	return limit(name, strings.TrimSpace(s), maxRunes)
}

// TextOrInt is Text for fields that providers may also send as a JSON whole number.
func (f Fields) TextOrInt(name string, maxRunes int) (string, error) {
	s, _, err := f.StringOrInt(name)
	if err != nil {
		return "", err
	}
	return limit(name, strings.TrimSpace(s), maxRunes)
}

// Phone returns a required sender number in E.164.
func (f Fields) Phone(name, region string) (string, error) {
	s, _, err := f.StringOrInt(name)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", Required(name)
	}
	e164, err := sms.NormalizeE164(s, region)
	if err != nil {
		return "", &FieldError{Field: name, Reason: err.Error()}
	}
	return e164, nil
}

// Address returns an optional receiving number: E.164 or a short code, "" when absent.
func (f Fields) Address(name, region string) (string, error) {
	s, _, err := f.StringOrInt(name)
	if err != nil || strings.TrimSpace(s) == "" {
		return "", err
	}
	addr, err := sms.NormalizeAddress(s, region)
	if err != nil {
		return "", &FieldError{Field: name, Reason: err.Error()}
	}
	return addr, nil
}

// Body returns a required message text, kept exactly as sent (spaces can matter to the reader).
// An empty string is accepted: an MMS without text or a blank SMS is still a message.
func (f Fields) Body(name string) (string, error) {
	s, ok, err := f.String(name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", Required(name)
	}
	return limit(name, s, MaxBodyRunes)
}

// Status returns an inbound status, received when absent: providers that know nothing of
// blocking send no status at all.
func (f Fields) Status(name string) (model.MessageStatus, error) {
	s, err := f.Text(name, 32)
	if err != nil {
		return "", err
	}
	switch strings.ToLower(s) {
	case "", string(model.StatusReceived):
		return model.StatusReceived, nil
	case string(model.StatusBlocked):
		return model.StatusBlocked, nil
	}
	return "", &FieldError{Field: name, Reason: "must be one of: received, blocked"}
}

// Time returns an optional RFC 3339 timestamp (fractional seconds optional) in UTC, and the text
// as sent so that it can be kept for the operator; both are zero when absent.
func (f Fields) Time(name string) (t time.Time, raw string, err error) {
	raw, err = f.Text(name, 64)
	if err != nil || raw == "" {
		return time.Time{}, "", err
	}
	t, err = time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, "", &FieldError{Field: name, Reason: "must be an RFC 3339 timestamp"}
	}
	return t.UTC(), raw, nil
}

// DeriveMessageID returns a stable id for a provider message that came without one, so that a
// retried webhook still hits the unique (provider, provider_message_id) constraint. It needs the
// provider's timestamp: without it two genuine identical texts ("ok") from one phone would
// collapse into one, so callers leave the id empty instead. from, to and at cannot contain "|",
// and body comes last, so the joined input is unambiguous.
func DeriveMessageID(from, to string, at time.Time, body string) string {
	sum := sha256.Sum256([]byte(from + "|" + to + "|" + at.UTC().Format(time.RFC3339Nano) + "|" + body))
	return "sha256:" + hex.EncodeToString(sum[:])[:32]
}

func limit(name, s string, maxRunes int) (string, error) {
	if utf8.RuneCountInString(s) > maxRunes {
		return "", &FieldError{Field: name, Reason: fmt.Sprintf("must be at most %d characters", maxRunes)}
	}
	return s, nil
}
