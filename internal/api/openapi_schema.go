package api

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
)

// The OpenAPI document's schemas are derived by reflection from the Go types the handlers
// decode and encode, so that the document follows the code: json tags name the fields, a
// pointer is nullable, omitempty makes a field optional, a nil-able embedded struct's fields are
// optional too. Answers name every field that is always there as required and no other
// (additionalProperties: false), so that the e2e tests' validation catches a field that appears
// or disappears; request bodies refuse unknown fields, as respond.Decode does.

// schema is a JSON Schema (2020-12, the dialect of OpenAPI 3.1).
type schema = map[string]any

// direction tells a request body's schema from an answer's.
type direction int

const (
	answer direction = iota
	request
)

// schemaSet derives schemas and keeps the named ones, which the document shows once under
// components/schemas and refers to.
type schemaSet struct {
	names map[reflect.Type]string
	about map[string]string // a named schema's description
	defs  map[string]schema
}

// newSchemaSet knows the answer types shown by name.
func newSchemaSet() *schemaSet {
	s := &schemaSet{names: map[reflect.Type]string{}, about: map[string]string{}, defs: map[string]schema{}}
	for _, n := range namedSchemas {
		s.names[n.t] = n.name
		s.about[n.name] = n.about
	}
	return s
}

// namedSchema is an answer type shown under components/schemas.
type namedSchema struct {
	t     reflect.Type
	name  string
	about string
}

func named[T any](name, about string) namedSchema {
	return namedSchema{t: reflect.TypeFor[T](), name: name, about: about}
}

// enumValues are the values of the API's enumerated strings.
var enumValues = map[reflect.Type][]string{
	reflect.TypeFor[model.Direction]():       {"inbound", "outbound"},
	reflect.TypeFor[model.Channel]():         {"sms", "whatsapp", "voice"},
	reflect.TypeFor[model.MessageStatus]():   {"received", "blocked", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "unknown", "canceled"},
	reflect.TypeFor[model.RoutedBy]():        {"number", "business", "contact", "last_sender", "conversation", "assigned", "unrouted", "outbound", ""},
	reflect.TypeFor[model.CampaignStatus]():  {"creating", "draft", "scheduled", "sending", "paused", "completed", "cancelled", "failed"},
	reflect.TypeFor[model.RecipientStatus](): {"pending", "queued", "opted_out", "cancelled"},
	reflect.TypeFor[model.LedgerKind]():      {"top_up", "charge", "refund", "adjustment"},
	reflect.TypeFor[model.EventType]():       {"message.received", "message.status", "message.opt_out", "message.opt_in", "flow.completed", "webhook.test"},
	reflect.TypeFor[model.DeliveryFormat]():  {"standard", "twilio"},
	reflect.TypeFor[model.VoiceAction]():     {"say", "forward", "voicemail"},
}

// requestEnumExtra are the values a request may also give: "" is the default channel.
var requestEnumExtra = map[reflect.Type][]string{
	reflect.TypeFor[model.Channel](): {""},
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// fieldKey names a field of a struct by its JSON name.
type fieldKey struct {
	t    reflect.Type
	name string
}

// fieldSchemas are the fields whose values the type alone does not tell.
var fieldSchemas = map[fieldKey]schema{
	{reflect.TypeFor[sendIn](), "to"}: {"type": "string",
		"description": "The recipient: E.164, a national number (IBIKI_DEFAULT_REGION), or whatsapp:+…"},
	{reflect.TypeFor[autoReplyIO](), "channel"}: {"type": "string", "enum": []any{"sms", "whatsapp", ""},
		"description": "The channel the rule answers on; \"\" for any."},
}

// of is the schema of t in direction d: a reference for a named answer type.
func (s *schemaSet) of(t reflect.Type, d direction) schema {
	if t == rawMessageType {
		return schema{} // any JSON value
	}
	if name, ok := s.names[t]; ok && d == answer {
		if _, done := s.defs[name]; !done {
			s.defs[name] = schema{} // a placeholder while it is built (a type may contain itself)
			def := s.build(t, d)
			if about := s.about[name]; about != "" {
				def["description"] = about
			}
			s.defs[name] = def
		}
		return ref(name)
	}
	return s.build(t, d)
}

func ref(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }

func (s *schemaSet) build(t reflect.Type, d direction) schema {
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(s.of(t.Elem(), d))
	case reflect.String:
		out := schema{"type": "string"}
		if vals, ok := enumValues[t]; ok {
			if d == request {
				vals = append(slices.Clone(vals), requestEnumExtra[t]...)
			}
			out["enum"] = anySlice(vals)
		}
		return out
	case reflect.Bool:
		return schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return schema{"type": "string", "contentEncoding": "base64"}
		}
		return schema{"type": "array", "items": s.of(t.Elem(), d)}
	case reflect.Map:
		return schema{"type": "object", "additionalProperties": s.of(t.Elem(), d)}
	case reflect.Struct:
		return s.object(t, d)
	}
	return schema{} // an interface: any JSON value
}

// object is a struct's schema: its JSON fields, with those of embedded structs.
func (s *schemaSet) object(t reflect.Type, d direction) schema {
	props := schema{}
	var required []string
	s.fields(t, d, props, &required, true)
	out := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		slices.Sort(required)
		out["required"] = anySlice(required)
	}
	return out
}

// fields adds t's JSON fields to props; always tells whether they are always present (not
// under a nil-able embedded pointer).
func (s *schemaSet) fields(t reflect.Type, d direction, props schema, required *[]string, always bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft, ptr := f.Type, f.Type.Kind() == reflect.Pointer
			if ptr {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				s.fields(ft, d, props, required, always && !ptr)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := s.of(f.Type, d)
		if o, ok := fieldSchemas[fieldKey{t, name}]; ok {
			fs = o
		}
		if d == answer && strings.HasSuffix(name, "_at") && isString(f.Type) {
			fs = withFormat(fs, "date-time")
		}
		props[name] = fs
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if d == answer && always && !optional {
			*required = append(*required, name)
		}
	}
}

func isString(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.String
}

// withFormat adds a format to a string schema (nullable or not).
func withFormat(sch schema, format string) schema {
	out := clone(sch)
	out["format"] = format
	return out
}

// nullable lets sch be null too.
func nullable(sch schema) schema {
	t, ok := sch["type"].(string)
	if !ok {
		return schema{"anyOf": []any{sch, schema{"type": "null"}}}
	}
	out := clone(sch)
	out["type"] = []any{t, "null"}
	if e, ok := out["enum"].([]any); ok {
		out["enum"] = append(slices.Clone(e), nil)
	}
	return out
}

func clone(sch schema) schema {
	out := make(schema, len(sch)+1)
	for k, v := range sch {
		out[k] = v
	}
	return out
}

func anySlice[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}
