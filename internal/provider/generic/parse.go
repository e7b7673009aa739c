// Package generic is the adapter for any aggregator without an adapter of its own: it accepts
// one documented, neutral JSON shape that a small relay (or the aggregator's own templating)
// can produce. POST it to /webhooks/{name} of a generic entry (/webhooks/generic by default):
//
//	{
//	  "message_id": "abc123",               // optional, ≤ 128 characters; string or whole number
//	  "from": "+15551234567",               // required; E.164, or national for the configured region
//	  "to": "+15557654321",                 // optional; E.164, national, or a 3–8 digit short code
//	  "body": "hello",                      // required, may be ""; ≤ 5000 characters
//	  "timestamp": "2025-09-23T23:23:20Z",  // optional; RFC 3339, fractional seconds optional
//	  "channel": "sms",                     // optional; only "sms" for now
//	  "status": "received",                 // optional; "received" (default) or "blocked"
//	  "matched_block_word": "",             // optional, ≤ 64 characters: the opt-out word the aggregator matched
//	  "business": "",                       // optional, ≤ 256 characters
//	  "first_name": "",                     // optional, ≤ 256 characters
//	  "last_name": "",                      // optional, ≤ 256 characters
//	  "meta": {"k": "v"}                    // optional; ≤ 20 string values, keys ≤ 64, values ≤ 512 characters
//	}
//
// Any optional field may also be null or left out, and unknown fields are ignored. Strings must
// not contain NUL bytes. When message_id is missing but timestamp is given, Ibiki derives a
// stable id from from, to, timestamp and body, so a retried webhook is not stored twice.
//
// An entry of the providers file may rename these fields for one aggregator, read its numbers
// for another region and its timestamps in another format, and take the fields as a form or a
// GET query string instead of JSON (Config, Source): an aggregator's own callbacks then need
// configuration, not code.
package generic

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// Name is the adapter's type, and the name of the entry configured by default, hence the
// provider of the messages posted to /webhooks/generic (Parse records it).
const Name = "generic"

// Limits on the optional fields; see the package documentation.
const (
	maxMetaKeys       = 20
	maxMetaKeyRunes   = 64
	maxMetaValueRunes = 512
)

// Parse reads one message in the generic shape (see the package documentation). region is the
// country assumed for numbers written without a country code. Errors are provider.ErrMalformed
// (not a JSON object) or a *provider.FieldError naming the JSON field.
func Parse(body []byte, region string) (provider.Inbound, error) {
	f, err := provider.DecodeFields(body)
	if err != nil {
		return provider.Inbound{}, err
	}
	in, err := defaultShape.read(f, region)
	in.Provider = Name
	return in, err
}

// names are the generic shape's JSON names for the common fields.
var names = provider.Names{From: "from", Body: "body", To: "to", Status: "status",
	BlockWord: "matched_block_word", FirstName: "first_name", LastName: "last_name", Business: "business",
	Timestamp: "timestamp", MessageID: "message_id"}

// shape is how one generic entry's provider names its fields and writes its timestamps: the
// documented names unless the entry maps them (Config.Fields).
type shape struct {
	names         provider.Names
	channel, meta string
	// formNames are the names read from a form (provider.FormFields reads only these): all but
	// meta, an object, which a form cannot carry.
	formNames []string
}

var defaultShape = newShape(names, "channel", "meta")

func newShape(n provider.Names, channel, meta string) *shape {
	return &shape{names: n, channel: channel, meta: meta, formNames: []string{n.From, n.Body, n.To, n.Status, n.BlockWord,
		n.FirstName, n.LastName, n.Business, n.Timestamp, n.MessageID, channel}}
}

// read reads one message from its fields; errors name the fields as the provider does.
func (s *shape) read(f provider.Fields, region string) (provider.Inbound, error) {
	in, _, err := f.Common(s.names, region)
	if err != nil {
		return provider.Inbound{}, err
	}
	if in.Channel, err = channel(f, s.channel); err != nil {
		return provider.Inbound{}, err
	}
	if in.Meta, err = meta(f, s.meta); err != nil {
		return provider.Inbound{}, err
	}
	return in, nil
}

// channel accepts only SMS for now; the field exists from the start so that relays can send it
// and keep working when WhatsApp arrives, instead of "whatsapp:" prefixes on numbers.
func channel(f provider.Fields, name string) (model.Channel, error) {
	s, err := f.Text(name, 32)
	if err != nil {
		return "", err
	}
	if s == "" || strings.EqualFold(s, string(model.ChannelSMS)) {
		return model.ChannelSMS, nil
	}
	return "", &provider.FieldError{Field: name, Reason: "supported: sms"}
}

// meta reads the free-form extras. They are stored and shown, never interpreted, so they are
// bounded in count and size rather than validated; nil when there are none.
func meta(f provider.Fields, name string) (map[string]string, error) {
	raw := f[name]
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, metaErr(name, "must be an object of strings")
	}
	var vals map[string]json.RawMessage
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, metaErr(name, "must be an object of strings")
	}
	if len(vals) > maxMetaKeys {
		return nil, metaErr(name, fmt.Sprintf("must have at most %d keys", maxMetaKeys))
	}
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	// Sorted, so that of several bad entries the same one is reported every time.
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		s, err := metaValue(name, k, vals[k])
		if err != nil {
			return nil, err
		}
		m[k] = s
	}
	return m, nil
}

// metaValue checks one meta entry; the key is quoted in the reason so the sender can find it.
func metaValue(name, key string, raw json.RawMessage) (string, error) {
	switch {
	case key == "" || utf8.RuneCountInString(key) > maxMetaKeyRunes:
		return "", metaErr(name, fmt.Sprintf("keys must be 1 to %d characters", maxMetaKeyRunes))
	case provider.NotText(key) != "":
		return "", metaErr(name, "a key "+provider.NotText(key))
	}
	// Reuse the field reader so values follow the same string and NUL rules as top-level fields.
	s, ok, err := provider.Fields{key: raw}.String(key)
	var fe *provider.FieldError
	switch {
	case errors.As(err, &fe):
		return "", metaErr(name, fmt.Sprintf("value of %q %s", key, fe.Reason))
	case err != nil || !ok:
		return "", metaErr(name, fmt.Sprintf("value of %q must be a string", key))
	case utf8.RuneCountInString(s) > maxMetaValueRunes:
		return "", metaErr(name, fmt.Sprintf("value of %q must be at most %d characters", key, maxMetaValueRunes))
	}
	return s, nil
}

func metaErr(name, reason string) error {
	return &provider.FieldError{Field: name, Reason: reason}
}
