package sms

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// gsmTable is the GSM 03.38 default alphabet in code order (0x1B, the escape to the extension
// table, is a placeholder); gsmExtTable maps the extension table's characters to the code that
// follows the escape.
var (
	gsmTable = []rune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
	gsmExtTable = map[rune]byte{'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F, '[': 0x3C, '~': 0x3D, ']': 0x3E,
		'|': 0x40, '€': 0x65}
	gsmCode   = map[rune]byte{}
	gsmExtOf  = map[byte]rune{}
	gsmEscape = byte(0x1B)
)

func init() {
	for i, r := range gsmTable {
		if i != int(gsmEscape) {
			gsmCode[r] = byte(i)
		}
	}
	for r, c := range gsmExtTable {
		gsmExtOf[c] = r
	}
}

// EncodeGSM7 writes text in the GSM 03.38 default alphabet, one septet an octet (unpacked, as
// SMPP carries it with data_coding 0): an extension character is the escape and its code. A
// character outside the alphabet is an error.
func EncodeGSM7(text string) ([]byte, error) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if c, ok := gsmCode[r]; ok {
			out = append(out, c)
		} else if c, ok := gsmExtTable[r]; ok {
			out = append(out, gsmEscape, c)
		} else {
			return nil, fmt.Errorf("sms: %q is not in the GSM-7 alphabet", r)
		}
	}
	return out, nil
}

// DecodeGSM7 reads unpacked GSM 03.38 septets. An escape before a code the extension table
// lacks reads as that code's basic character (3GPP 23.038's fallback); septets over 0x7F are
// read without their high bit.
func DecodeGSM7(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i] & 0x7F
		if c == gsmEscape && i+1 < len(b) {
			i++
			n := b[i] & 0x7F
			if r, ok := gsmExtOf[n]; ok {
				s.WriteRune(r)
			} else if n != gsmEscape {
				s.WriteRune(gsmTable[n])
			}
			continue
		}
		if c == gsmEscape {
			continue // a trailing escape carries nothing
		}
		s.WriteRune(gsmTable[c])
	}
	return s.String()
}

// EncodeUCS2 writes text as UTF-16 big-endian (SMPP's data_coding 8; a character outside the
// Basic Multilingual Plane takes a surrogate pair, as handsets read it).
func EncodeUCS2(text string) []byte {
	units := utf16.Encode([]rune(text))
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

// DecodeUCS2 reads UTF-16 big-endian; an odd last octet is dropped.
func DecodeUCS2(b []byte) string {
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(units))
}

// DecodeLatin1 reads ISO-8859-1 (SMPP's data_coding 3), and IA5/ASCII (data_coding 1), which is
// its first half.
func DecodeLatin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// Split cuts a body into the texts of its segments, as Segments counts them: one when it fits
// in a single SMS, else parts of 153 septets (GSM-7) or 67 UTF-16 units (UCS-2) that leave room
// for the concatenation header, an escape sequence or a surrogate pair never cut in two. The
// parts joined are the body.
func Split(body string) (Count, []string) {
	c := Segments(body)
	switch c.Segments {
	case 0:
		return c, nil
	case 1:
		return c, []string{body}
	}
	part, size := gsmPart, func(r rune) int {
		if gsmExtension[r] {
			return 2
		}
		return 1
	}
	if c.Encoding == UCS2 {
		part, size = ucs2Part, utf16.RuneLen
	}
	parts := make([]string, 0, c.Segments)
	start, used := 0, 0
	for i, r := range body {
		n := size(r)
		if used+n > part {
			parts = append(parts, body[start:i])
			start, used = i, 0
		}
		used += n
	}
	return c, append(parts, body[start:])
}
