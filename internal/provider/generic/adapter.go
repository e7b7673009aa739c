package generic

import (
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/sms"
)

// Config is a generic entry's own fields, all optional: without any, the entry takes the
// documented JSON shape, as the default generic entry does.
type Config struct {
	// Fields renames the shape's fields to the provider's own ({"from":"mobile","to":"shortcode"}).
	// Keys are the shape's names (fieldKeys); a field not named keeps its own.
	Fields map[string]string `json:"fields"`
	// Region is the country of numbers written without a country code ("IN"); empty:
	// IBIKI_DEFAULT_REGION.
	Region string `json:"region"`
	// TimestampFormat is how the provider writes the timestamp: "rfc3339" (the default), "unix",
	// "unix_ms", "datetime" ("2024-05-01 10:20:30") or a Go reference layout.
	TimestampFormat string `json:"timestamp_format"`
	// TimestampZone is the zone of timestamps written without an offset ("+05:30",
	// "Asia/Kolkata"); UTC when empty.
	TimestampZone string `json:"timestamp_zone"`
	// AllowGET also takes messages as the query string of GET /webhooks/{name}.
	AllowGET bool `json:"allow_get"`
}

// fieldKeys are the shape's field names, the keys of Config.Fields, in the order they are
// documented.
var fieldKeys = []string{"from", "to", "body", "message_id", "timestamp", "status", "matched_block_word",
	"business", "first_name", "last_name", "channel", "meta"}

// FromEntry builds the source of a providers-file entry: the generic inbound shape (see Parse),
// with the entry's names for its fields, as JSON or a form, at POST /webhooks/{name} (and GET,
// with allow_get). Every error names the entry's key at fault.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var cfg Config
	if err := e.Decode(&cfg); err != nil {
		return nil, err
	}
	sh, err := cfg.shape()
	if err != nil {
		return nil, err
	}
	region := env.Region
	if cfg.Region != "" {
		if region = strings.ToUpper(cfg.Region); !sms.ValidRegion(region) {
			return nil, fmt.Errorf("region: %q is not a two-letter region with a calling code", cfg.Region)
		}
	}
	if cfg.AllowGET && e.Guard.HMACSecret != "" {
		return nil, errors.New("allow_get: a GET has no body for the HMAC signature (webhook_hmac_secret) to cover; " +
			"protect this entry with webhook_token or webhook_allow_ips")
	}
	return &Source{name: e.Name, region: region, guard: e.Guard, shape: sh, get: cfg.AllowGET}, nil
}

// shape checks the entry's names and timestamp format.
func (c Config) shape() (*shape, error) {
	n, channel, meta := names, "channel", "meta"
	slots := map[string]*string{"from": &n.From, "to": &n.To, "body": &n.Body, "message_id": &n.MessageID,
		"timestamp": &n.Timestamp, "status": &n.Status, "matched_block_word": &n.BlockWord, "business": &n.Business,
		"first_name": &n.FirstName, "last_name": &n.LastName, "channel": &channel, "meta": &meta}
	for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
		slot, ok := slots[k]
		v := c.Fields[k]
		switch {
		case !ok:
			return nil, fmt.Errorf("fields.%s: not a field of the generic shape (one of %s)", k, strings.Join(fieldKeys, ", "))
		case v == "" || strings.TrimSpace(v) != v:
			return nil, fmt.Errorf("fields.%s: must be the provider's field name, without surrounding spaces", k)
		}
		*slot = v
	}
	// Two fields of one name would read one value twice: a mapping mistake.
	owner := map[string]string{}
	for _, k := range fieldKeys {
		v := *slots[k]
		if prev, dup := owner[v]; dup {
			bad, other := k, prev
			if _, set := c.Fields[k]; !set {
				bad, other = prev, k
			}
			return nil, fmt.Errorf("fields.%s: %q is also the name of %s; map %s elsewhere too", bad, v, other, other)
		}
		owner[v] = k
	}
	loc, err := provider.ParseZone(c.TimestampZone)
	if err != nil {
		return nil, fmt.Errorf("timestamp_zone: %w", err)
	}
	if n.TimestampFormat, err = provider.ParseTimeFormat(c.TimestampFormat, loc); err != nil {
		return nil, fmt.Errorf("timestamp_format: %w", err)
	}
	if c.TimestampZone != "" && !n.TimestampFormat.Zoned() {
		return nil, errors.New("timestamp_zone: applies only to a timestamp_format without an offset (datetime or a layout)")
	}
	return newShape(n, channel, meta), nil
}

// Source is a generic entry's inbound webhook.
type Source struct {
	name, region string
	guard        provider.Guard
	shape        *shape
	get          bool
}

// Supports: a source takes verified inbound messages.
func (s *Source) Supports() provider.Features {
	return provider.FeatureInbound | provider.FeatureVerify
}

// Verify applies the entry's webhook protection (the aggregators sign nothing themselves).
func (s *Source) Verify(r provider.Request) error { return s.guard.Verify(r) }

// InboundByGET: with allow_get, GET /webhooks/{name} takes messages too.
func (s *Source) InboundByGET() bool { return s.get }

// ParseInbound reads the one message of a request, recorded under the entry's name. The
// aggregators expect no particular answer.
func (s *Source) ParseInbound(r provider.Request) ([]provider.Inbound, provider.Answer, error) {
	f, err := s.fields(r)
	if err != nil {
		return nil, provider.Answer{}, err
	}
	in, err := s.shape.read(f, s.region)
	if err != nil {
		return nil, provider.Answer{}, err
	}
	in.Provider = s.name
	return []provider.Inbound{in}, provider.Answer{}, nil
}

// fields reads a request's fields by its encoding: the query of a GET; a form or a multipart
// form by Content-Type; JSON otherwise, as the generic webhook always read it (whatever the
// Content-Type said).
func (s *Source) fields(r provider.Request) (provider.Fields, error) {
	if r.HTTP.Method == http.MethodGet {
		form, err := provider.ParseForm(r.HTTP.URL.RawQuery)
		if err != nil {
			return nil, err
		}
		return provider.FormFields(form, s.shape.formNames)
	}
	ct := r.HTTP.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "application/json") {
		return decodeJSON(r.Body) // the common case, without parsing the media type
	}
	mt, params, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/x-www-form-urlencoded":
		form, err := provider.ParseForm(string(r.Body))
		if err != nil {
			return nil, err
		}
		return provider.FormFields(form, s.shape.formNames)
	case "multipart/form-data":
		form, files, err := provider.ParseMultipartForm(r.Body, params["boundary"])
		if err != nil {
			return nil, err
		}
		for _, name := range s.shape.formNames {
			if files[name] {
				return nil, &provider.FieldError{Field: name, Reason: "must be a text field, not a file"}
			}
		}
		return provider.FormFields(form, s.shape.formNames)
	}
	return decodeJSON(r.Body)
}

// decodeJSON is provider.DecodeFields, saying what to do when the body looks like a form sent
// without its Content-Type.
func decodeJSON(body []byte) (provider.Fields, error) {
	f, err := provider.DecodeFields(body)
	if err != nil && len(body) > 0 && body[0] != '{' && strings.Contains(string(body), "=") {
		return nil, fmt.Errorf("%w (a form must be sent with Content-Type: application/x-www-form-urlencoded)", err)
	}
	return f, err
}
