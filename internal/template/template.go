// Package template fills message templates such as "Hello [firstname|there], your order is
// ready" from a recipient's fields. It is pure; bulk sends and campaigns use it.
package template

import (
	"fmt"
	"strings"
)

// Template is a parsed message template: literal text and [field] or [field|default] tokens.
type Template struct {
	parts []part
}

type part struct {
	text     string // literal text, or the field key of a token
	field    bool
	def      string
	hasDef   bool
	original string // the token as written, for error messages
}

// MissingError says which field a recipient lacks (a token without a default).
type MissingError struct{ Field string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("no value for [%s] and the template gives no default ([%s|...])", e.Field, e.Field)
}

// Key normalises a field name: case, spaces, underscores and dashes do not matter, so
// [First Name], [first_name] and [firstname] are one field.
func Key(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r != ' ' && r != '_' && r != '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Parse reads a template. A "[" that does not open a well-formed token ([name] or
// [name|default], the name made of letters, digits, spaces, "_" and "-") is literal text.
func Parse(s string) *Template {
	t := &Template{}
	lit := strings.Builder{}
	for len(s) > 0 {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, ']')
		if j < 0 {
			lit.WriteString(s)
			break
		}
		inner := s[1:j]
		name, def, hasDef := strings.Cut(inner, "|")
		if !validName(name) {
			lit.WriteByte('[')
			s = s[1:]
			continue
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{text: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, part{text: Key(name), field: true, def: def, hasDef: hasDef, original: strings.TrimSpace(name)})
		s = s[j+1:]
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{text: lit.String()})
	}
	return t
}

func validName(name string) bool {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Fields lists the field keys the template uses.
func (t *Template) Fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.field {
			out = append(out, p.text)
		}
	}
	return out
}

// Render fills the template. fields is keyed by Key(name); an empty value counts as missing.
func (t *Template) Render(fields map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if !p.field {
			b.WriteString(p.text)
			continue
		}
		v := strings.TrimSpace(fields[p.text])
		switch {
		case v != "":
			b.WriteString(v)
		case p.hasDef:
			b.WriteString(p.def)
		default:
			return "", &MissingError{Field: p.original}
		}
	}
	return b.String(), nil
}
