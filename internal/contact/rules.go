// Package contact owns a client's contacts and suppression list: the rules a contact obeys
// (names, custom fields, tags, phone), whichever way it arrives (the API, the dashboard, every
// row of an import), and the writes that create, change and remove contacts under the
// operator's "one phone, one client" rule.
package contact

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/text"
)

// Limits of a contact: generous for names, small enough to keep rows, pages and exports sane.
const (
	MaxNameLen   = 256  // characters of a first name, last name or business
	MaxFields    = 50   // custom fields of one contact
	MaxFieldKey  = 64   // bytes of a custom field's name
	MaxFieldText = 1024 // characters of a custom field's value
	MaxTags      = 50   // tags of one contact
	MaxTagLen    = 100  // characters of a tag
)

// FieldError is a contact field that breaks a rule. Field is the field as the API names it
// (phone, first_name, last_name, business, fields, tags); Name, for a custom field, is the
// field's own name (the column of an import). Message is the rule, written for the person
// who filled the field in.
type FieldError struct {
	Field   string
	Name    string
	Missing bool // the field is required and empty
	NotText bool // the value is not text (package text) a database can hold (a NUL byte, invalid UTF-8)
	Message string
}

// Error names the custom field when there is one, so that an import's report says which
// column of the row is wrong.
func (e *FieldError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("%s (%q): %s", e.Field, e.Name, e.Message)
	}
	return e.Message
}

// Phone reads a required phone into E.164 (a national number in region's format).
func Phone(raw, region string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", &FieldError{Field: "phone", Missing: true, Message: "phone is required"}
	}
	phone, err := sms.NormalizeE164(raw, region)
	if err != nil {
		return "", &FieldError{Field: "phone", Message: err.Error()}
	}
	return phone, nil
}

// Name trims a name field (first_name, last_name or business) and checks it.
func Name(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) > MaxNameLen || !text.Valid(v) {
		return "", &FieldError{Field: field, Message: field + " must be at most 256 characters of text"}
	}
	return v, nil
}

// Tags trims tags, drops repeats and sorts them, and checks their number and length.
func Tags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, &FieldError{Field: "tags", Message: "at most 50 tags"}
	}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || !tagText(t) {
			return nil, &FieldError{Field: "tags", Message: "tags are 1-100 characters of text"}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Tag checks one tag given apart from a contact's own (an import's tag for every row): "" is
// no tag.
func Tag(t string) error {
	if t != "" && !tagText(t) {
		return &FieldError{Field: "tag", NotText: !text.Valid(t), Message: "tag must be at most 100 characters"}
	}
	return nil
}

func tagText(t string) bool { return utf8.RuneCountInString(t) <= MaxTagLen && text.Valid(t) }

// Fields checks a contact's custom fields: how many, and each name and value. The first field
// that breaks a rule (by name, so the answer does not change from one try to the next) is
// named in the error.
func Fields(fields map[string]string) error {
	if len(fields) > MaxFields {
		return &FieldError{Field: "fields", Message: "at most 50 custom fields"}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := fields[k]
		if k == "" || len(k) > MaxFieldKey || utf8.RuneCountInString(v) > MaxFieldText || !text.Valid(k) || !text.Valid(v) {
			return &FieldError{Field: "fields", Name: k,
				Message: "custom field names are 1-64 bytes and values at most 1024 characters of text"}
		}
	}
	return nil
}

// Details are what a contact holds besides its phone.
type Details struct {
	FirstName, LastName, Business string
	Fields                        map[string]string
	Tags                          []string
}

// Check applies every rule but the phone's to d, in place (names trimmed, tags deduplicated
// and sorted): the rules of one row of an import, the same as the API's.
func (d *Details) Check() (err error) {
	if err := d.names(); err != nil {
		return err
	}
	if err := Fields(d.Fields); err != nil {
		return err
	}
	d.Tags, err = Tags(d.Tags)
	return err
}

// names trims and checks the three names, in the order the API documents them.
func (d *Details) names() (err error) {
	for _, n := range []struct {
		field string
		v     *string
	}{{"first_name", &d.FirstName}, {"last_name", &d.LastName}, {"business", &d.Business}} {
		if *n.v, err = Name(n.field, *n.v); err != nil {
			return err
		}
	}
	return nil
}
