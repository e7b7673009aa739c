package contact_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/contact"
)

func fields(n int, key, value string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("%s%d", key, i)] = value
	}
	return m
}

func tags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%02d", i)
	}
	return out
}

// The rules every contact obeys, at their limits: what the API answers and what an import
// reports for a row.
func TestDetailsCheck(t *testing.T) {
	tests := []struct {
		name      string
		d         contact.Details
		wantField string // "" when the contact is valid
		wantError string
	}{
		{"names of 256 characters are kept", contact.Details{FirstName: strings.Repeat("é", 256), Business: strings.Repeat("b", 256)}, "", ""},
		{"a first name of 257 characters is refused", contact.Details{FirstName: strings.Repeat("a", 257)},
			"first_name", "first_name must be at most 256 characters of text"},
		{"a last name with a NUL is refused", contact.Details{LastName: "a\x00b"}, "last_name", "last_name must be at most 256 characters of text"},
		{"a business that is not UTF-8 is refused", contact.Details{Business: "caf\xe9"}, "business", "business must be at most 256 characters of text"},
		{"50 custom fields are kept", contact.Details{Fields: fields(50, "k", "v")}, "", ""},
		{"51 custom fields are refused", contact.Details{Fields: fields(51, "k", "v")}, "fields", "at most 50 custom fields"},
		{"a field name of 64 bytes and a value of 1024 characters are kept",
			contact.Details{Fields: map[string]string{strings.Repeat("k", 64): strings.Repeat("é", 1024)}}, "", ""},
		{"a field name of 65 bytes is refused, and named",
			contact.Details{Fields: map[string]string{strings.Repeat("k", 65): "v"}}, "fields", `fields ("` + strings.Repeat("k", 65) + `")`},
		{"a value of 1025 characters is refused, and its field named",
			contact.Details{Fields: map[string]string{"notes": strings.Repeat("v", 1025)}}, "fields",
			`fields ("notes"): custom field names are 1-64 bytes and values at most 1024 characters of text`},
		{"an empty field name is refused", contact.Details{Fields: map[string]string{"": "v"}}, "fields", "custom field names"},
		{"50 tags are kept", contact.Details{Tags: tags(50)}, "", ""},
		{"51 tags are refused", contact.Details{Tags: tags(51)}, "tags", "at most 50 tags"},
		{"a tag of 101 characters is refused", contact.Details{Tags: []string{strings.Repeat("t", 101)}}, "tags", "tags are 1-100 characters of text"},
		{"a blank tag is refused", contact.Details{Tags: []string{" "}}, "tags", "tags are 1-100 characters of text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Check()
			var fe *contact.FieldError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Check = %v, want the contact kept", err)
			case tt.wantField != "" && !errors.As(err, &fe):
				t.Errorf("Check = %v, want a field error on %s", err, tt.wantField)
			case tt.wantField != "" && (fe.Field != tt.wantField || !strings.Contains(err.Error(), tt.wantError)):
				t.Errorf("Check = %s (field %s), want %s saying %q", err, fe.Field, tt.wantField, tt.wantError)
			}
		})
	}
}

// Check leaves a contact as it is stored: names trimmed, tags trimmed, once each, sorted.
func TestDetailsCheckNormalises(t *testing.T) {
	d := contact.Details{FirstName: "  Ann ", Tags: []string{" vip", "new", "vip "}}
	if err := d.Check(); err != nil || d.FirstName != "Ann" || !slices.Equal(d.Tags, []string{"new", "vip"}) {
		t.Errorf("Check = %v, details %+v", err, d)
	}
}

func TestPhone(t *testing.T) {
	tests := []struct {
		name, raw, want string
		missing         bool
	}{
		{"an E.164 number is kept", "+15551230001", "+15551230001", false},
		{"a national number is read in the region", "(555) 123-0001", "+15551230001", false},
		{"a blank phone is missing", "  ", "", true},
		{"letters are not a phone", "call me", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := contact.Phone(tt.raw, "US")
			var fe *contact.FieldError
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Errorf("Phone = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.As(err, &fe) || fe.Field != "phone" || fe.Missing != tt.missing {
				t.Errorf("Phone = %q, %v; want a phone error (missing %t)", got, err, tt.missing)
			}
		})
	}
}

func TestTag(t *testing.T) {
	tests := []struct {
		name    string
		tag     string
		ok      bool
		notText bool
	}{
		{"no tag is fine", "", true, false},
		{"100 characters are fine", strings.Repeat("é", 100), true, false},
		{"101 characters are too many", strings.Repeat("t", 101), false, false},
		{"a NUL is not text", "a\x00b", false, true},
		{"bytes that are not UTF-8 are not text", "a\xffb", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := contact.Tag(tt.tag)
			var fe *contact.FieldError
			if tt.ok != (err == nil) || (!tt.ok && (!errors.As(err, &fe) || fe.Field != "tag" || fe.NotText != tt.notText)) {
				t.Errorf("Tag(%.20q) = %v, want ok %t (not text %t)", tt.tag, err, tt.ok, tt.notText)
			}
		})
	}
}
