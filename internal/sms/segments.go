package sms

import "unicode/utf16"

// Encoding is how a message travels: GSM-7 (the 3GPP 23.038 default alphabet, 7 bits a
// character) or UCS-2 (16 bits a UTF-16 unit).
type Encoding string

// Encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Per-segment capacities: one segment carries 140 octets; a multipart message gives 6 of them to
// the concatenation header (UDH), which leaves 153 septets or 67 UTF-16 units.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// Count is the result of counting a message body.
type Count struct {
	Encoding Encoding
	// Segments is how many SMS the body takes (0 for an empty body).
	Segments int
	// Units is the body's length in the encoding's units: septets (an extension character
	// counts 2) or UTF-16 units (a character outside the Basic Multilingual Plane counts 2).
	Units int
	// NonGSM lists, once each and in order of appearance, the characters that forced UCS-2.
	NonGSM []string
}

// gsmBasic is the default alphabet; gsmExtension the characters reached through the escape
// (each costs two septets).
var (
	gsmBasic = setOf("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
	gsmExtension = setOf("\f^{}\\[~]|€")
)

func setOf(s string) map[rune]bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// Segments counts the SMS a body takes. One character outside GSM-7 makes the whole body UCS-2.
// Multipart messages are packed the way handsets and SMSCs split them: an escape sequence or a
// surrogate pair is never cut in two, so it moves whole to the next segment.
func Segments(body string) Count {
	var nonGSM []string
	seen := map[rune]bool{}
	for _, r := range body {
		if !gsmBasic[r] && !gsmExtension[r] && !seen[r] {
			seen[r] = true
			nonGSM = append(nonGSM, string(r))
		}
	}
	if len(nonGSM) == 0 {
		return pack(body, GSM7, gsmSingle, gsmPart, func(r rune) int {
			if gsmExtension[r] {
				return 2
			}
			return 1
		})
	}
	c := pack(body, UCS2, ucs2Single, ucs2Part, utf16.RuneLen)
	c.NonGSM = nonGSM
	return c
}

// pack counts units with size and fills segments of part units when the whole does not fit
// in one of single units.
func pack(body string, enc Encoding, single, part int, size func(rune) int) Count {
	c := Count{Encoding: enc}
	for _, r := range body {
		c.Units += size(r)
	}
	switch {
	case c.Units == 0:
		return c
	case c.Units <= single:
		c.Segments = 1
		return c
	}
	c.Segments = 1
	used := 0
	for _, r := range body {
		n := size(r)
		if used+n > part {
			c.Segments++
			used = 0
		}
		used += n
	}
	return c
}
