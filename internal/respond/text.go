package respond

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
)

// NUL characters (U+0000) are refused in every string of a JSON body, wherever it is:
// PostgreSQL cannot store them in text (the whole statement fails) and SQLite would keep them,
// so one rule at decoding keeps the two engines alike and names the field, instead of a 500 on
// one and stored garbage on the other. In JSON a NUL is written `\u0000` (a raw one is not JSON).
var escapedNUL = []byte(`\u0000`)

// checkText refuses a decoded JSON body with a NUL character in any string: a 400 whose param
// is the path of the first such string (`body`, `messages[2].body`, `contacts[0].code`: object
// fields joined by dots, array items by their index from 0, as bulk items are numbered), or of
// the object that has such a field name.
func checkText(body []byte) error {
	if !bytes.Contains(body, escapedNUL) {
		return nil // the common case: one fast scan, no decoding
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, inKey, err := findNUL(dec, "")
	switch {
	case err != nil || path == "" && !inKey:
		return nil // not JSON (Decode has refused it already), or an escaped backslash before u0000
	case inKey:
		path = cmp.Or(path, "body")
		return Invalid(path, path+" has a field name with a NUL character (U+0000); send text")
	default:
		return Invalid(path, path+" must be text without NUL characters (U+0000)")
	}
}

// findNUL reads one JSON value from dec, whose path is at, and returns the path of the first
// string in it that holds a NUL, or (inKey) of the first object with such a field name.
func findNUL(dec *json.Decoder, at string) (path string, inKey bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			if tok, err = dec.Token(); err != nil {
				return "", false, err
			}
			key, _ := tok.(string)
			if strings.IndexByte(key, 0) >= 0 {
				return at, true, nil
			}
			if path, inKey, err = findNUL(dec, join(at, key)); path != "" || inKey || err != nil {
				return path, inKey, err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if path, inKey, err = findNUL(dec, at+"["+strconv.Itoa(i)+"]"); path != "" || inKey || err != nil {
				return path, inKey, err
			}
		}
	default:
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return cmp.Or(at, "body"), false, nil
		}
		return "", false, nil
	}
	_, err = dec.Token() // the closing '}' or ']'
	return "", false, err
}

// join is the path of the field key of the object at at.
func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}
