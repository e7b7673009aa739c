package respond

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strconv"

	"github.com/ibiki/ibiki/internal/text"
)

// Every string of a JSON body, wherever it is, must be text (package text): PostgreSQL cannot
// store anything else and SQLite would keep it, so one rule at decoding keeps the two engines
// alike and names the field, instead of a 500 on one and stored garbage on the other.
// encoding/json already reads bytes that are not UTF-8, and escaped surrogate halves, as U+FFFD
// (FuzzDecodeBytes holds it to that), so the one way a JSON string can fail the rule is a NUL,
// written `\u0000` (a raw one is not JSON): a body without that is text throughout.
var escapedNUL = []byte(`\u0000`)

// NotText is the 400 for a parameter whose value is not text, saying what it holds.
func NotText(param string, f text.Flaw) *Error {
	if f == text.NUL {
		return Invalid(param, param+" must be text without NUL characters (U+0000)")
	}
	return Invalid(param, param+" must be text: it holds "+f.String())
}

// checkText refuses a decoded JSON body with a string that is not text: a 400 whose param is
// the path of the first such string (`body`, `messages[2].body`, `contacts[0].code`: object
// fields joined by dots, array items by their index from 0, as bulk items are numbered), or of
// the object that has such a field name.
func checkText(body []byte) error {
	if !bytes.Contains(body, escapedNUL) {
		return nil // the common case: one fast scan, no decoding
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, inKey, flaw, err := findNotText(dec, "")
	switch {
	case err != nil || flaw == text.OK:
		return nil // not JSON (Decode has refused it already), or an escaped backslash before u0000
	case inKey:
		path = cmp.Or(path, "body")
		return Invalid(path, path+" has a field name with "+flaw.String()+"; send text")
	default:
		return NotText(path, flaw)
	}
}

// findNotText reads one JSON value from dec, whose path is at, and returns the path of the
// first string in it that is not text, or (inKey) of the first object with such a field name,
// and the string's flaw (text.OK when there is none).
func findNotText(dec *json.Decoder, at string) (path string, inKey bool, flaw text.Flaw, err error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, text.OK, err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			if tok, err = dec.Token(); err != nil {
				return "", false, text.OK, err
			}
			key, _ := tok.(string)
			if f := text.Check(key); f != text.OK {
				return at, true, f, nil
			}
			if path, inKey, flaw, err = findNotText(dec, join(at, key)); flaw != text.OK || err != nil {
				return path, inKey, flaw, err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if path, inKey, flaw, err = findNotText(dec, at+"["+strconv.Itoa(i)+"]"); flaw != text.OK || err != nil {
				return path, inKey, flaw, err
			}
		}
	default:
		if s, ok := tok.(string); ok {
			if f := text.Check(s); f != text.OK {
				return cmp.Or(at, "body"), false, f, nil
			}
		}
		return "", false, text.OK, nil
	}
	_, err = dec.Token() // the closing '}' or ']'
	return "", false, text.OK, err
}

// join is the path of the field key of the object at at.
func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}
