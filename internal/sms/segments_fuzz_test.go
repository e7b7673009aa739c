package sms_test

import (
	"testing"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/sms"
)

// Bodies come from clients: any text is counted, and the count is consistent with its units.
func FuzzSegments(f *testing.F) {
	for _, s := range []string{"", "hello", "€€€", "😀", "ç", "a\x00b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := sms.Segments(body)
		if body == "" {
			if c.Segments != 0 {
				t.Fatalf("empty body: %+v", c)
			}
			return
		}
		single, part := 160, 153
		if c.Encoding == sms.UCS2 {
			single, part = 70, 67
		}
		if c.Units < utf8.RuneCountInString(body) || (c.Units <= single) != (c.Segments == 1) {
			t.Fatalf("Segments(%q) = %+v", body, c)
		}
		// Parts hold `part` units; a pair never cut wastes at most one unit a part.
		if c.Segments > 1 && (c.Segments < (c.Units+part-1)/part || c.Segments > (c.Units+part-2)/(part-1)) {
			t.Fatalf("Segments(%q) = %+v: not between the bounds", body, c)
		}
		if (c.Encoding == sms.UCS2) != (len(c.NonGSM) > 0) {
			t.Fatalf("encoding %s with culprits %q", c.Encoding, c.NonGSM)
		}
	})
}
