package sms_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/sms"
)

func TestGSM7Codes(t *testing.T) {
	cases := []struct {
		text string
		want []byte
	}{
		{"@£$¥", []byte{0x00, 0x01, 0x02, 0x03}},
		{"Hi!", []byte{0x48, 0x69, 0x21}},
		{"¤¡§¿à", []byte{0x24, 0x40, 0x5F, 0x60, 0x7F}},
		{"ÆæßÉ", []byte{0x1C, 0x1D, 0x1E, 0x1F}},
		{"€[]{}|~^\\\f", []byte{0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x40, 0x1B, 0x3D, 0x1B, 0x14, 0x1B, 0x2F, 0x1B, 0x0A}},
	}
	for _, c := range cases {
		got, err := sms.EncodeGSM7(c.text)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("EncodeGSM7(%q) = %x, %v; want %x", c.text, got, err, c.want)
		}
		if back := sms.DecodeGSM7(c.want); back != c.text {
			t.Errorf("DecodeGSM7(%x) = %q, want %q", c.want, back, c.text)
		}
	}
	if _, err := sms.EncodeGSM7("привет"); err == nil {
		t.Error("Cyrillic encoded as GSM-7")
	}
	// Every code decodes to something that encodes back to it (the escape aside).
	for c := range byte(0x80) {
		if c == 0x1B {
			continue
		}
		s := sms.DecodeGSM7([]byte{c})
		if b, err := sms.EncodeGSM7(s); err != nil || !bytes.Equal(b, []byte{c}) {
			t.Errorf("code %#x: %q encodes to %x, %v", c, s, b, err)
		}
	}
	if got := sms.DecodeGSM7([]byte{0x1B, 0x41, 0x1B}); got != "A" {
		t.Errorf("unknown extension and trailing escape: %q", got)
	}
}

func TestUCS2AndLatin1(t *testing.T) {
	text := "Жёлтый 😀"
	b := sms.EncodeUCS2(text)
	if len(b) != 2*(7+2) || !bytes.Equal(b[:2], []byte{0x04, 0x16}) || sms.DecodeUCS2(b) != text {
		t.Fatalf("UCS-2 %x -> %q", b, sms.DecodeUCS2(b))
	}
	if got := sms.DecodeLatin1([]byte{'c', 0xE9, 0xFC}); got != "céü" {
		t.Fatalf("Latin-1: %q", got)
	}
}

// The limits: 160 GSM-7 septets in one SMS, 153 a part; 70 UCS-2 units, 67 a part; an
// escape or a surrogate pair moves whole to the next part.
func TestSplitAtTheSpecsLimits(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	zh := func(n int) string { return strings.Repeat("ж", n) }
	cases := []struct {
		name string
		body string
		want []int // runes per part
	}{
		{"empty", "", nil},
		{"160 septets", a(160), []int{160}},
		{"161 septets", a(161), []int{153, 8}},
		{"306 septets", a(306), []int{153, 153}},
		{"307 septets", a(307), []int{153, 153, 1}},
		{"escape at the edge", a(152) + "€" + a(10), []int{152, 11}},
		{"escape fits in one", a(158) + "€", []int{159}},
		{"70 units", zh(70), []int{70}},
		{"71 units", zh(71), []int{67, 4}},
		{"134 units", zh(134), []int{67, 67}},
		{"surrogate pair at the edge", zh(66) + "😀" + zh(5), []int{66, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			count, parts := sms.Split(c.body)
			var got []int
			for _, p := range parts {
				got = append(got, utf8.RuneCountInString(p))
			}
			if !equal(got, c.want) || count.Segments != len(c.want) || strings.Join(parts, "") != c.body {
				t.Fatalf("parts %v (count %d), want %v", got, count.Segments, c.want)
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzSplit: the parts are the body, as many as Segments counts, each within its part's
// capacity in octets once encoded (153 septets or 134 UCS-2 octets, with the header's room).
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "hello", strings.Repeat("€", 90), strings.Repeat("ж😀", 50), strings.Repeat("a", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !utf8.ValidString(body) {
			return
		}
		count, parts := sms.Split(body)
		if len(parts) != count.Segments || strings.Join(parts, "") != body {
			t.Fatalf("%d parts for %d segments", len(parts), count.Segments)
		}
		for _, p := range parts {
			if count.Encoding == sms.GSM7 {
				b, err := sms.EncodeGSM7(p)
				if err != nil || (len(parts) > 1 && len(b) > 153) || len(b) > 160 {
					t.Fatalf("GSM-7 part of %d septets (%v)", len(b), err)
				}
			} else if b := sms.EncodeUCS2(p); (len(parts) > 1 && len(b) > 134) || len(b) > 140 {
				t.Fatalf("UCS-2 part of %d octets", len(b))
			}
		}
	})
}
