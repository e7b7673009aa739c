package respond

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// Most creating requests are a flat JSON object of plain strings ({"to":"+4670…","body":"hi"}),
// and encoding/json's Decoder spends far more on them (a read buffer, a scan to find the
// value's end, a second scan to decode it, reflection per field) than their few bytes need.
// decodeFlat reads that shape straight into a struct of string fields and declines everything
// else, which DecodeBytes then hands to encoding/json as before: only bodies whose answer is
// certain are read here, so the result, and every error, stay encoding/json's.

// flatField is a string or *string field of a struct that decodeFlat may fill.
type flatField struct {
	name  string // its JSON name, matched exactly
	index int
	ptr   bool // *string
}

// flatFields caches, per struct type, its decodable fields (nil: decodeFlat declines the type).
var flatFields sync.Map // reflect.Type -> []flatField

// fieldsOf returns the fields of t, a struct type, when every exported field is a string or
// *string named plainly (a JSON name of its own, no ",string", not embedded); nil otherwise.
func fieldsOf(t reflect.Type) []flatField {
	if f, ok := flatFields.Load(t); ok {
		return f.([]flatField)
	}
	var fields []flatField
	// A type that decodes itself is encoding/json's to read.
	ok := !reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			ok = false
			break
		}
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" || strings.Contains(opts, "string") || !plainName(name) {
			ok = false // names from Go field names, "-", and quoted strings are encoding/json's
			break
		}
		switch {
		case sf.Type == reflect.TypeFor[string]():
			fields = append(fields, flatField{name: name, index: i})
		case sf.Type == reflect.TypeFor[*string]():
			fields = append(fields, flatField{name: name, index: i, ptr: true})
		default:
			ok = false
		}
		if !ok {
			break
		}
	}
	if !ok {
		fields = nil
	}
	for _, f := range fields {
		for _, g := range fields {
			if f.index != g.index && strings.EqualFold(f.name, g.name) {
				fields = nil // encoding/json's precedence rules decide between them
			}
		}
	}
	flatFields.Store(t, fields)
	return fields
}

// plainName: lower-case ASCII letters, digits and underscores, as every JSON name of the API is.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// decodeFlat decodes body into v when v points to a struct that fieldsOf accepts and body is
// one JSON object whose keys are exactly field names, each once, and whose values are strings
// without escapes and of valid UTF-8, with nothing but white space after it. It reports whether
// it did; when it did not, v is untouched.
func decodeFlat(body []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	fields := fieldsOf(rv.Elem().Type())
	if len(fields) == 0 || len(fields) > 16 {
		return false
	}
	var (
		vals [16]string
		seen uint32
	)
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := plainString(body, i)
			if !ok {
				return false
			}
			k := -1
			for n, f := range fields {
				if f.name == key {
					k = n
					break
				}
			}
			if k < 0 || seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			j = skipSpace(body, j)
			if j >= len(body) || body[j] != ':' {
				return false
			}
			val, j, ok := plainString(body, skipSpace(body, j+1))
			if !ok {
				return false
			}
			vals[k] = val
			j = skipSpace(body, j)
			if j >= len(body) {
				return false
			}
			if body[j] == '}' {
				i = j + 1
				break
			}
			if body[j] != ',' {
				return false
			}
			i = skipSpace(body, j+1)
		}
	}
	if skipSpace(body, i) != len(body) {
		return false
	}
	st := rv.Elem()
	for n, f := range fields {
		if seen&(1<<n) == 0 {
			continue
		}
		fv := st.Field(f.index)
		if f.ptr {
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			fv = fv.Elem()
		}
		fv.SetString(vals[n])
	}
	return true
}

// plainString reads the JSON string at body[i:] when it has no escape, no control character
// and only valid UTF-8 (which encoding/json reads as it is), returning it and the index after it.
func plainString(body []byte, i int) (string, int, bool) {
	if i >= len(body) || body[i] != '"' {
		return "", 0, false
	}
	start, ascii := i+1, true
	for j := start; j < len(body); j++ {
		switch c := body[j]; {
		case c == '"':
			s := body[start:j]
			if !ascii && !utf8.Valid(s) {
				return "", 0, false
			}
			return string(s), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte at or after i that is not JSON white space.
func skipSpace(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i
}
