package text_test

import (
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/text"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want text.Flaw
	}{
		{"nothing is text", "", text.OK},
		{"letters of every script are text", "héllo 世界 👋", text.OK},
		{"U+FFFD itself is text", "\uFFFD", text.OK},
		{"a NUL is not", "a\x00b", text.NUL},
		{"a byte that is never UTF-8 is not", "a\xffb", text.NotUTF8},
		{"a lead byte without its continuation is not", "\xc3(", text.NotUTF8},
		{"a surrogate half written in UTF-8 is not", "\xed\xa0\x80", text.NotUTF8},
		{"an overlong encoding is not", "\xc0\xaf", text.NotUTF8},
		{"a string with both is reported for its NUL", "\xff\x00", text.NUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text.Check(tt.s); got != tt.want || text.Valid(tt.s) != (tt.want == text.OK) {
				t.Errorf("Check(%q) = %v (valid %t), want %v", tt.s, got, text.Valid(tt.s), tt.want)
			}
		})
	}
}

func TestFlawNamesWhatAFieldHolds(t *testing.T) {
	for f, want := range map[text.Flaw]string{text.NUL: "a NUL character (U+0000)", text.NotUTF8: "bytes that are not UTF-8", text.OK: "text"} {
		if f.String() != want {
			t.Errorf("%d.String() = %q, want %q", f, f.String(), want)
		}
	}
}

func TestField(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string][]string
		want   string
		flaw   text.Flaw
	}{
		{"no fields have no bad one", nil, "", text.OK},
		{"fields of text have no bad one", map[string][]string{"q": {"a", "é"}, "tag": {""}}, "", text.OK},
		{"a field's second value counts", map[string][]string{"q": {"a", "b\x00"}}, "q", text.NUL},
		{"the first bad field by name is named", map[string][]string{"z": {"\x00"}, "b": {"\xff"}, "a": {"ok"}}, "b", text.NotUTF8},
		{"names are not judged", map[string][]string{"\xff": {"ok"}}, "", text.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if name, flaw := text.Field(tt.fields); name != tt.want || flaw != tt.flaw {
				t.Errorf("Field(%q) = %q, %v; want %q, %v", tt.fields, name, flaw, tt.want, tt.flaw)
			}
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name, s, want string
	}{
		{"text is kept as it is", "héllo 👋", "héllo 👋"},
		{"NUL characters are dropped", "a\x00b\x00", "ab"},
		{"a byte that is not UTF-8 becomes U+FFFD", "a\xffb", "a\uFFFDb"},
		{"a run of such bytes becomes one U+FFFD", "a\xed\xa0\x80b", "a\uFFFDb"},
		{"a NUL inside such a run is dropped too", "a\xff\x00\xfeb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text.Clean(tt.s); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"a short string is kept", "abc", 5, "abc"},
		{"a long one is cut at the bound", "abcdef", 4, "abcd"},
		{"a character is not split", "aé", 2, "a"},
		{"a four-byte character is dropped whole", "ab👋", 5, "ab"},
		{"a bound of nothing keeps nothing", "abc", 0, ""},
		{"a negative bound keeps nothing", "abc", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text.Cut(tt.s, tt.max); got != tt.want {
				t.Errorf("Cut(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
			}
		})
	}
}

// FuzzClean: whatever the bytes, Clean gives text, keeps text unchanged, and Cut keeps it text
// within its bound.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\xff", "\xc3(", "\xed\xa0\x80", "é😀\x00\xfe", strings.Repeat("é", 10)} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		c := text.Clean(s)
		if !text.Valid(c) || (text.Valid(s) && c != s) {
			t.Fatalf("Clean(%q) = %q", s, c)
		}
		if cut := text.Cut(c, n); !text.Valid(cut) || len(cut) > max(n, 0) || !strings.HasPrefix(c, cut) {
			t.Fatalf("Cut(%q, %d) = %q", c, n, cut)
		}
	})
}
