package provider

import (
	"encoding/json"
	"testing"
)

// plainString, where it answers, answers what json.Unmarshal answers.
func FuzzPlainString(f *testing.F) {
	for _, seed := range []string{`"plain"`, `""`, `"with \"quote\""`, `"tab\there"`, `"caf\u00e9"`, `"café"`,
		"\"raw\ttab\"", "\"bad \xff utf8\"", `"emoji 😀"`, `"\ud83d\ude00"`, `"unterminated`, `123`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("plainString(%q) = %q, but json.Unmarshal refuses it: %v", raw, got, err)
		}
		if got != want {
			t.Fatalf("plainString(%q) = %q, json.Unmarshal = %q", raw, got, want)
		}
	})
}

func TestFieldsString(t *testing.T) {
	f, err := DecodeFields([]byte(`{"a":"plain","b":"esc\"aped","c":"caf\u00e9","d":"bad \u0000 nul","e":null,"f":12}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, want string
		ok, err    bool
	}{
		{"a", "plain", true, false},
		{"b", `esc"aped`, true, false},
		{"c", "café", true, false},
		{"d", "", false, true},
		{"e", "", false, false},
		{"missing", "", false, false},
		{"f", "", false, true},
	} {
		got, ok, err := f.String(tt.name)
		if got != tt.want || ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("String(%q) = %q, %v, %v; want %q, %v, error %v", tt.name, got, ok, err, tt.want, tt.ok, tt.err)
		}
	}
}

func TestNotTextSaysWhy(t *testing.T) {
	for s, want := range map[string]string{"": "", "café": "", "a\x00b": "contains a NUL byte", "a\xffb": "contains bytes that are not UTF-8"} {
		if got := NotText(s); got != want {
			t.Errorf("NotText(%q) = %q, want %q", s, got, want)
		}
	}
}
