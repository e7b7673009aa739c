package provider

import (
	"bytes"
	"encoding/json"
	"reflect"
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

// flatFields, where it answers, answers what json.Unmarshal answers.
func checkFlatFields(t *testing.T, body []byte) {
	t.Helper()
	if len(body) == 0 || body[0] != '{' || !bytes.Equal(bytes.TrimSpace(body), body) {
		return // DecodeFields trims the body and hands only an object to flatFields
	}
	got, ok := flatFields(body)
	if !ok {
		return
	}
	var want Fields
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("flatFields(%q) = %v, but json.Unmarshal refuses it: %v", body, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("flatFields(%q) = %q, json.Unmarshal = %q", body, got, want)
	}
}

func TestFlatFieldsAgreeWithEncodingJSON(t *testing.T) {
	for _, s := range flatSeeds {
		checkFlatFields(t, []byte(s))
	}
	if f, ok := flatFields([]byte(flatSeeds[0])); !ok || string(f["from"]) != `"+4670123"` || string(f["n"]) != `12` {
		t.Fatalf("flatFields declined or misread the common webhook: %q %v", f, ok)
	}
}

var flatSeeds = []string{`{"from":"+4670123","message":"kbench mo 1","business":"kb","n":12}`, `{}`, `{ }`, `{"a":"b","a":"c"}`,
	`{"a":"\"q"}`, `{"a":01}`, `{"a":0}`, `{"a":-1}`, `{"a":1.5}`, `{"a":1e3}`, `{"a":{"b":1}}`, `{"a":null}`, `{"a":"b",}`,
	`{"a":"b"}}`, `{"a":"b"} {}`, `{1:"b"}`, "{\"a\":\"\xff\"}", "{\"\xff\":\"a\"}", `{"café":"x"}`, "{\"a\":\"b\tc\"}", `{"a" : "b" , "c":2}`}

func FuzzFlatFields(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFlatFields(t, body) })
}

func BenchmarkDecodeFields(b *testing.B) {
	body := []byte(`{"from":"+46700012345","message":"kbench mo 12345","business":"kb","receiver":"+15557654321","messageId":"kb-12345"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFields(body); err != nil {
			b.Fatal(err)
		}
	}
}
