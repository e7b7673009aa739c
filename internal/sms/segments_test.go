package sms_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/sms"
)

func TestSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	u := func(n int) string { return strings.Repeat("ж", n) } // Cyrillic: UCS-2, one unit each
	emoji := "😀"                                              // outside the BMP: two UTF-16 units
	tests := []struct {
		name  string
		body  string
		enc   sms.Encoding
		units int
		parts int
		non   []string
	}{
		{"an empty body takes no segment", "", sms.GSM7, 0, 0, nil},
		{"one letter", "a", sms.GSM7, 1, 1, nil},
		{"plain text", "Hello, world!", sms.GSM7, 13, 1, nil},
		{"159 GSM-7 characters", a(159), sms.GSM7, 159, 1, nil},
		{"160 GSM-7 characters fit one segment", a(160), sms.GSM7, 160, 1, nil},
		{"161 GSM-7 characters take two", a(161), sms.GSM7, 161, 2, nil},
		{"306 GSM-7 characters are exactly two parts of 153", a(306), sms.GSM7, 306, 2, nil},
		{"307 GSM-7 characters take three", a(307), sms.GSM7, 307, 3, nil},
		{"459 GSM-7 characters are exactly three parts", a(459), sms.GSM7, 459, 3, nil},
		{"460 GSM-7 characters take four", a(460), sms.GSM7, 460, 4, nil},
		{"1530 GSM-7 characters are ten parts", a(1530), sms.GSM7, 1530, 10, nil},
		{"1531 GSM-7 characters are eleven parts", a(1531), sms.GSM7, 1531, 11, nil},
		{"GSM-7 accents are in the basic table", "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà¿¡§", sms.GSM7, 26, 1, nil},
		{"Greek capitals of the basic table", "ΔΦΓΛΩΠΨΣΘΞ", sms.GSM7, 10, 1, nil},
		{"currency signs of the basic table", "£$¥¤", sms.GSM7, 4, 1, nil},
		{"the euro sign is an extension character worth two septets", "€", sms.GSM7, 2, 1, nil},
		{"every extension character counts two", "^{}\\[~]|€", sms.GSM7, 18, 1, nil},
		{"form feed is an extension character", "\f", sms.GSM7, 2, 1, nil},
		{"newline and carriage return are basic", "a\r\nb", sms.GSM7, 4, 1, nil},
		{"80 euro signs fill one segment", strings.Repeat("€", 80), sms.GSM7, 160, 1, nil},
		{"81 euro signs take two", strings.Repeat("€", 81), sms.GSM7, 162, 2, nil},
		{"159 letters and a brace overflow one segment", a(159) + "{", sms.GSM7, 161, 2, nil},
		{"158 letters and a brace fit", a(158) + "{", sms.GSM7, 160, 1, nil},
		{"an escape pair is not cut across a part boundary", a(152) + "[" + a(10), sms.GSM7, 164, 2, nil},
		{"an escape pair that would straddle 153 moves whole", a(152) + "[" + a(152), sms.GSM7, 306, 3, nil},
		{"lowercase ç is not GSM-7", "ç", sms.UCS2, 1, 1, []string{"ç"}},
		{"a curly apostrophe forces UCS-2", "It’s here", sms.UCS2, 9, 1, []string{"’"}},
		{"one emoji is two UTF-16 units", emoji, sms.UCS2, 2, 1, []string{emoji}},
		{"70 UCS-2 characters fit one segment", u(70), sms.UCS2, 70, 1, []string{"ж"}},
		{"71 UCS-2 characters take two", u(71), sms.UCS2, 71, 2, []string{"ж"}},
		{"134 UCS-2 characters are exactly two parts of 67", u(134), sms.UCS2, 134, 2, []string{"ж"}},
		{"135 UCS-2 characters take three", u(135), sms.UCS2, 135, 3, []string{"ж"}},
		{"201 UCS-2 characters are three parts", u(201), sms.UCS2, 201, 3, []string{"ж"}},
		{"68 letters and an emoji fill one segment", a(68) + emoji, sms.UCS2, 70, 1, []string{emoji}},
		{"69 letters and an emoji overflow", a(69) + emoji, sms.UCS2, 71, 2, []string{emoji}},
		{"35 emoji fill one segment", strings.Repeat(emoji, 35), sms.UCS2, 70, 1, []string{emoji}},
		{"36 emoji take two", strings.Repeat(emoji, 36), sms.UCS2, 72, 2, []string{emoji}},
		{"a surrogate pair is not cut at 67", a(66) + emoji + a(66), sms.UCS2, 134, 3, []string{emoji}},
		{"one non-GSM character makes a long text UCS-2", a(100) + "ç", sms.UCS2, 101, 2, []string{"ç"}},
		{"extension characters count one unit in UCS-2", "€ж", sms.UCS2, 2, 1, []string{"ж"}},
		{"the culprits are listed once each, in order", "ж😀ж’", sms.UCS2, 5, 1, []string{"ж", emoji, "’"}},
		{"a flag is two surrogate pairs", "🇺🇸", sms.UCS2, 4, 1, []string{"🇺", "🇸"}},
		{"Chinese text", "你好", sms.UCS2, 2, 1, []string{"你", "好"}},
		{"a tab is not GSM-7", "a\tb", sms.UCS2, 3, 1, []string{"\t"}},
		{"the backtick is not GSM-7", "`", sms.UCS2, 1, 1, []string{"`"}},
		{"670 UCS-2 characters are ten parts", u(670), sms.UCS2, 670, 10, []string{"ж"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sms.Segments(tt.body)
			if got.Encoding != tt.enc || got.Units != tt.units || got.Segments != tt.parts || !slices.Equal(got.NonGSM, tt.non) {
				t.Errorf("Segments(%.20q) = %s units=%d parts=%d non=%q, want %s units=%d parts=%d non=%q",
					tt.body, got.Encoding, got.Units, got.Segments, got.NonGSM, tt.enc, tt.units, tt.parts, tt.non)
			}
		})
	}
}
