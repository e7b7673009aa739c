// Package text is Ibiki's one rule for what text is: valid UTF-8 without NUL characters
// (U+0000). PostgreSQL refuses to store or even compare anything else in a text column (the
// whole statement fails: a 500), while SQLite keeps it as it is; so whatever enters from
// outside is judged here, by the transports (to name the field of the request) and by the
// domain operations that write it (so that every transport, present or to come, gets the same
// answer), or cleaned here when it is metadata rather than someone's text (a file's name, a
// provider's error message). It is pure: no I/O, no knowledge of fields or answers.
package text

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Flaw is what keeps a string from being text.
type Flaw uint8

// The flaws, the NUL first: a string with both is reported as having a NUL.
const (
	OK      Flaw = iota // the string is text
	NUL                 // it holds a NUL character (U+0000)
	NotUTF8             // it holds bytes that are not UTF-8
)

// String names the flaw as a message can say what a field holds: "a NUL character (U+0000)".
func (f Flaw) String() string {
	switch f {
	case NUL:
		return "a NUL character (U+0000)"
	case NotUTF8:
		return "bytes that are not UTF-8"
	}
	return "text"
}

// Check returns what keeps s from being text, or OK.
func Check(s string) Flaw {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return NUL
	case !utf8.ValidString(s):
		return NotUTF8
	}
	return OK
}

// Valid reports whether s is text: valid UTF-8 without NUL characters.
func Valid(s string) bool { return Check(s) == OK }

// Field is the first field of fields (a query or a form: names and their values), in name
// order so that the answer does not change from one try to the next, with a value that is not
// text; its flaw is OK when every value is text. Names are not judged: a transport reads only
// the names it knows.
func Field(fields map[string][]string) (name string, flaw Flaw) {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		for _, v := range fields[k] {
			if f := Check(v); f != OK {
				return k, f
			}
		}
	}
	return "", OK
}

// Clean makes s text: NUL characters dropped, and each run of bytes that are not UTF-8
// replaced by U+FFFD (so that a reader sees something was there). Text is returned as it is.
func Clean(s string) string {
	if Valid(s) {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// Cut returns at most the first maxBytes bytes of s, never splitting a UTF-8 character.
func Cut(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	n := max(maxBytes, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
